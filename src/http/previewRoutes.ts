// Previews: the paper a create or a batch would print, stamped 样张 / PREVIEW, with placeholders where the
// waybill number, QR token and copy codes would be. The same body as a create (one order) or a batch
// (`{"orders": [...]}`, an array, NDJSON), the same validation (422 with field paths) and the same format
// negotiation as labels; nothing is created or recorded, so order ids are not checked for reuse.

import express from 'express';
import { PassThrough } from 'node:stream';
import { WaybillError } from '../errors';
import { previewWaybills } from '../printing/previewWaybills';
import { JsonSink, LabelSink } from '../printing/waybillSink';
import { streamedSink } from './streamedDocument';
import { labelRenderer } from '../render/outputFormats';
import { requireRole } from './auth';
import type { BatchLimits } from './batchRoutes';
import { orderBody, ordersOf } from './body';
import { contentTypeOf } from './labelFormat';
import { labelOptions, type WaybillRouteDeps } from './waybillRoutes';

export function previewRoutes(deps: WaybillRouteDeps & { batch: BatchLimits }): express.Router {
  const router = express.Router();
  let running = 0;

  // Any key that prints may see what its paper would look like; the orders are the caller's own input.
  router.post('/', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, orderBody(deps.batch, { single: true }), async (req, res) => {
    const { format, template, render: opts } = labelOptions(deps, req, 'pdf');
    const orders = ordersOf(res);
    if (format === 'png' && orders.length > 1)
      throw new WaybillError('not_acceptable', 'a PNG holds one waybill; ask for application/pdf (or a printer language) for several');
    if (running >= deps.batch.maxConcurrent) throw new WaybillError('unavailable', 'too many documents are rendering; retry shortly', [], 5);

    running++;
    const out = new PassThrough();
    out.on('error', () => {});
    res.on('close', () => {
      if (!res.writableFinished) out.destroy(new Error('the client went away'));
    });
    // Answered only once the first label is laid out, so a template problem is still a problem+json.
    const commit = () => {
      if (out.destroyed) throw new Error('the client went away');
      if (res.headersSent) return;
      res.status(200).type(contentTypeOf(format));
      res.setHeader('X-Waybill-Count', String(orders.length));
      out.pipe(res);
    };
    try {
      const document = format === 'json' ? new JsonSink(out) : new LabelSink(labelRenderer(format, out, template.dpi, opts));
      // A client that stops reading would hold a rendering slot forever: cut off after idleSeconds.
      const sink = streamedSink(document, { beforeEach: commit, idleSeconds: deps.batch.idleSeconds });
      await previewWaybills({ metrics: deps.print.metrics, ...(deps.print.now ? { now: deps.print.now } : {}) }, { orders, template, sink });
    } catch (e) {
      if (!res.headersSent) {
        out.unpipe(res);
        throw e;
      }
      res.destroy();
    } finally {
      running--;
    }
  });

  return router;
}
