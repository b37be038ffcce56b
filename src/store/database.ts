// The one database interface every repository is written against: Kysely over the single SQLite
// connection (better-sqlite3, statements prepared once) or over the PostgreSQL pool. On SQLite one
// query or transaction at a time has the connection (and the file, see below), so two requests never
// interleave inside a transaction. `dialect` is for the few hand-tuned statements whose SQL truly differs.

import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type SqliteDialectConfig } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema';
import { statementCache } from './statementCache';
import { applyPgMigrations } from './postgres/pgMigrations';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
}

export function sqliteDatabase(connection: BetterSqlite3.Database): Database {
  const database = { prepare: preparedOn(connection), close: () => connection.close() };
  return { db: new Kysely<Schema>({ dialect: new TurnTakingSqliteDialect({ database }, turnsOn(connection)) }), dialect: 'sqlite' };
}

/** One statement cache per connection, shared by every Kysely instance on it. */
const caches = new WeakMap<BetterSqlite3.Database, (sql: string) => BetterSqlite3.Statement>();
function preparedOn(connection: BetterSqlite3.Database): (sql: string) => BetterSqlite3.Statement {
  let prepare = caches.get(connection);
  if (!prepare) caches.set(connection, (prepare = statementCache(connection)));
  return prepare;
}

export function postgresDatabase(pool: pg.Pool): Database {
  return { db: new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}

/** Connects a pool and applies the migrations the database lacks (safe when several instances start at once). */
export async function openPostgres(url: string, poolSize = 10): Promise<Database & { close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server (restart, failover) emits 'error'; the pool drops it and the
  // next query connects afresh. Without a listener Node would end the process.
  pool.on('error', () => {});
  try {
    await applyPgMigrations(pool);
  } catch (e) {
    await pool.end();
    throw e;
  }
  return { ...postgresDatabase(pool), close: () => pool.end() };
}

/**
 * Bytewise string order, for lists sorted after reading: PostgreSQL sorts text without COLLATE "C" by
 * its locale, so sorting here is what makes both backends list in the same order.
 */
export const bytewise = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether a statement failed on a unique value (a primary key or UNIQUE constraint), on either backend. */
export function isUniqueViolation(e: unknown): boolean {
  if (e instanceof pg.DatabaseError) return e.code === '23505';
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

// Every Kysely instance on one SQLite file in this process takes turns with the others. A transaction
// awaits between its statements; another connection of this process writing meanwhile would wait for
// SQLite's write lock synchronously (busy_timeout), blocking the event loop the transaction needs in
// order to finish: both fail with "database is locked". Other processes still queue on SQLite's lock.
type TakeTurn = () => Promise<() => void>;
const turnsByFile = new Map<string, TakeTurn>();

function turnsOn(connection: BetterSqlite3.Database): TakeTurn {
  if (connection.memory) return turnTaker(); // an in-memory database is its connection's alone
  let take = turnsByFile.get(connection.name);
  if (!take) turnsByFile.set(connection.name, (take = turnTaker()));
  return take;
}

function turnTaker(): TakeTurn {
  let last: Promise<void> = Promise.resolve();
  return async () => {
    const before = last;
    let done!: () => void;
    last = new Promise<void>((resolve) => (done = resolve));
    await before;
    return done;
  };
}

class TurnTakingSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig, private readonly takeTurn: TakeTurn) {
    super(settings);
  }

  override createDriver(): SqliteDriver {
    return new TurnTakingSqliteDriver(this.settings, this.takeTurn);
  }
}

class TurnTakingSqliteDriver extends SqliteDriver {
  private endTurn: (() => void) | undefined;

  constructor(settings: SqliteDialectConfig, private readonly takeTurn: TakeTurn) {
    super(settings);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection(); // this instance's own queue first
    this.endTurn = await this.takeTurn();
    return connection;
  }

  override async releaseConnection(): Promise<void> {
    const endTurn = this.endTurn;
    this.endTurn = undefined;
    endTurn?.();
    await super.releaseConnection();
  }
}
