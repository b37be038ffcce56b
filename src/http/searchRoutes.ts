// Finding and following waybills: the search (filters, newest first, keyset pages behind an opaque
// cursor) and a waybill's history (its lifecycle events and prints). Both are client-scoped like a
// waybill read, and neither shows personal data: summaries carry identifiers and states only, events
// their type, time and actor (role and id, never a name). Nothing here touches SQL.

import express, { type Response } from 'express';
import { z } from 'zod';
import { API_ROLES, ClientId, type Principal } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { present } from '../validation/present';
import { printableId } from '../validation/printableText';
import { WAYBILL_STATUSES, type PrintFact, type StoredWaybillEvent, type WaybillRecord, type WaybillSummary } from '../waybills/waybillStore';
import { requireRole } from './auth';
import { parseQuery, noQuery } from './labelFormat';
import { links, visibleWaybill, type WaybillRouteDeps } from './waybillRoutes';

export const SEARCH_MAX_LIMIT = 200;
export const SEARCH_DEFAULT_LIMIT = 50;

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A time bound: an RFC 3339 time with offset, or a date (its UTC midnight); stored times are UTC text. */
export const Instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], { error: 'must be an RFC 3339 date-time with offset, or a date' })
  .transform((s) => new Date(s).toISOString())
  // Stored times are compared as text: one past year 9999 in UTC ("+010000-…") would sort before them all.
  .refine((iso) => /^\d{4}-/.test(iso), 'must be a time before the year 10000 (UTC)')
  .describe('RFC 3339 date-time with offset, or a date (UTC midnight)');

/** The cursor: base64url of [createdAt, id] of the previous page's last row. Opaque to clients. */
const Cursor = z
  .string()
  .max(200)
  .transform((s, ctx) => {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
      if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[0] === 'string' && ISO_UTC.test(decoded[0]) && typeof decoded[1] === 'string' && UUID.test(decoded[1])) {
        const cursor = { createdAt: decoded[0], id: decoded[1] };
        // Exactly as encodeCursor writes it: base64url decoding skips what it does not know ("=", "%00").
        if (encodeCursor(cursor) === s) return cursor;
      }
    } catch {
      // falls through to the issue below
    }
    ctx.addIssue({ code: 'custom', message: 'is not a cursor this service gave out' });
    return z.NEVER;
  })
  .describe('the `next` of the previous page, as given');

/** A page size from 1 to `max`. Digits only: Number() would also read "0x10", "1e1" and " 5". */
export function pageLimit(max: number, fallback: number) {
  const message = `must be a whole number from 1 to ${max}`;
  return z.string().regex(/^\d{1,4}$/, message).transform(Number).pipe(z.number().min(1, message).max(max, message)).default(fallback).describe(`page size, at most ${max}`);
}

export const SearchQuery = z
  .object({
    orderId: printableId(64).optional().describe("the client's order id (exact)"),
    waybillNo: z.string().regex(/^[A-Z0-9]{6,30}$/, 'must be 6–30 upper-case letters or digits').optional(),
    status: z.enum(WAYBILL_STATUSES).optional(),
    createdFrom: Instant.optional().describe('created at or after this time'),
    createdTo: Instant.optional().describe('created before this time'),
    client: ClientId.optional().describe('admins only: this client'),
    limit: pageLimit(SEARCH_MAX_LIMIT, SEARCH_DEFAULT_LIMIT),
    cursor: Cursor.optional(),
  })
  .strict();

/** What a search shows of a waybill: identifiers, state and links; never personal data. */
export const WaybillSummaryBody = z.object({
  id: z.string().uuid(),
  waybillNo: z.string(),
  orderId: z.string(),
  client: z.string().optional().describe('absent for waybills printed from the command line without a client'),
  carrier: z.string(),
  status: z.enum(WAYBILL_STATUSES),
  createdAt: z.string(),
  links: z.object({ self: z.string(), label: z.string(), print: z.string(), events: z.string() }).strict(),
}).strict();
export const SearchPage = z.object({
  items: z.array(WaybillSummaryBody),
  next: z.string().nullable().describe('the cursor of the next page; null on the last page'),
}).strict();

export const HistoryEntry = z.object({
  at: z.string(),
  type: z.string().describe('created, printed, or a posted event type (picked_up, handed_over, assigned, delivered, returned, cancelled, after_sales, correction)'),
  actor: z
    .object({ role: z.string().describe('admin, warehouse, printer, courier (id: key or courier id), cli (the command line: no id), system'), id: z.string().optional() })
    .strict()
    .optional()
    .describe('absent when not recorded (a waybill created by a JSON create)'),
  from: z.enum(WAYBILL_STATUSES).optional().describe('the state a correction left'),
  to: z.string().optional().describe('handed_over: the receiving courier id'),
  outlet: z.string().optional().describe('assigned: the outlet code'),
  printNo: z.number().int().optional().describe('printed: 1 for the first paper, 2+ for reprints'),
}).strict();
export const History = z.object({ waybillId: z.string().uuid(), waybillNo: z.string(), status: z.enum(WAYBILL_STATUSES), events: z.array(HistoryEntry) }).strict();

