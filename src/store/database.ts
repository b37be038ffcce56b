// The one database interface every repository is written against: Kysely over the single SQLite
// connection (better-sqlite3, statements prepared once) or over the PostgreSQL pool. On SQLite one
// query or transaction at a time has the connection (and the file, see below), so two requests never
// interleave inside a transaction. `dialect` is for the few hand-tuned statements whose SQL truly differs.
//
// The hot statements (prepared.ts) take a shorter way: `run` and `transaction`. On SQLite they execute
// synchronously, a transaction included, so nothing can interleave and nothing waits on promises; on
// PostgreSQL they go through Kysely like any query, and start again if PostgreSQL ends them to break a deadlock.

import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, type Compilable, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type SqliteDialectConfig } from 'kysely';
import type pg from 'pg';
import { WaybillError } from '../errors';
import type { Prepared } from './prepared';
import type { Schema } from './schema';
import { statementCache } from './statementCache';
import { applyPgMigrations } from './postgres/pgMigrations';

export type Dialect = 'sqlite' | 'postgres';

/** What a statement gave: its rows (a SELECT or RETURNING) or how many rows it wrote. */
export interface Result<R> {
  rows: R[];
  changes: number;
}

/** One statement of a transaction's steps, handed to the database by `yield* step(…)`: its SQL in a dialect. */
export type Step = (db: Kysely<Schema>, dialect: Dialect) => Compiled;
type Compiled = { sql: string; parameters: readonly unknown[] };

/**
 * A transaction body: a generator that yields its statements and gets their results back, so the same
 * body runs synchronously on SQLite and awaits each statement on PostgreSQL. It may branch on results
 * but must not await anything else.
 */
export type Steps<T> = Generator<Step, T, Result<unknown>>;

/**
 * Inside a transaction's steps: `const { rows } = yield* step(statement, args)` for a prepared statement,
 * `yield* step(d.db.insertInto(…)…)` for one built on the spot (a multi-row insert).
 */
export function step<A, R>(statement: Prepared<A, R>, args: A): Generator<Step, Result<R>, Result<unknown>>;
export function step<R>(query: Compilable<R>): Generator<Step, Result<R>, Result<unknown>>;
export function* step<A, R>(statement: Prepared<A, R> | Compilable<R>, args?: A): Generator<Step, Result<R>, Result<unknown>> {
  const compile: Step = 'bind' in statement ? (db, dialect) => statement.bind(db, dialect, args as A) : () => statement.compile();
  return (yield compile) as Result<R>;
}

export interface Database {
  db: Kysely<Schema>;
  dialect: Dialect;
  run<A, R>(statement: Prepared<A, R>, args: A): Promise<Result<R>>;
  /** One write transaction (on SQLite it takes the write lock first, as BEGIN IMMEDIATE). */
  transaction<T>(steps: () => Steps<T>): Promise<T>;
}

export function sqliteDatabase(connection: BetterSqlite3.Database): Database {
  const prepare = preparedOn(connection);
  const turns = turnsOn(connection);
  const db = new Kysely<Schema>({ dialect: new TurnTakingSqliteDialect({ database: { prepare, close: () => connection.close() } }, turns) });
  const execute = <R>({ sql, parameters }: Compiled): Result<R> => {
    const prepared = prepare(sql);
    return prepared.reader ? { rows: prepared.all(parameters) as R[], changes: 0 } : { rows: [], changes: prepared.run(parameters).changes };
  };
  // Synchronous work runs at once unless a Kysely query or transaction holds the file's turn; then after it.
  const inTurn = async <T>(work: () => T): Promise<T> => {
    if (turns.idle()) return work();
    const done = await turns.take();
    try {
      return work();
    } finally {
      done();
    }
  };
  return {
    db,
    dialect: 'sqlite',
    run: (statement, args) => waitingForLock(() => inTurn(() => execute(statement.bind(db, 'sqlite', args)))),
    transaction: (steps) => waitingForLock(() => inTurn(() => connection.transaction(() => drive(steps(), (compile) => execute(compile(db, 'sqlite')))).immediate())),
  };
}

/** How long a write waits for another process's write lock on the file before it fails. */
const LOCK_WAIT_MS = 5000;

/**
 * Another process (a second `serve` worker, a CLI print) holding the file's write lock: the statement or
 * transaction is tried again a millisecond later, until LOCK_WAIT_MS. SQLite's own wait (busy_timeout)
 * sleeps inside the call, freezing every request of this process meanwhile, and backs off from 1 to 25 ms
 * a try: with two workers under scans, a few such stalls every second in each. So the connection's
 * busy_timeout is 0 once it is migrated (sqliteStore.ts) and the wait is here. A refused try has changed
 * nothing, so trying again is safe: a transaction's steps start again from the beginning.
 */
function waitingForLock<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + LOCK_WAIT_MS;
  // Any SQLITE_BUSY kind (another's write lock, a recovery under way): each retry is a whole statement
  // or transaction, so it starts from a fresh snapshot.
  return tryAgain(attempt, (code) => (typeof code === 'string' && code.startsWith('SQLITE_BUSY') ? (performance.now() < deadline ? 1 : 'busy') : undefined));
}

/**
 * Runs `attempt` until it succeeds or `pause` gives no wait (ms) for its error's code and the number of
 * tries so far: undefined, and the error stands; `busy`, when a refusal worth waiting out lasted past every
 * try. Only for refusals that changed nothing. The store was then too busy, not broken: the caller is
 * told to come back (503 with Retry-After over HTTP, exit 75 from the CLI), never given a 500.
 */
