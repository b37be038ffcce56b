// Audit rows and the head on either database (tables and guard triggers from migration 3). An append
// is one write transaction that holds the head from its first statement, so appends from every process
// and instance queue there and seq and prev-hash never fork.

import { sql, type Kysely } from 'kysely';
import type { AuditChain, AuditRepository, CheckpointHead, KeptEntry } from '../audit/auditLog';
import type { AuditAction, AuditHead, AuditRecord } from '../audit/auditRecord';
import { step, type Database } from './database';
import { prepared } from './prepared';
import type { Schema } from './schema';

export type AuditRow = Schema['audit_log'];

/** Every column of audit_log, in table order. */
export const AUDIT_COLUMNS = ['seq', 'at', 'actor', 'action', 'waybill_no', 'purpose', 'outcome', 'request_id', 'detail', 'prev_hash', 'hash', 'key_id'] as const satisfies readonly (keyof AuditRow)[];

const VERIFY_BATCH = 10_000;

const readHead = prepared((db, _: Record<string, never>, dialect) =>
  db
    .selectFrom('audit_head')
    .select(['seq', 'hash', 'key_id'])
    .where('id', '=', 1)
    .$if(dialect === 'postgres', (qb) => qb.forUpdate()),
);
const insertRecord = prepared((db, r: AuditRow) =>
  db.insertInto('audit_log').values({
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    waybill_no: r.waybill_no,
    purpose: r.purpose,
    outcome: r.outcome,
    request_id: r.request_id,
    detail: r.detail,
    prev_hash: r.prev_hash,
    hash: r.hash,
    key_id: r.key_id,
  }),
);
const moveHead = prepared((db, head: { seq: AuditRow['seq']; hash: string; key_id: string | null }) =>
  db.updateTable('audit_head').set({ seq: head.seq, hash: head.hash, key_id: head.key_id }).where('id', '=', 1),
);

/**
 * The steps of an append, inside any write transaction (an append's own, a print's save): reads and locks
 * the head, stores the records `next` makes from it and moves the head to the last. Another transaction's
 * append waits from the head's read until this one commits, so a save holds the head only at its end.
 */
export function* appendSteps(next: AuditChain) {
  const { rows } = yield* step(readHead, {});
  const records = next(rows[0] && toHead(rows[0]));
  // The head moves after each record: the guard trigger holds every insert to the head before it.
  for (const record of records) {
    yield* step(insertRecord, toRow(record));
    yield* step(moveHead, { seq: record.seq, hash: record.hash, key_id: record.keyId ?? null });
  }
  return records.at(-1);
}

/** Steps of a save that keep a print's audit entries (as AuditLog.keep sealed them) until appendPending takes them (chunked under the bound-value limits). */
export function* keepPendingSteps(db: Kysely<Schema>, jobId: string, kept: readonly string[]) {
  for (let i = 0; i < kept.length; i += 500)
    yield* step(db.insertInto('audit_pending').values(kept.slice(i, i + 500).map((entry, k) => ({ job_id: jobId, idx: i + k, entry }))));
}

export class SqlAuditRepository implements AuditRepository {
  constructor(private readonly d: Database) {}

  appendPending(limit: number, chainOf: (kept: KeptEntry[]) => AuditChain, jobId?: string): Promise<number> {
    const { db } = this.d;
    return this.d.transaction(function* () {
      // Taken by deleting them: of two takers at once (the print itself, a sweep) the second waits for the
      // first's rows and finds them gone, so each entry is appended once.
      let oldest = db.selectFrom('audit_pending').select(['job_id', 'idx']).orderBy('job_id').orderBy('idx').limit(limit);
      if (jobId !== undefined) oldest = oldest.where('job_id', '=', jobId);
      const { rows } = yield* step(
        db
          .deleteFrom('audit_pending')
          .where((eb) => eb(eb.refTuple('job_id', 'idx'), 'in', oldest.$asTuple('job_id', 'idx')))
          .returning(['job_id', 'idx', 'entry']),
      );
      if (!rows.length) return 0;
      rows.sort((a, b) => (a.job_id < b.job_id ? -1 : a.job_id > b.job_id ? 1 : a.idx - b.idx));
      yield* appendSteps(chainOf(rows.map((r) => ({ jobId: r.job_id, idx: Number(r.idx), text: r.entry }))));
      return rows.length;
    });
  }

  append(next: AuditChain): Promise<AuditRecord | undefined> {
    // One write transaction from its first statement: SQLite's write lock, PostgreSQL's row lock on the
    // head, so every other appender queues before reading the head.
    return this.d.transaction(() => appendSteps(next));
  }

