// Request bodies: the declared media type is checked before a byte is parsed (415), size is capped (413)
// and JSON is parsed strictly (400). A body never reaches a route unchecked. A body of orders (batches,
// previews) is read as text as it arrives and reaches its route validated: NDJSON line by line.

import type { NextFunction, Request, Response } from 'express';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { nextTurn } from '../eventLoop';
import { WaybillError } from '../errors';
import type { Order } from '../order/orderSchema';
import { OrderValidator } from '../order/readOrders';
import { parseJsonText, tryJson } from '../validation/jsonText';

/** A JSON body into `req.body`, read as an order body's JSON is (`parsedJson`). */
export function jsonBody(limit: string) {
  const bytes = bytesOf(limit);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const type = acceptedType(req, []);
    if (type instanceof WaybillError) return next(type);
    parsedJson(req, bytes).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}

/** `jsonBody`, where a request without a body (no length, or length 0) stands for `{}`. */
export function optionalJsonBody(limit: string) {
  const json = jsonBody(limit);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!Number(req.get('content-length') ?? 0) && !req.get('transfer-encoding')) {
      req.body = {};
      return next();
    }
    json(req, res, next);
  };
}

const emptyJson = optionalJsonBody('1kb');

/**
 * For a request that takes nothing (a pairing code, a retry, a secret rotation, a redelivery): no body or
 * `{}`. Anything else is refused rather than ignored, so a client that thinks it set something (an expiry,
 * a printer) learns that it did not.
 */
export function noBody(req: Request, res: Response, next: NextFunction): void {
  emptyJson(req, res, (e?: unknown) => {
    if (e === undefined && (Array.isArray(req.body) || Object.keys(req.body as object).length > 0))
      e = new WaybillError('invalid_input', 'this request takes no body: send none, or {}', [{ path: [], message: 'takes no properties' }]);
    next(e);
  });
}

const notUtf8 = () => new WaybillError('bad_request', 'the body is not UTF-8 text');

/** The body's media type if it is one of these (JSON always), or the 415 to answer. */
function acceptedType(req: Request, extraTypes: string[]): string | WaybillError {
  const types = ['application/json', ...extraTypes];
  const type = req.is(types);
  if (!type) return new WaybillError('unsupported_media_type', `the body must be ${types.join(' or ')}`);
  // JSON is UTF-8 (RFC 8259); other charsets (utf-7 turns "+86…" into something else) are refused.
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.get('content-type') ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) return new WaybillError('unsupported_media_type', 'the body must be UTF-8');
  return type;
}

export interface OrderBodyLimits {
  /** The body's size, e.g. "32mb" (after any content encoding is undone). */
  bodyLimit: string;
  maxOrders: number;
}

/**
 * Orders in a body, validated, into `res.locals.orders` (read it with `ordersOf`): JSON (`{"orders": [...]}`
 * or an array; with `single`, also one order) or NDJSON, one order a line. Both are read as text a piece at
 * a time (readText), never as one block of bytes: a 10 MB block, once freed, made glibc's malloc keep
 * mid-size buffers in its heap for the rest of the process (docs/performance.md). JSON is then parsed whole,
 * strictly (parsedJson). NDJSON is parsed and validated a line at a time, each order let go, and
 * the event loop turns between its chunks; a line that is no JSON fails at once (422, with its line), as do
 * too many orders or bytes (413). Invalid orders fail together at the end (422, every index, line and
 * field path).
 */
export function orderBody(limits: OrderBodyLimits, options: { single?: boolean } = {}) {
  const limit = bytesOf(limits.bodyLimit);
  return (req: Request, res: Response, next: NextFunction): void => {
    const type = acceptedType(req, ['application/x-ndjson']);
    if (type instanceof WaybillError) return next(type);
    const read =
      type === 'application/x-ndjson'
        ? ndjsonOrders(req, limit, limits.maxOrders)
        : parsedJson(req, limit).then((body) => jsonOrders(body, limits.maxOrders, options.single ?? false));
    read.then((orders) => {
      res.locals.orders = orders;
      next();
    }, next);
  };
}

/** The orders `orderBody` validated. */
export function ordersOf(res: Response): Order[] {
  return res.locals.orders as Order[];
}

/**
 * Orders validated between two turns of the event loop: validating 10,000 at once held the process's
 * other requests (scans, creates) for over a second; 256 take some 40 ms.
 */
const VALIDATED_PER_TURN = 256;

/** The orders of a parsed JSON body, validated in turns; each parsed order is let go once validated. */
export async function jsonOrders(body: unknown, max: number, single: boolean): Promise<Order[]> {
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  const wrapped = isObject && 'orders' in body && Object.keys(body).length === 1;
  const list = single && isObject && !wrapped ? [body] : Array.isArray(body) ? body : wrapped ? (body as { orders: unknown }).orders : undefined;
  if (!Array.isArray(list)) throw new WaybillError('invalid_input', 'the body must be {"orders": [...]}, an array of orders, or NDJSON', [{ path: ['orders'], message: 'expected an array of orders' }]);
  if (list.length === 0) throw noOrders();
  if (list.length > max) throw tooMany(max);
  const validator = new OrderValidator();
  for (let i = 0; i < list.length; i++) {
    if (i > 0 && i % VALIDATED_PER_TURN === 0) await nextTurn();
    validator.add(list[i]);
    list[i] = undefined;
  }
  return validator.finish();
}

