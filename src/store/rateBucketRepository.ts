// Rate buckets on either database (`api_rate_buckets`): one upsert per draw, so concurrent requests from
// any number of processes each see and take a token exactly once. Keys are namespaced by use: a
// credential's actor for API requests, `authfail:<address>` for failed authentication (authThrottle.ts).

import { sql } from 'kysely';
import type { BucketDraw, RateBucketRepository } from '../http/rateLimit';
import type { Database } from './database';
import { prepared } from './prepared';

// Where the dialects differ: function names, PostgreSQL's parameter typing, and the clock — on
// PostgreSQL the database's own, so instances whose clocks differ still refill one bucket consistently.
// `allowed` holds how many tokens the last draw took; `first` is what a new (full) bucket gives.
const drawTokens = prepared((_, a: { bucket: string; perSecond: number; capacity: number; want: number; first: number; nowMs: number }, dialect) => {
  const pg = dialect === 'postgres';
  const [least, greatest] = pg ? [sql.raw('LEAST'), sql.raw('GREATEST')] : [sql.raw('min'), sql.raw('max')];
  const rate = pg ? sql`${a.perSecond}::float8` : sql`${a.perSecond}`;
  const capacity = pg ? sql`${a.capacity}::float8` : sql`${a.capacity}`;
  const want = pg ? sql`${a.want}::float8` : sql`${a.want}`;
  const first = pg ? sql`${a.first}::float8` : sql`${a.first}`;
  const now = pg ? sql`extract(epoch FROM clock_timestamp()) * 1000` : sql`${a.nowMs}`;
  const refill = sql`${least}(${capacity}, b.tokens + ${greatest}(0, excluded.at_ms - b.at_ms) / 1000.0 * ${rate})`;
  const whole = pg ? sql`floor(${refill})` : sql`CAST(${refill} AS INTEGER)`; // refill ≥ 1 where used: the cast is the floor
  const taken = sql`CASE WHEN ${refill} >= 1 THEN ${least}(${want}, ${whole}) ELSE 0 END`;
  // SET expressions all read the row as it was, so `allowed` and `tokens` agree.
  return sql<{ tokens: number; allowed: number }>`
    INSERT INTO api_rate_buckets AS b (bucket, tokens, at_ms, allowed) VALUES (${a.bucket}, ${capacity} - ${first}, ${now}, ${first})
    ON CONFLICT (bucket) DO UPDATE SET
      allowed = ${taken},
      tokens = ${refill} - ${taken},
      at_ms = ${greatest}(b.at_ms, excluded.at_ms)
    RETURNING tokens, allowed`;
});

export class SqlRateBucketRepository implements RateBucketRepository {
  constructor(private readonly d: Database) {}

  async draw(bucket: string, perSecond: number, capacity: number, want: number): Promise<BucketDraw> {
    const first = Math.max(0, Math.min(want, Math.floor(capacity)));
    const row = (await this.d.run(drawTokens, { bucket, perSecond, capacity, want, first, nowMs: Date.now() })).rows[0]!;
    return { tokens: Number(row.tokens), taken: Number(row.allowed) };
  }

  async deleteIdle(idleSeconds: number, limit: number): Promise<number> {
    const { db, dialect } = this.d;
    // The draws' clock: the database's own on PostgreSQL.
    const now = dialect === 'postgres' ? sql<number>`extract(epoch FROM clock_timestamp()) * 1000` : sql<number>`${Date.now()}`;
    const cutoff = sql<number>`${now} - ${idleSeconds * 1000}`;
    const idle = db.selectFrom('api_rate_buckets').select('bucket').where('at_ms', '<', cutoff).limit(limit);
    // The condition again on the row deleted: a bucket drawn from meanwhile (PostgreSQL re-reads the row) stays.
    const result = await db.deleteFrom('api_rate_buckets').where('bucket', 'in', idle).where('at_ms', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
