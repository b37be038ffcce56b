// Request bodies: the declared media type is checked before a byte is parsed (415), size is capped (413)
// and JSON is parsed strictly (400). A body never reaches a route unchecked.

import express, { type NextFunction, type Request, type Response } from 'express';
import { HttpProblem } from './problem';

export function jsonBody(limit: string, extraTypes: string[] = []) {
  const types = ['application/json', ...extraTypes];
  const parseJson = express.json({ limit, type: () => true });
  const parseText = express.text({ limit, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    const type = req.is(types);
    if (!type) return next(new HttpProblem('unsupported_media_type', `the body must be ${types.join(' or ')}`));
    (type === 'application/json' ? parseJson : parseText)(req, res, next);
  };
}
