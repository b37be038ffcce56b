// Per-credential request rate (token bucket): one runaway integration cannot starve the others. Kept in
// process memory: each instance limits its own share; the scan limits that guard personal data live in
// the store instead, shared by every instance.

import type { NextFunction, Request, Response } from 'express';
import type { Principal } from '../auth/apiKey';
import { HttpProblem } from './problem';

export function rateLimit(perSecond: number, now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (_req: Request, res: Response, next: NextFunction): void => {
    const id = (res.locals.principal as Principal).id;
    const t = now();
    const b = buckets.get(id) ?? { tokens: perSecond, at: t };
    b.tokens = Math.min(perSecond, b.tokens + ((t - b.at) / 1000) * perSecond);
    b.at = t;
    buckets.set(id, b);
    if (b.tokens < 1) return next(new HttpProblem('limited', `at most ${perSecond} requests per second per key`, Math.ceil((1 - b.tokens) / perSecond)));
    b.tokens -= 1;
    next();
  };
}