/**
 * A JSON body: strictly an object or an array (an empty body being `{}`), UTF-8 (express.json would decode
 * other bytes as U+FFFD, which then reached an order as "�"), no property named twice in one object.
 */
async function parsedJson(req: Request, limit: number): Promise<unknown> {
  const parts: string[] = [];
  await readText(req, limit, (text) => parts.push(text));
  const text = parts.join('');
  if (text === '') return {};
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new WaybillError('bad_request', `the body ${parsed.twice ? 'has' : 'is'} ${parsed.why}`);
  if (!isObjectText(text)) throw new WaybillError('bad_request', OBJECT_OR_ARRAY);
  return parsed.value;
}

const OBJECT_OR_ARRAY = 'the body must be a JSON object or array';
const isObjectText = (text: string) => /^\uFEFF?[ \t\n\r]*[{[]/.test(text);

async function ndjsonOrders(req: Request, limit: number, max: number): Promise<Order[]> {
  const validator = new OrderValidator();
  let line = 0;
  let pending = '';
  const take = (text: string) => {
    line++;
    if (text.trim() === '') return;
    const parsed = tryJson(text);
    if (!parsed.ok) {
      const why = parsed.twice ? 'a property named twice in one object' : 'not valid JSON';
      throw new WaybillError('invalid_input', `line ${line} ${parsed.twice ? 'has' : 'is'} ${why}`, [{ line, path: [], message: why }]);
    }
    if (validator.count === max) throw tooMany(max);
    validator.add(parsed.value, line);
  };
  // A line ends in LF, CR LF or, as in old Mac exports, CR alone (as in an order file); raw CR or LF is
  // never inside a JSON value. A CR that ends a piece may have its LF in the next.
  const lineEnd = /\r\n?|\n/g;
  let lfOwed = false;
  await readText(req, limit, (text) => {
    if (lfOwed && text) {
      if (text.startsWith('\n')) text = text.slice(1);
      lfOwed = false;
    }
    // Only the new text is searched for line ends: a long line does not make each piece rescan it.
    let start = 0;
    lineEnd.lastIndex = 0;
    for (let end = lineEnd.exec(text); end; end = lineEnd.exec(text)) {
      take(pending + text.slice(start, end.index));
      pending = '';
      start = lineEnd.lastIndex;
      lfOwed = start === text.length && end[0] === '\r';
    }
    pending += text.slice(start);
  });
  take(pending);
  if (validator.count === 0) throw noOrders();
  return validator.finish();
}

/**
 * Reads the body as UTF-8 text a piece at a time as it arrives, handing each piece to `take`: its
 * Content-Encoding undone, a leading byte order mark dropped (as express's parsers do), at most `limit`
 * bytes. Nothing is gathered here. What `take` throws stops the read; the rest of the body is then read
 * off and dropped, so the connection can answer and stay usable.
 */
async function readText(req: Request, limit: number, take: (text: string) => void): Promise<void> {
  let inflate: Transform | undefined;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const decode = (chunk?: Uint8Array) => {
    try {
      return chunk ? utf8.decode(chunk, { stream: true }) : utf8.decode();
    } catch {
      throw notUtf8();
    }
  };
  let started = false;
  let bytes = 0;
  try {
    if (Number(req.get('content-length')) > limit) throw tooLarge();
    inflate = inflater(req);
    const stream: Readable = inflate ? req.pipe(inflate) : req;
    // Not destroyed when the loop stops early: the rest is read off below.
    for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limit) throw tooLarge();
      let text = decode(chunk);
      if (!started && text) {
        started = true;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      take(text);
    }
    take(decode());
  } catch (e) {
    if (inflate) {
      req.unpipe(inflate);
      inflate.destroy();
    }
    req.resume();
    throw readFailure(e);
  }
}

/** What undoes the body's Content-Encoding (gzip, deflate or br, as express's parsers take them), if it has one. */
function inflater(req: Request): Transform | undefined {
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return undefined;
  if (encoding === 'gzip') return createGunzip();
  if (encoding === 'deflate') return createInflate();
  if (encoding === 'br') return createBrotliDecompress();
  throw new WaybillError('unsupported_media_type', 'unsupported charset or content encoding');
}

/** What stopped a read: our own errors as they are; a broken compressed stream or a cut upload as a bad request. */
function readFailure(e: unknown): unknown {
  if (e instanceof WaybillError) return e;
  const code = (e as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) return new WaybillError('bad_request', 'the body is not valid compressed data');
  return new WaybillError('bad_request', 'the body ended early');
}

function bytesOf(limit: string): number {
  const found = /^(\d+)(kb|mb)$/i.exec(limit);
  if (!found) throw new Error(`a body limit must be a size such as 32mb: ${limit}`);
  return Number(found[1]) * (found[2]!.toLowerCase() === 'mb' ? 1024 * 1024 : 1024);
}

function noOrders(): WaybillError {
  return new WaybillError('invalid_input', 'the batch holds no orders', [{ path: ['orders'], message: 'holds no orders' }]);
}

function tooMany(max: number): WaybillError {
  return new WaybillError('payload_too_large', `a batch holds at most ${max} orders`);
}

function tooLarge(): WaybillError {
  return new WaybillError('payload_too_large', 'the body is too large');
}
