// The audit log in the service's SQLite file (tables from migration 3). Each append reads the head,
// writes the next record and moves the head in one IMMEDIATE transaction, so the chain stays linear
// when several processes write to one file.

import type Database from 'better-sqlite3';
import type { AuditLog } from '../audit/auditLog';
import { checkEntry, hashRecord, verifyChain, type AuditEntry, type AuditRecord, type VerifyResult } from '../audit/auditRecord';
import { COLUMNS, auditValues, clean, toRecord, type AuditRow } from './auditRows';
import { WaybillError } from '../errors';

export class SqliteAuditLog implements AuditLog {
  private readonly appendTx: (entry: AuditEntry) => AuditRecord;

  /** `db` must already carry migration 3; set a busy_timeout on it when other processes share the file. */
  constructor(private readonly db: Database.Database) {
    const readHead = db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1');
    const insert = db.prepare(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const moveHead = db.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1');
    const tx = db.transaction((entry: AuditEntry): AuditRecord => {
      const head = readHead.get() as { seq: number; hash: string } | undefined;
      if (!head) throw new WaybillError('internal', 'the audit head is missing');
      const seq = head.seq + 1;
      const record: AuditRecord = { ...clean(entry), seq, prevHash: head.hash, hash: hashRecord(seq, head.hash, entry) };
      insert.run(...auditValues(record));
      moveHead.run(seq, record.hash);
      return record;
    });
    // IMMEDIATE takes the write lock before the head is read; a deferred transaction would let two
    // processes read the same head, and the second would fail on commit instead of waiting its turn.
    this.appendTx = (entry) => tx.immediate(entry);
  }

  async append(entry: AuditEntry): Promise<AuditRecord> {
    checkEntry(entry);
    return this.appendTx(entry);
  }

  async forWaybill(waybillNo: string): Promise<AuditRecord[]> {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM audit_log WHERE waybill_no = ? ORDER BY seq`).all(waybillNo) as AuditRow[];
    return rows.map(toRecord);
  }

  async forJob(jobId: string): Promise<AuditRecord[]> {
    // Same expression as the index audit_log_job, so SQLite can use it.
    const rows = this.db
      .prepare(`SELECT ${COLUMNS} FROM audit_log WHERE detail IS NOT NULL AND json_extract(detail, '$.job') = ? ORDER BY seq`)
      .all(jobId) as AuditRow[];
    return rows.map(toRecord);
  }

  async verify(): Promise<VerifyResult> {
    // One read transaction: head and rows come from the same snapshot while others keep appending.
    return this.db.transaction((): VerifyResult => {
      const head = this.db.prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
      if (!head) return { ok: false, count: 0, seq: 0, problem: 'edited', message: 'the audit head was deleted' };
      const rows = this.db.prepare(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq`).iterate() as IterableIterator<AuditRow>;
      return verifyChain(mapIterable(rows, toRecord), head);
    })();
  }
}

function* mapIterable<A, B>(items: Iterable<A>, f: (a: A) => B): Generator<B> {
  for (const item of items) yield f(item);
}
