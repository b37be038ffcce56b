// Per-credential request rate (token bucket): one runaway integration cannot starve the others. The
// buckets live in the database, so every instance sharing it draws from the same budget per credential.

import type { NextFunction, Request, Response } from 'express';
import { actorOf, type Principal } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { inChunks } from '../eventLoop';

/** A bucket after one draw: the tokens left and whether a token was taken. */
export interface BucketDraw {
  tokens: number;
  allowed: boolean;
}

/** Where the buckets live (one implementation for both databases, in src/store/). */
export interface RateBucketRepository {
  /**
   * In one atomic step: refills the bucket (full at `capacity`, `perSecond` tokens a second, never
   * backwards in time), then takes a token if a whole one is there.
   */
  draw(bucket: string, perSecond: number, capacity: number): Promise<BucketDraw>;
  /** Deletes at most `limit` buckets last drawn from more than `idleSeconds` ago; returns how many. */
  deleteIdle(idleSeconds: number, limit: number): Promise<number>;
}

export class RateBuckets {
  constructor(private readonly repo: RateBucketRepository) {}

  /**
   * Takes one token from the bucket (full at `capacity`, by default `perSecond`; refilled at `perSecond`
   * tokens a second). Returns 0 when taken, else the seconds until a token is there (nothing is taken then).
   */
  async take(bucket: string, perSecond: number, capacity = perSecond): Promise<number> {
    const { tokens, allowed } = await this.repo.draw(bucket, perSecond, capacity);
    return allowed ? 0 : (1 - tokens) / perSecond;
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