async function tryAgain<T>(attempt: () => Promise<T>, pause: (code: unknown, tries: number) => number | 'busy' | undefined): Promise<T> {
  for (let tries = 1; ; tries++) {
    let wait: number | 'busy' | undefined;
    try {
      return await attempt();
    } catch (e) {
      wait = pause((e as { code?: unknown } | null)?.code, tries);
      if (wait === undefined) throw e;
      if (wait === 'busy') throw new WaybillError('unavailable', 'the store is busy; retry shortly', [], 1);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function drive<T>(steps: Steps<T>, execute: (step: Step) => Result<unknown>): T {
  for (let next = steps.next(); ; ) {
    if (next.done) return next.value;
    next = steps.next(execute(next.value));
  }
}

/** One statement cache per connection, shared by every Kysely instance on it. */
const caches = new WeakMap<BetterSqlite3.Database, (sql: string) => BetterSqlite3.Statement>();
function preparedOn(connection: BetterSqlite3.Database): (sql: string) => BetterSqlite3.Statement {
  let prepare = caches.get(connection);
  if (!prepare) caches.set(connection, (prepare = statementCache(connection)));
  return prepare;
}

function postgresDatabase(pool: pg.Pool): Database {
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  const execute = async <R>(on: Kysely<Schema>, { sql, parameters }: Compiled): Promise<Result<R>> => {
    const result = await on.executeQuery<R>(CompiledQuery.raw(sql, [...parameters]));
    return { rows: result.rows, changes: Number(result.numAffectedRows ?? 0) };
  };
  return {
    db,
    dialect: 'postgres',
    run: (statement, args) => againOnConflict(() => execute(db, statement.bind(db, 'postgres', args))),
    transaction: (steps) =>
      againOnConflict(() =>
        db.transaction().execute(async (trx) => {
          const body = steps();
          for (let next = body.next(); ; ) {
            if (next.done) return next.value;
            next = body.next(await execute(trx, next.value(db, 'postgres')));
          }
        }),
      ),
  };
}

/** How often a statement or transaction PostgreSQL gave up on (deadlock, serialization) is tried. */
const PG_TRIES = 5;

/**
 * PostgreSQL ends one of two transactions that wait on each other's rows (a deadlock: two runs claiming
 * and releasing relay slots in random order, say) and the other goes on. The one ended changed nothing,
 * so it starts again from its first step, as on SQLite after a refused lock; a moment later, at random,
 * so two victims do not meet again in step.
 */
function againOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  // 40P01 deadlock_detected, 40001 serialization_failure.
  return tryAgain(attempt, (code, tries) => (code === '40P01' || code === '40001' ? (tries < PG_TRIES ? Math.random() * 10 * tries : 'busy') : undefined));
}

let postgresDriver: typeof pg | undefined;

/** Connects a pool and applies the migrations the database lacks (safe when several instances start at once). */
export async function openPostgres(url: string, poolSize = 10): Promise<Database & { close(): Promise<void> }> {
  // The driver loads with the first PostgreSQL store: the embedded default never pays for it.
  postgresDriver ??= (await import('pg')).default;
  const pool = new postgresDriver.Pool({ connectionString: url, max: poolSize });
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
  if (postgresDriver && e instanceof postgresDriver.DatabaseError) return e.code === '23505';
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

// Every Kysely instance on one SQLite file in this process takes turns with the others. A transaction
// awaits between its statements; another connection of this process writing meanwhile would only wait
// for SQLite's write lock until the transaction ends, and a statement on the transaction's own connection
// would slip into it. Other processes queue on SQLite's lock (waitingForLock).
interface Turns {
  take(): Promise<() => void>;
  /** Nobody holds or waits for a turn. */
  idle(): boolean;
}
const turnsByFile = new Map<string, Turns>();

function turnsOn(connection: BetterSqlite3.Database): Turns {
  if (connection.memory) return turnTaker(); // an in-memory database is its connection's alone
  let turns = turnsByFile.get(connection.name);
  if (!turns) turnsByFile.set(connection.name, (turns = turnTaker()));
  return turns;
}

function turnTaker(): Turns {
  let last: Promise<void> = Promise.resolve();
  let taken = 0;
  return {
    idle: () => taken === 0,
    take: async () => {
      taken++;
      const before = last;
      let done!: () => void;
      last = new Promise<void>((resolve) => (done = resolve));
      await before;
      return () => {
        taken--;
        done();
      };
    },
  };
}

class TurnTakingSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig, private readonly turns: Turns) {
    super(settings);
  }

  override createDriver(): SqliteDriver {
    return new TurnTakingSqliteDriver(this.settings, this.turns);
  }
}

class TurnTakingSqliteDriver extends SqliteDriver {
  private endTurn: (() => void) | undefined;

  constructor(settings: SqliteDialectConfig, private readonly turns: Turns) {
    super(settings);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection(); // this instance's own queue first
    this.endTurn = await this.turns.take();
    // Kysely's statements are single ones (no SQLite transaction is built with it), so one refused for
    // another process's lock is simply tried again.
    return {
      executeQuery: (query) => waitingForLock(() => connection.executeQuery(query)),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }

  override async releaseConnection(): Promise<void> {
    const endTurn = this.endTurn;
    this.endTurn = undefined;
    endTurn?.();
    await super.releaseConnection();
  }
}
