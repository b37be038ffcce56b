// Request bodies: the declared media type is checked before a byte is parsed (415), size is capped (413)
// and JSON is parsed strictly (400). A body never reaches a route unchecked.

import express, { type NextFunction, type Request, type Response } from 'express';
import { WaybillError } from '../errors';

export function jsonBody(limit: string, extraTypes: string[] = []) {
  const types = ['application/json', ...extraTypes];
  const parseJson = express.json({ limit, type: () => true });
  const parseText = express.text({ limit, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    const type = req.is(types);
    if (!type) return next(new WaybillError('unsupported_media_type', `the body must be ${types.join(' or ')}`));
    // JSON is UTF-8 (RFC 8259); other charsets (utf-7 turns "+86…" into something else) are refused.
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.get('content-type') ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) return next(new WaybillError('unsupported_media_type', 'the body must be UTF-8'));
    (type === 'application/json' ? parseJson : parseText)(req, res, next);
  };
}
