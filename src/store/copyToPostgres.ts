// Moving an embedded SQLite store into PostgreSQL, for users who outgrow one machine: every table row
// for row (sealed data stays sealed under the same master keys), the audit chain record by record
// through the target's own guard triggers, all in one PostgreSQL transaction. The target must be
// empty, so nothing is ever merged or overwritten; the source is only read, from one snapshot.

import type Database from 'better-sqlite3';
import { HEAD_DELETED, verifyChain, type AuditKeyRing, type AuditRecord, type VerifyResult } from '../audit/auditRecord';
import { WaybillError } from '../errors';
import { AUDIT_COLUMNS, toRecord, type AuditRow } from './auditRepository';
import { CompiledQuery, type Transaction } from 'kysely';
import type { Database as Target } from './database';
import type { Schema } from './schema';

export interface CopyReport {
  tables: { name: string; rows: number }[];
  auditRecords: number;
}

/** Not copied row by row: the migration ledger (the target has its own), transient request budgets, and the audit chain (below). */
const NOT_TABLE_ROWS = new Set(['schema_migrations', 'api_rate_buckets', 'audit_log', 'audit_head']);
// Filled by a migration, so a new database holds it already: the copy replaces the target's rows with the
// source's (whether the credential rows and the waybills still owe their binding).
const MIGRATION_ROWS = new Set(['credential_binding_due', 'waybill_binding_due']);
const PAGE = 500;

export async function copySqliteToPostgres(
  source: Database.Database,
  target: Target,
  progress: (line: string) => void = () => {},
  auditKeys?: AuditKeyRing,
): Promise<CopyReport> {
  source.exec('BEGIN'); // one read snapshot (WAL) for the whole copy, even if a process still writes
  try {
    const verified = verifySourceChain(source, auditKeys);
    if (!verified.ok)
      throw new WaybillError('conflict', `the SQLite audit log is broken at record ${verified.seq} (${verified.problem}); investigate with "waybill audit verify" before copying`);
    const tables = inDependencyOrder(source).filter((t) => !NOT_TABLE_ROWS.has(t));
    return await target.db.transaction().execute(async (trx) => {
      const q = statements(trx);
      // Locking the audit head holds back every audited write (another copy, a service started too early) until we commit.
      const [head] = await q<{ seq: string }>('SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE');
      const holding = Number(head!.seq) > 0 ? 'audit_log' : await firstNonEmpty(q, tables.filter((t) => !MIGRATION_ROWS.has(t)));
      if (holding) throw new WaybillError('conflict', `the PostgreSQL database already holds data (table ${holding}); copy into an empty database only`);
      const report: CopyReport = { tables: [], auditRecords: 0 };
      for (const table of tables) {
        if (MIGRATION_ROWS.has(table)) await q(`DELETE FROM "${table}"`);
        const rows = await copyTable(source, q, table);
        report.tables.push({ name: table, rows });
        progress(`${table}: ${rows} rows`);
      }
      report.auditRecords = await copyAuditChain(source, q);
      progress(`audit_log: ${report.auditRecords} records, chain kept`);
      return report;
    });
  } finally {
    source.exec('COMMIT');
  }
}

/** PostgreSQL statements with $n parameters in the copy's transaction: table names vary, so no query builder. */
type Query = <R = unknown>(text: string, params?: readonly unknown[]) => Promise<R[]>;
function statements(trx: Transaction<Schema>): Query {
  return async <R>(text: string, params: readonly unknown[] = []) => (await trx.executeQuery(CompiledQuery.raw(text, [...params]))).rows as R[];
}

