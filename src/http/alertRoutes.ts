// The alerts (admin keys only): what the service raised about couriers, stations, telephony clients,
// webhooks and prints that look like abuse, newest first, a page at a time. An alert names ids and
// reasons, never personal data; the same alerts go to admin webhooks as `alert.raised`.

import express from 'express';
import { z } from 'zod';
import { present } from '../validation/present';
import { ALERT_KINDS, type WaybillStore } from '../waybills/waybillStore';
import { requireRole, type AuthDeps } from './auth';
import { parseQuery } from './labelFormat';
import { Instant, pageLimit } from './searchRoutes';

export const ALERTS_MAX_LIMIT = 500;

export const AlertQuery = z
  .object({
    kind: z.enum(ALERT_KINDS, { error: `must be an alert kind: ${ALERT_KINDS.join(', ')}` }).optional().describe('only this kind'),
    from: Instant.optional().describe('raised at or after this time'),
    to: Instant.optional().describe('raised before this time'),
    limit: pageLimit(ALERTS_MAX_LIMIT, 100),
    // The id of the previous page's last alert; canonical digits, as given out.
    cursor: z.string().regex(/^[1-9]\d{0,15}$/, 'is not a cursor this service gave out').transform(Number).optional().describe('the `next` of the previous page, as given'),
  })
  .strict();

export const AlertBody = z
  .object({
    id: z.number().int(),
    at: z.string(),
    kind: z.string().describe(ALERT_KINDS.join(', ')),
    courierId: z.string().optional(),
    detail: z.string().describe('what happened, naming ids (waybill number, client, courier, station), never personal data'),
  })
  .strict();
export const AlertPage = z.object({ items: z.array(AlertBody), next: z.string().nullable().describe('the cursor of the next page; null on the last page') }).strict();

export interface AlertRouteDeps {
  auth: AuthDeps;
  limit: express.RequestHandler;
  store: Pick<WaybillStore, 'listAlerts'>;
}

export function alertRoutes(deps: AlertRouteDeps): express.Router {
  const router = express.Router();
  router.get('/', requireRole(deps.auth, 'admin'), deps.limit, async (req, res) => {
    const q = parseQuery(AlertQuery, req.query);
    // One row more than the page tells whether there is a next page.
    const rows = await deps.store.listAlerts({
      ...(q.kind !== undefined ? { kind: q.kind } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.cursor !== undefined ? { beforeId: q.cursor } : {}),
      limit: q.limit + 1,
    });
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    res.json(present(AlertPage, { items: page, next: rows.length > q.limit && last ? String(last.id) : null }));
  });
  return router;
}
