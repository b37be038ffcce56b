// The hash-chained audit log on PostgreSQL (tables and guard triggers from migration 3). Every append
// locks the one head row (SELECT … FOR UPDATE), writes the next record and moves the head in one
// transaction: appends from every instance queue on that row lock, so seq and prev-hash never fork.

import type { AuditLog } from '../../audit/auditLog';
import { checkEntry, hashRecord, verifyChain, type AuditEntry, type AuditRecord, type VerifyResult } from '../../audit/auditRecord';
import { WaybillError } from '../../errors';
import { COLUMNS, auditValues, clean, toRecord, type AuditRow } from '../auditRows';
import type { PgDatabase } from './pgDatabase';

const VERIFY_BATCH = 10_000;

export class PostgresAuditLog implements AuditLog {
  constructor(private readonly db: PgDatabase) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    checkEntry(entry);
    return this.db.tx(async (q) => {
      const head = await q.one<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE');
      if (!head) throw new WaybillError('internal', 'the audit head is missing');
      const seq = Number(head.seq) + 1;
      const record: AuditRecord = { ...clean(entry), seq, prevHash: head.hash, hash: hashRecord(seq, head.hash, entry) };
      await q.run(`INSERT INTO audit_log (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, auditValues(record));
      await q.run('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [seq, record.hash]);
      return record;
    });
  }

  async forWaybill(waybillNo: string): Promise<AuditRecord[]> {
    return (await this.db.rows<AuditRow>(`SELECT ${COLUMNS} FROM audit_log WHERE waybill_no = $1 ORDER BY seq`, [waybillNo])).map(toRecord);
  }

  async forJob(jobId: string): Promise<AuditRecord[]> {
    // Same expression as the index audit_log_job, so PostgreSQL can use it.
    const rows = await this.db.rows<AuditRow>(`SELECT ${COLUMNS} FROM audit_log WHERE detail IS NOT NULL AND ((detail::jsonb) ->> 'job') = $1 ORDER BY seq`, [jobId]);
    return rows.map(toRecord);
  }

  async verify(): Promise<VerifyResult> {
    // One snapshot (REPEATABLE READ): head and rows agree while other instances keep appending.
    return this.db.tx(async (q): Promise<VerifyResult> => {
      const head = await q.one<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1');
      if (!head) return { ok: false, count: 0, seq: 0, problem: 'edited', message: 'the audit head was deleted' };
      const records: AuditRecord[] = [];
      // Read in slices by seq (same order as one ORDER BY seq), so no single result set holds the log.
      let after = '-9223372036854775808'; // below every bigint seq, tampered ones included
      for (;;) {
        const rows: AuditRow[] = await q.rows<AuditRow>(`SELECT ${COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT ${VERIFY_BATCH}`, [after]);
        for (const row of rows) records.push(toRecord(row));
        if (rows.length < VERIFY_BATCH) break;
        after = String(rows.at(-1)!.seq);
      }
      return verifyChain(records, { seq: Number(head.seq), hash: head.hash });
    }, 'repeatable read');
  }
}