/** The source's chain, checked inside the copy's snapshot (the audit repository would open a transaction of its own). */
function verifySourceChain(source: Database.Database, keys: AuditKeyRing | undefined): VerifyResult {
  const row = source.prepare('SELECT seq, hash, key_id FROM audit_head WHERE id = 1').get() as { seq: number; hash: string; key_id: string | null } | undefined;
  if (!row) return HEAD_DELETED;
  const head = { seq: row.seq, hash: row.hash, ...(row.key_id !== null ? { keyId: row.key_id } : {}) };
  const rows = source.prepare(`SELECT ${AUDIT_COLUMNS.join(', ')} FROM audit_log ORDER BY seq`).iterate() as IterableIterator<AuditRow>;
  function* records(): Generator<AuditRecord> {
    for (const row of rows) yield toRecord(row);
  }
  return verifyChain(records(), head, keys ? { keys } : {});
}

/** Tables ordered so that every table comes after the tables its foreign keys point to. */
function inDependencyOrder(source: Database.Database): string[] {
  const names = (source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  const ordered: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (ordered.includes(name) || path.includes(name)) return;
    for (const fk of source.prepare(`PRAGMA foreign_key_list("${name}")`).all() as { table: string }[]) if (fk.table !== name) visit(fk.table, [...path, name]);
    ordered.push(name);
  };
  for (const name of names) visit(name, []);
  return ordered;
}

async function firstNonEmpty(q: Query, tables: string[]): Promise<string | undefined> {
  for (const table of tables) if ((await q(`SELECT 1 FROM "${table}" LIMIT 1`)).length) return table;
  return undefined;
}

async function copyTable(source: Database.Database, q: Query, table: string): Promise<number> {
  const target = await q<{ column_name: string; is_identity: string }>(
    'SELECT column_name, is_identity FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
    [table],
  );
  const columns = (source.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
  const missing = columns.filter((c) => !target.some((t) => t.column_name === c));
  if (missing.length) throw new WaybillError('internal', `table ${table}: PostgreSQL has no column ${missing.join(', ')}; are both stores on the same version?`);
  const identities = target.filter((t) => t.is_identity === 'YES').map((t) => t.column_name);

  const page = source.prepare(`SELECT rowid AS copy_rowid, ${columns.map((c) => `"${c}"`).join(', ')} FROM "${table}" WHERE rowid > ? ORDER BY rowid LIMIT ${PAGE}`);
  let copied = 0;
  for (let after = Number.MIN_SAFE_INTEGER; ; ) {
    const rows = page.all(after) as Record<string, unknown>[];
    if (!rows.length) break;
    after = rows[rows.length - 1]!.copy_rowid as number;
    // SQLite's 0/1 flags go in as they are: PostgreSQL reads '0' and '1' as booleans.
    const values = rows.flatMap((row) => columns.map((c) => row[c]));
    const tuples = rows.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    await q(
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) ${identities.length ? 'OVERRIDING SYSTEM VALUE ' : ''}VALUES ${tuples.join(', ')}`,
      values,
    );
    copied += rows.length;
  }
  // Generated ids continue after the copied ones.
  for (const column of identities)
    await q(`SELECT setval(pg_get_serial_sequence('"${table}"', '${column}'), max_id) FROM (SELECT max("${column}") AS max_id FROM "${table}") m WHERE max_id IS NOT NULL`);
  const [counted] = await q<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
  if (Number(counted!.n) !== copied) throw new WaybillError('internal', `table ${table}: ${copied} rows read but ${counted!.n} in PostgreSQL`);
  return copied;
}

/** Record by record, moving the head each time: the target's triggers check every link as it lands. */
async function copyAuditChain(source: Database.Database, q: Query): Promise<number> {
  const columns = AUDIT_COLUMNS.join(', ');
  const page = source.prepare(`SELECT ${columns} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`);
  const placeholders = AUDIT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
  let copied = 0;
  for (;;) {
    const rows = page.all(copied) as AuditRow[];
    for (const r of rows) {
      await q(`INSERT INTO audit_log (${columns}) VALUES (${placeholders})`, AUDIT_COLUMNS.map((c) => r[c]));
      await q('UPDATE audit_head SET seq = $1, hash = $2, key_id = $3 WHERE id = 1', [r.seq, r.hash, r.key_id]);
    }
    copied += rows.length;
    if (rows.length < PAGE) return copied;
  }
}