  checkpointHead(after?: CheckpointHead): Promise<CheckpointHead | undefined> {
    const tx = this.d.dialect === 'postgres' ? this.d.db.transaction().setIsolationLevel('repeatable read') : this.d.db.transaction();
    return tx.execute(async (trx) => {
      const row = await trx.selectFrom('audit_head').select(['seq', 'hash', 'key_id']).where('id', '=', 1).executeTakeFirst();
      if (!row) return undefined;
      const head = toHead(row);
      // Counting the whole log took 70–100 ms at 2 million records on SQLite, every checkpoint; from an
      // earlier head only its newer records are read (a range of the primary key). A head that went back
      // (a restored older file) is counted whole.
      const from = after && after.seq <= head.seq ? after : undefined;
      let counted = trx.selectFrom('audit_log').select((eb) => eb.fn.countAll<number | string>().as('n'));
      if (from) counted = counted.where('seq', '>', from.seq);
      const { n } = await counted.executeTakeFirstOrThrow();
      return { ...head, count: (from?.count ?? 0) + Number(n) };
    });
  }

  async forWaybill(waybillNo: string): Promise<AuditRecord[]> {
    const rows = await this.d.db.selectFrom('audit_log').select(AUDIT_COLUMNS).where('waybill_no', '=', waybillNo).orderBy('seq').execute();
    return rows.map(toRecord);
  }

  async forJob(jobId: string): Promise<AuditRecord[]> {
    // Same expression and condition as the index audit_log_job, so the database can use it.
    const job = this.d.dialect === 'sqlite' ? sql<string>`json_extract(detail, '$.job')` : sql<string>`((detail::jsonb) ->> 'job')`;
    const rows = await this.d.db.selectFrom('audit_log').select(AUDIT_COLUMNS).where('detail', 'is not', null).where(job, '=', jobId).orderBy('seq').execute();
    return rows.map(toRecord);
  }

  async stationSuspensions(): Promise<AuditRecord[]> {
    // Read once in a while (`waybill audit rows`), so no index: suspensions are few among the records.
    const station = this.d.dialect === 'sqlite' ? sql<string>`json_extract(detail, '$.station')` : sql<string>`((detail::jsonb) ->> 'station')`;
    const rows = await this.d.db.selectFrom('audit_log').select(AUDIT_COLUMNS).where('action', 'in', ['suspend', 'reinstate']).where('detail', 'is not', null).where(station, 'is not', null).orderBy('seq').execute();
    return rows.map(toRecord);
  }

  readChain<T>(read: (head: AuditHead | undefined, records: AsyncIterable<AuditRecord>) => Promise<T>): Promise<T> {
    // One snapshot (REPEATABLE READ on PostgreSQL; any read transaction on SQLite's WAL): head and rows
    // agree while others keep appending.
    const tx = this.d.dialect === 'postgres' ? this.d.db.transaction().setIsolationLevel('repeatable read') : this.d.db.transaction();
    return tx.execute(async (trx) => {
      const head = await trx.selectFrom('audit_head').select(['seq', 'hash', 'key_id']).where('id', '=', 1).executeTakeFirst();
      return read(head && toHead(head), recordsInOrder(trx));
    });
  }

}

/** Every record by seq, read in slices keyed on seq (the order one ORDER BY seq gives), so no single result set holds the log. */
async function* recordsInOrder(trx: Kysely<Schema>): AsyncGenerator<AuditRecord> {
  let after: AuditRow['seq'] | undefined;
  for (;;) {
    const rows = await trx
      .selectFrom('audit_log')
      .select(AUDIT_COLUMNS)
      .$if(after !== undefined, (qb) => qb.where('seq', '>', after!))
      .orderBy('seq')
      .limit(VERIFY_BATCH)
      .execute();
    for (const row of rows) yield toRecord(row);
    if (rows.length < VERIFY_BATCH) return;
    after = rows.at(-1)!.seq; // as stored: PostgreSQL's bigint text keeps every digit of a tampered seq
  }
}

/** PostgreSQL returns bigint as text. */
const toHead = (row: { seq: number | string; hash: string; key_id: string | null }): AuditHead => ({
  seq: Number(row.seq),
  hash: row.hash,
  ...(row.key_id !== null ? { keyId: row.key_id } : {}),
});

function toRow(r: AuditRecord): AuditRow {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    waybill_no: r.waybillNo ?? null,
    purpose: r.purpose ?? null,
    outcome: r.outcome,
    request_id: r.requestId ?? null,
    detail: r.detail === undefined ? null : JSON.stringify(r.detail),
    prev_hash: r.prevHash,
    hash: r.hash,
    key_id: r.keyId ?? null,
  };
}

export function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: Number(row.seq),
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
    ...(row.key_id !== null ? { keyId: row.key_id } : {}),
  };
}

// A detail that no longer parses, or is not as the log wrote it, was tampered with: keep the raw text, so
// the hash check reports it as edited instead of verification crashing. A detail with a key twice reads
// as its last value here but as its first in SQLite's json_extract (forJob), so a hash check of the
// parsed value alone would let a second `job` hide a record from `audit trace`.
function parseDetail(text: string): Record<string, string | number | boolean> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value) && JSON.stringify(value) === text) return value as Record<string, string | number | boolean>;
  } catch {
    // fall through
  }
  return { unreadable: text };
}
