// One pg.Pool shared by every PostgreSQL-backed store of a process, with the few helpers they need:
// queries as named prepared statements, transactions that always release their client, and the
// unique-violation check. Connections come from DATABASE_URL; migrations run before the pool is handed out.

import { createHash } from 'node:crypto';
import pg from 'pg';
import { applyPgMigrations } from './pgMigrations';

export type Params = readonly unknown[];

/** What both the pool and a transaction's client can do: run one statement. */
export interface Queryable {
  rows<R>(text: string, params?: Params): Promise<R[]>;
  one<R>(text: string, params?: Params): Promise<R | undefined>;
  /** Runs a statement and returns how many rows it touched. */
  run(text: string, params?: Params): Promise<number>;
}

export class PgDatabase implements Queryable {
  private constructor(readonly pool: pg.Pool) {}

  /** Connects and applies the migrations the database lacks (safe when several instances start at once). */
  static async open(url: string, opts: { poolSize?: number } = {}): Promise<PgDatabase> {
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
    // An idle client that loses its server (restart, failover) emits 'error'; the pool drops it and the
    // next query connects afresh. Without a listener Node would end the process.
    pool.on('error', () => {});
    try {
      await applyPgMigrations(pool);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PgDatabase(pool);
  }

  rows<R>(text: string, params: Params = []): Promise<R[]> {
    return rowsOf<R>(this.pool, text, params);
  }

  async one<R>(text: string, params: Params = []): Promise<R | undefined> {
    return (await this.rows<R>(text, params))[0];
  }

  async run(text: string, params: Params = []): Promise<number> {
    return (await this.pool.query(statement(text, params))).rowCount ?? 0;
  }

  /**
   * Runs `fn` in one transaction on one client: committed when it returns, rolled back when it throws.
   * READ COMMITTED by default (row locks then see the latest committed row); `repeatable read` gives one
   * snapshot for consistent reads such as verifying the audit chain.
   */
  async tx<T>(fn: (q: Queryable) => Promise<T>, isolation: 'read committed' | 'repeatable read' = 'read committed'): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${isolation === 'repeatable read' ? 'REPEATABLE READ' : 'READ COMMITTED'}`);
      const q: Queryable = {
        rows: <R>(text: string, params: Params = []) => rowsOf<R>(client, text, params),
        one: async <R>(text: string, params: Params = []) => (await rowsOf<R>(client, text, params))[0],
        run: async (text, params = []) => (await client.query(statement(text, params))).rowCount ?? 0,
      };
      const result = await fn(q);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection itself failed: do not hand it out again
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The constraint a statement broke when it failed on a unique value (SQLSTATE 23505), else undefined. */
export function uniqueConstraintOf(e: unknown): string | undefined {
  if (e instanceof pg.DatabaseError && e.code === '23505') return e.constraint ?? '';
  return undefined;
}

async function rowsOf<R>(on: pg.Pool | pg.PoolClient, text: string, params: Params): Promise<R[]> {
  return (await on.query(statement(text, params))).rows as R[];
}

// Named statements are parsed and planned once per connection; the name is derived from the text so
// two different statements can never share one.
const names = new Map<string, string>();
function statement(text: string, params: Params): pg.QueryConfig {
  let name = names.get(text);
  if (!name) {
    name = `w_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return { name, text, values: params as unknown[] };
}
