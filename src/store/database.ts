// The one database interface every repository is written against: Kysely over the single SQLite
// connection (better-sqlite3) or over the PostgreSQL pool. Kysely's SQLite driver hands its one
// connection to one query or transaction at a time, so two requests never interleave inside a
// transaction. `dialect` is for the few hand-tuned statements whose SQL truly differs.

import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
}

export function sqliteDatabase(connection: BetterSqlite3.Database): Database {
  return { db: new Kysely<Schema>({ dialect: new SqliteDialect({ database: connection }) }), dialect: 'sqlite' };
}

export function postgresDatabase(pool: pg.Pool): Database {
  return { db: new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}

/** Whether a statement failed on a unique value (a primary key or UNIQUE constraint), on either backend. */
export function isUniqueViolation(e: unknown): boolean {
  if (e instanceof pg.DatabaseError) return e.code === '23505';
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
