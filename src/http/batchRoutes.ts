// Batches: up to N orders in one request. Every order is validated first (422 lists each bad index with
// its field paths, nothing is created), then one document streams out with backpressure, so memory stays
// bounded whatever the batch size. Waybills are recorded only once the last byte is handed over; a
// client that goes away mid-stream leaves nothing behind.

import express from 'express';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Principal } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { printWaybills } from '../printing/printWaybills';
import { JsonSink, LabelSink } from '../printing/waybillSink';
import { streamedSink } from './streamedDocument';
import { labelRenderer } from '../render/outputFormats';
import { requireRole } from './auth';
import { orderBody, ordersOf } from './body';
import { contentTypeOf, noQuery } from './labelFormat';
import { createRequest, labelOptions, type WaybillRouteDeps } from './waybillRoutes';
import type { BatchRecord } from '../waybills/waybillStore';
import { z } from 'zod';
import { present } from '../validation/present';

/** The batch resource of a PDF or printer-language batch: order index → waybill. */
export const BatchView = z
  .object({
    id: z.string().uuid().describe('the batch (its print job) id, as named in the Link header'),
    status: z.enum(['done']).describe('a batch is saved whole with its waybills: it exists only once done'),
    createdAt: z.string(),
    count: z.number().int(),
    items: z.array(
      z
        .object({
          index: z.number().int().describe("the order's index in the request"),
          orderId: z.string(),
          waybillId: z.string().uuid(),
          waybillNo: z.string(),
          warnings: z.array(z.string()).optional().describe("what this waybill's labels could not show as given (a character the font cannot draw, a shortened field, no relay number), by copy and field; absent when none"),
          links: z.object({ self: z.string() }).strict(),
        })
        .strict(),
    ),
  })
  .strict();

export interface BatchLimits {
  maxOrders: number;
  bodyLimit: string;
  /** Batches rendering at once in this process; more get 503 with Retry-After. */
  maxConcurrent: number;
  /** Batches of one client rendering at once across every instance (print leases); more get 503. */
  perClient?: number;
  /** A client that reads nothing of its batch for this long is cut off and its relay bindings released. */
  idleSeconds?: number;
}

export function batchRoutes(deps: WaybillRouteDeps & { batch: BatchLimits; log: (entry: Record<string, unknown>) => void }): express.Router {
  const router = express.Router();
  let running = 0;

  router.post('/', requireRole(deps.auth, 'warehouse'), deps.limit, orderBody(deps.batch), async (req, res) => {
    const p = res.locals.principal as Extract<Principal, { client: string }>;
    const { format, template, render: opts } = labelOptions(deps, req, 'pdf');
    const orders = ordersOf(res);
    if (format === 'png' && orders.length > 1)
      throw new WaybillError('not_acceptable', 'a PNG holds one waybill; ask for application/pdf (or a printer language) for a batch');
    if (running >= deps.batch.maxConcurrent) throw new WaybillError('unavailable', 'too many batches are rendering; retry shortly', [], 5);

    running++;
    // A document (not JSON, which carries the map itself) becomes a batch resource named by its print
    // job's id, chosen now since headers go first; it is saved with the waybills, so it appears complete.
    const batchId = format === 'json' ? undefined : randomUUID();
    const out = new PassThrough();
    // The print notices a destroyed output itself (next() below); the error it carries must not go unhandled.
    out.on('error', () => {});
    res.on('close', () => {
      if (!res.writableFinished) out.destroy(new Error('the client went away'));
    });
    // The 201 is committed only when the first waybill reaches the document: the print's own checks (order
    // ids already used or repeated in the batch, waybill numbers taken) run before that and still end in a
    // problem. Until then, whatever the renderer writes up front (the PDF header) waits in `out`.
    let committed = false;
    const commit = () => {
      if (committed) return;
      committed = true;
      res.status(201).type(contentTypeOf(format));
      res.setHeader('X-Waybill-Count', String(orders.length));
      if (batchId) res.setHeader('Link', `</v1/batches/${batchId}>; rel="batch"`);
      // The answer ends after the save (below): a client holding the whole document finds its waybills
      // and its batch resource; one whose save failed sees a cut connection, not a complete document.
      out.pipe(res, { end: false });
    };
    try {
      const document = format === 'json' ? new JsonSink(out) : new LabelSink(labelRenderer(format, out, template.dpi, opts));
      // A client that went away ends the print at the next waybill (a destroyed output never drains); one
      // that stops reading holds its batch slot and provisional relay numbers: cut off after idleSeconds.
      const sink = streamedSink(document, {
        beforeEach: () => {
          if (out.destroyed) throw new Error('the client went away');
          commit();
        },
        idleSeconds: deps.batch.idleSeconds,
      });
      const stop = deps.metrics.renderSeconds.startTimer({ format });
      const request = {
        ...createRequest(deps, p, orders, template, format, sink),
        ...(deps.batch.perClient ? { batchSlots: deps.batch.perClient } : {}),
        ...(batchId ? { jobId: batchId, batch: true } : {}),
        releaseOrders: true,
        streamed: true,
      };
      const summary = await printWaybills(deps.print, request);
      if (!out.readableEnded) await once(out, 'end');
      res.end();
      stop();
      deps.metrics.waybillsCreated.inc({ channel: 'http' }, summary.waybills.length);
      deps.metrics.labelsRendered.inc({ format }, summary.labels);
    } catch (e) {
      // Before the first byte, the error handler answers with a problem; after it, only cutting the
      // connection tells the client the document is incomplete.
      if (!res.headersSent) {
        out.unpipe(res);
        throw e;
      }
      deps.log({ requestId: res.locals.requestId, level: 'warn', event: 'batch_aborted', error: (e as Error).name });
      res.destroy();
    } finally {
      running--;
    }
  });

  // The batch resource: order index → waybill, once the batch is saved (404 while it runs or if it failed,
  // which saves nothing). Client-scoped like a waybill: another client's batch is "not found".
  router.get('/:id', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, noQuery, async (req, res) => {
    const p = res.locals.principal as Principal;
    const id = String(req.params.id);
    const batch = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? await deps.print.store.findBatch(id) : undefined;
    if (!batch || (p.role !== 'admin' && (!('client' in p) || batch.clientId !== p.client))) throw new WaybillError('not_found', 'no such batch');
    res.json(present(BatchView, presentBatch(batch)));
  });

  return router;
}

/** The batch as integrators see it: status is always done, as a batch is saved whole or not at all. */
export function presentBatch(b: BatchRecord): z.input<typeof BatchView> {
  return {
    id: b.id,
    status: 'done' as const,
    createdAt: b.createdAt,
    count: b.count,
    items: b.items.map((i) => ({ index: i.index, orderId: i.orderId, waybillId: i.waybillId, waybillNo: i.waybillNo, ...(i.warnings ? { warnings: i.warnings } : {}), links: { self: `/v1/waybills/${i.waybillId}` } })),
  };
}
