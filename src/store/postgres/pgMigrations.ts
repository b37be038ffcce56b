// Applies the migration list (src/store/migrations.ts) to PostgreSQL.
//
// All pending versions are applied in ONE transaction under a transaction-level advisory lock: when
// several instances start at once, the first migrates, the others wait on the lock, then see the
// versions recorded and apply nothing.

import type pg from 'pg';
import { MIGRATIONS, type Migration } from '../migrations';

/** Arbitrary, fixed: the advisory lock every instance takes to migrate (two int4 keys: "wayb", "migr"). */
const MIGRATION_LOCK: [number, number] = [0x77617962, 0x6d696772];

/** Applies the versions the database lacks, all in one transaction under the migration lock. */
export async function applyPgMigrations(pool: pg.Pool, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', MIGRATION_LOCK);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql('postgres'));
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
