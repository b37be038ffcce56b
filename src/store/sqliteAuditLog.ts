// The audit log in the service's SQLite file (tables from migration 3). Each append reads the head,
// writes the next record and moves the head in one IMMEDIATE transaction, so the chain stays linear
// when several processes write to one file.

import type Database from 'better-sqlite3';
import type { AuditLog } from '../audit/auditLog';
import { checkEntry, hashRecord, verifyChain, type AuditAction, type AuditEntry, type AuditRecord, type VerifyResult } from '../audit/auditRecord';
import { WaybillError } from '../errors';

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  waybill_no: string | null;
  purpose: string | null;
  outcome: string;
  request_id: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

const COLUMNS = 'seq, at, actor, action, waybill_no, purpose, outcome, request_id, detail, prev_hash, hash';

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
      insert.run(
        seq,
        record.at,
        record.actor,
        record.action,
        record.waybillNo ?? null,
        record.purpose ?? null,
        record.outcome,
        record.requestId ?? null,
        record.detail === undefined ? null : JSON.stringify(record.detail),
        record.prevHash,
        record.hash,
      );
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

/** The entry's own fields only, absent ones left out, so a returned record equals one read back. */
function clean(entry: AuditEntry): AuditEntry {
  return {
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    ...(entry.waybillNo !== undefined ? { waybillNo: entry.waybillNo } : {}),
    ...(entry.purpose !== undefined ? { purpose: entry.purpose } : {}),
    outcome: entry.outcome,
    ...(entry.requestId !== undefined ? { requestId: entry.requestId } : {}),
    ...(entry.detail !== undefined ? { detail: { ...entry.detail } } : {}),
  };
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action as AuditAction,
    ...(row.waybill_no !== null ? { waybillNo: row.waybill_no } : {}),
    ...(row.purpose !== null ? { purpose: row.purpose } : {}),
    outcome: row.outcome,
    ...(row.request_id !== null ? { requestId: row.request_id } : {}),
    ...(row.detail !== null ? { detail: parseDetail(row.detail) } : {}),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

// A detail that no longer parses was tampered with: keep the raw text, so the hash check reports it
// as edited instead of verification crashing.
function parseDetail(text: string): Record<string, string | number | boolean> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, string | number | boolean>;
  } catch {
    // fall through
  }
  return { unreadable: text };
}

function* mapIterable<A, B>(items: Iterable<A>, f: (a: A) => B): Generator<B> {
  for (const item of items) yield f(item);
}
