// Per-credential request rate (token bucket): one runaway integration cannot starve the others. The
// buckets live in the database, so every instance sharing it draws from the same budget per credential.
// A process that a credential keeps busy draws a few tokens at a time (RateBuckets.take).

import type { NextFunction, Request, Response } from 'express';
import { actorOf, type Principal } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { inChunks } from '../eventLoop';

/** A bucket after one draw: the tokens left and how many were taken. */
export interface BucketDraw {
  tokens: number;
  taken: number;
}

/** Where the buckets live (one implementation for both databases, in src/store/). */
export interface RateBucketRepository {
  /**
   * In one atomic step: refills the bucket (full at `capacity`, `perSecond` tokens a second, never
   * backwards in time), then takes as many whole tokens as are there, up to `want`.
   */
  draw(bucket: string, perSecond: number, capacity: number, want: number): Promise<BucketDraw>;
  /** Deletes at most `limit` buckets last drawn from more than `idleSeconds` ago; returns how many. */
  deleteIdle(idleSeconds: number, limit: number): Promise<number>;
}

/**
 * Tokens a process drew ahead are spent within AHEAD_MS of their draw or dropped, and a draw takes at most
 * AHEAD_MAX and a tenth of a second's budget: a credential can go beyond its bucket by no more than that
 * tenth of a second's worth, and a quiet one (or a small budget, under 20 a second) draws one at a time.
 */
const AHEAD_MS = 100;
const AHEAD_MAX = 8;
/** Past this many buckets remembered, those whose draws are over are forgotten. */
const AHEAD_KEPT = 10_000;

/** What this process drew ahead from one bucket. */
interface Ahead {
  tokens: number;
  /** When they are dropped (the clock's ms). */
  until: number;
  /** How many the last draw asked for. */
  want: number;
}

export class RateBuckets {
  private readonly ahead = new Map<string, Ahead>();

  constructor(
    /** The shared buckets. */
    readonly repo: RateBucketRepository,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * Takes one token from the bucket (full at `capacity`, by default `perSecond`; refilled at `perSecond`
   * tokens a second). Returns 0 when taken, else the seconds until a token is there (nothing is taken then).
   *
   * Each draw is a write to the shared store (on SQLite, under the one write lock every worker takes): a
   * credential that keeps this process busy (a warehouse posting its orders) would write once per request.
   * So a bucket drawn from again while its last draw is fresh draws twice as many as last time, within
   * the bounds above, and its next requests spend those here.
   */
  async take(bucket: string, perSecond: number, capacity = perSecond): Promise<number> {
    const now = this.clock();
    const held = this.ahead.get(bucket);
    if (held && now < held.until && held.tokens > 0) {
      held.tokens--;
      return 0;
    }
    const most = Math.max(1, Math.min(AHEAD_MAX, Math.floor((perSecond * AHEAD_MS) / 1000)));
    const want = held && now < held.until ? Math.min(most, held.want * 2) : 1;
    const { tokens, taken } = await this.repo.draw(bucket, perSecond, capacity, want);
    const extra = Math.max(0, taken - 1);
    // Another request of this process drew for the bucket meanwhile: these join its tokens, and its end.
    const after = this.ahead.get(bucket);
    if (after && after !== held && this.clock() < after.until) after.tokens += extra;
    else {
      if (this.ahead.size >= AHEAD_KEPT) this.forgetSpent();
      this.ahead.set(bucket, { tokens: extra, until: now + AHEAD_MS, want });
    }
    return taken > 0 ? 0 : (1 - tokens) / perSecond;
  }

  private forgetSpent(): void {
    const now = this.clock();
    for (const [bucket, held] of this.ahead) if (now >= held.until) this.ahead.delete(bucket);
  }

  /**
   * Forgets buckets idle for `idleSeconds`, at least as long as any of them takes to refill: such a bucket
   * is full, which is what a missing one means, so nothing changes but the table's size (every address
   * that once failed authentication has a bucket of its own). Returns how many were forgotten.
   */
  forgetFull(idleSeconds: number): Promise<number> {
    return inChunks((limit) => this.repo.deleteIdle(idleSeconds, limit));
  }
}

export function rateLimit(perSecond: number, buckets: RateBuckets) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    buckets.take(actorOf(res.locals.principal as Principal), perSecond).then(
      (wait) => next(wait > 0 ? new WaybillError('limited', `at most ${perSecond} requests per second per key`, [], Math.ceil(wait)) : undefined),
      next,
    );
  };
}
