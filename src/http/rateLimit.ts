// Per-credential request rate (token bucket): one runaway integration cannot starve the others. The
// buckets live in the database, so every instance sharing it draws from the same budget per credential.

import type { NextFunction, Request, Response } from 'express';
import { actorOf, type Principal } from '../auth/apiKey';
import { HttpProblem } from './problem';

export interface RateBuckets {
  /**
   * Takes one token from the bucket (full at `perSecond`, refilled at `perSecond` tokens a second).
   * Returns 0 when taken, else the seconds until a token is there (nothing is taken then).
   */
  take(bucket: string, perSecond: number): Promise<number>;
}

export function rateLimit(perSecond: number, buckets: RateBuckets) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    buckets.take(actorOf(res.locals.principal as Principal), perSecond).then(
      (wait) => next(wait > 0 ? new HttpProblem('limited', `at most ${perSecond} requests per second per key`, Math.ceil(wait)) : undefined),
      next,
    );
  };
}