export function searchRoutes(deps: WaybillRouteDeps): express.Router {
  const router = express.Router();
  const principal = (res: Response) => res.locals.principal as Principal;

  router.get('/', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, async (req, res) => {
    const p = principal(res);
    const q = parseQuery(SearchQuery, req.query);
    // Keys see their client only; a key naming another client gets a 422 rather than an empty page.
    if (q.client !== undefined && 'client' in p && q.client !== p.client)
      throw new WaybillError('invalid_input', 'the query is invalid', [{ path: ['query', 'client'], message: 'only admin keys filter by client' }]);
    const clientId = 'client' in p ? p.client : q.client;
    // A child number of a multi-piece waybill searches as its master's number.
    const waybillNo = q.waybillNo === undefined ? undefined : ((await deps.print.store.findWaybillByNo(q.waybillNo))?.waybillNo ?? q.waybillNo);
    // One row more than the page tells whether there is a next page.
    const rows = await deps.print.store.searchWaybills({
      ...(clientId !== undefined ? { clientId } : {}),
      ...(q.orderId !== undefined ? { orderId: q.orderId } : {}),
      ...(waybillNo !== undefined ? { waybillNo } : {}),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.createdFrom !== undefined ? { createdFrom: q.createdFrom } : {}),
      ...(q.createdTo !== undefined ? { createdTo: q.createdTo } : {}),
      ...(q.cursor ? { after: q.cursor } : {}),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    res.json(present(SearchPage, { items: page.map(summaryOf), next: rows.length > q.limit && last ? encodeCursor(last) : null }));
  });

  router.get('/:id/events', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, noQuery, async (req, res) => {
    const w = await visibleWaybill(deps, principal(res), req);
    const [events, prints] = await Promise.all([deps.print.store.eventsOf(w.id), deps.print.store.printsOf(w.id)]);
    res.json(present(History, historyOf(w, events, prints)));
  });

  return router;
}

export function encodeCursor(w: Pick<WaybillSummary, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([w.createdAt, w.id])).toString('base64url');
}

function summaryOf(w: WaybillSummary): z.infer<typeof WaybillSummaryBody> {
  return {
    id: w.id,
    waybillNo: w.waybillNo,
    orderId: w.orderId,
    ...(w.clientId ? { client: w.clientId } : {}),
    carrier: w.carrier,
    status: w.status,
    createdAt: w.createdAt,
    links: links(w),
  };
}

/**
 * `role:id` actors (API keys, couriers) give both; the command line's operator (`cli:user@host`) is an
 * OS account, possibly a person's name, so only its role shows; anything else shows as its role word.
 */
export function actorOf(actor: string): { role: string; id?: string } {
  const colon = actor.indexOf(':');
  const role = colon < 0 ? actor : actor.slice(0, colon);
  if ((API_ROLES as readonly string[]).includes(role) || role === 'courier') return { role, id: actor.slice(colon + 1) };
  return { role: role === 'cli' ? 'cli' : role === 'system' ? 'system' : 'other' };
}

/**
 * The history: created, each print, then the posted events, by time. A correction's reason is free
 * text an admin typed (it may name a person), kept with the event but never shown here, as it is
 * never logged or audited; its from/to states are shown.
 */
export function historyOf(w: WaybillRecord, events: StoredWaybillEvent[], prints: PrintFact[]): z.infer<typeof History> {
  type Entry = z.infer<typeof HistoryEntry>;
  const first = prints.find((p) => p.printNo === 1 && p.at === w.createdAt);
  const entries: Entry[] = [{ at: w.createdAt, type: 'created', ...(first ? { actor: actorOf(printActor(first)) } : {}) }];
  for (const p of prints) if (p.printNo >= 1) entries.push({ at: p.at, type: 'printed', actor: actorOf(printActor(p)), printNo: p.printNo });
  for (const e of events) {
    const d = e.detail ?? {};
    entries.push({
      at: e.at,
      type: e.type,
      actor: actorOf(e.actor),
      ...(e.type === 'correction' && isStatus(d.from) ? { from: d.from } : {}),
      ...(e.type === 'handed_over' && d.to ? { to: d.to } : {}),
      ...(e.type === 'assigned' && d.outlet ? { outlet: d.outlet } : {}),
    });
  }
  // Stable: equal times keep created → prints → events order.
  entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { waybillId: w.id, waybillNo: w.waybillNo, status: w.status, events: entries };
}

function printActor(p: PrintFact): string {
  // API prints record the principal (`warehouse:<key id>`); command-line prints the OS account.
  return p.channel === 'cli' ? 'cli:' : p.operator;
}

function isStatus(s: string | undefined): s is (typeof WAYBILL_STATUSES)[number] {
  return (WAYBILL_STATUSES as readonly string[]).includes(s ?? '');
}
