// Network printers over HTTP: which printers a key may use, and the print jobs sent to them (status and
// retry). Sending a waybill to a printer is `POST /v1/waybills/{id}/print` (waybillRoutes).

import express, { type Response } from 'express';
import { noBody } from './body';
import { z } from 'zod';
import type { Principal } from '../auth/apiKey';
import { actorOf } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { CopyKind } from '../privacy/copyPolicy';
import { retryDelivery, type DeliveryDeps, type DeliveryResult } from '../printers/deliverJob';
import type { Delivery } from '../printers/printerStore';
import { requireRole, type AuthDeps } from './auth';
import { Problem, sendProblem } from './problem';
import { AGENT_ONLINE_MS, PRINTER_LANGUAGES, PrinterName, type Printer } from '../printers/printer';
import { DELIVERY_STATUSES } from '../printers/printerStore';
import { present } from '../validation/present';
import { noQuery } from './labelFormat';

export const PrintBody = z.strictObject({
  printer: PrinterName.describe('a registered printer name (GET /v1/printers)'),
  template: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a template id').optional().describe("the printer's template by default"),
  copies: z.array(CopyKind).min(1).optional().describe('which copies to print; all of the template by default'),
});

const JobLinks = z.strictObject({ self: z.string(), retry: z.string().optional().describe('POST: send a kept job again') });
/** 200 of a print or a retry: the printer took every byte. */
export const PrintSent = z.strictObject({
  job: z.string().uuid().describe('print job id: GET /v1/print-jobs/{job}'),
  printer: z.string(),
  status: z.literal('delivered'),
  attempts: z.number().int(),
  waybillNo: z.string().optional().describe('on a new print (not on a retry)'),
  printNo: z.number().int().optional().describe('2 and more: the paper says REPRINT'),
  labels: z.number().int().optional(),
  links: JobLinks,
});
/** 502 of a print or a retry: a problem naming the kept job. */
export const PrintFailedProblem = Problem.extend({
  job: z.string().uuid(),
  printer: z.string(),
  jobStatus: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  waybillNo: z.string().optional(),
  printNo: z.number().int().optional(),
  labels: z.number().int().optional(),
  links: z.strictObject({ self: z.string(), retry: z.string() }),
});
export const PrintJobView = z.strictObject({
  job: z.string().uuid(),
  printer: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  bytes: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deliveredAt: z.string().optional(),
  lastError: z.string().optional().describe('why the last send failed (printer address and cause; never job content)'),
  links: JobLinks,
});
/** 202 of a print or a retry to a printer behind a warehouse agent: the job is kept and goes out through the agent. */
export const PrintQueued = z.strictObject({
  job: z.string().uuid().describe('print job id: GET /v1/print-jobs/{job} follows it to delivered or failed'),
  printer: z.string(),
  status: z.enum(['pending', 'sending']).describe('pending: the agent is offline, the job goes out when it connects; sending: handed to the agent, not acknowledged yet'),
  waybillNo: z.string().optional().describe('on a new print (not on a retry)'),
  printNo: z.number().int().optional(),
  labels: z.number().int().optional(),
  links: z.strictObject({ self: z.string() }),
});
export const PrinterList = z.strictObject({
  printers: z.array(
    z.strictObject({
      name: z.string(),
      language: z.enum(PRINTER_LANGUAGES),
      dpi: z.number().int(),
      template: z.string().optional(),
      via: z.enum(['network', 'agent']).describe('network: the service sends raw TCP itself; agent: a warehouse agent (`waybill agent`) reaches it'),
      online: z.boolean().optional().describe('agent printers: whether their agent is connected now'),
    }),
  ),
});

export interface PrinterRouteDeps {
  auth: AuthDeps;
  delivery: DeliveryDeps;
  limit: express.RequestHandler;
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function printerRoutes(deps: PrinterRouteDeps): { printers: express.Router; jobs: express.Router } {
  const printers = express.Router();
  const jobs = express.Router();
  const principal = (res: Response) => res.locals.principal as Principal;
  const roles = requireRole(deps.auth, 'warehouse', 'printer', 'admin');

  printers.get('/', roles, deps.limit, noQuery, async (_req, res) => {
    const p = principal(res);
    const all = await deps.delivery.printers.listPrinters();
    const onlineSince = deps.delivery.now().getTime() - AGENT_ONLINE_MS;
    res.json(
      present(PrinterList, {
        printers: all
          .filter((printer) => mayUse(p, printer))
          .map(({ name, language, dpi, template, agent }) => ({
            name,
            language,
            dpi,
            ...(template ? { template } : {}),
            via: agent ? ('agent' as const) : ('network' as const),
            ...(agent ? { online: agent.seenAt !== undefined && Date.parse(agent.seenAt) >= onlineSince } : {}),
          })),
      }),
    );
  });

  jobs.get('/:job', roles, deps.limit, noQuery, async (req, res) => {
    res.json(present(PrintJobView, deliveryView(await visibleDelivery(deps, principal(res), String(req.params.job)))));
  });

  jobs.post('/:job/retry', roles, deps.limit, noBody, async (req, res) => {
    const p = principal(res);
    const d = await visibleDelivery(deps, p, String(req.params.job));
    sendDeliveryResult(res, await retryDelivery(deps.delivery, d.jobId, actorOf(p)));
  });

  return { printers, jobs };
}

/** Admins and the CLI may use any printer; a client's keys only the printers registered to that client. */
export function mayUse(p: Principal, printer: Printer): boolean {
  return p.role === 'admin' || ('client' in p && printer.client === p.client);
}

/** The named printer, if this principal may use it; the same refusal for unknown and foreign printers. */
export async function usablePrinter(deps: Pick<PrinterRouteDeps, 'delivery'>, p: Principal, name: string): Promise<Printer> {
  const printer = await deps.delivery.printers.getPrinter(name);
  if (!printer || !mayUse(p, printer)) throw new WaybillError('invalid_input', 'no such printer', [{ path: ['printer'], message: 'is not a printer this key may use (GET /v1/printers)' }]);
  return printer;
}

/** 200 once the printer took the job; 502 when it did not, naming the kept job and how to retry it. */
export function sendDeliveryResult(res: Response, r: DeliveryResult, extra: { waybillNo?: string; printNo?: number; labels?: number } = {}): void {
  const links = { self: `/v1/print-jobs/${r.jobId}`, retry: `/v1/print-jobs/${r.jobId}/retry` };
  if (r.status === 'delivered') {
    res.json(present(PrintSent, { job: r.jobId, printer: r.printer, status: r.status, attempts: r.attempts, ...extra, links: { self: links.self } }));
    return;
  }
  if (r.status === 'pending' || r.status === 'sending') {
    res.status(202).setHeader('Location', links.self);
    res.json(present(PrintQueued, { job: r.jobId, printer: r.printer, status: r.status, ...extra, links: { self: links.self } }));
    return;
  }
  sendProblem(res, 'printer_unreachable', `${r.error ?? 'the printer did not take the job'}; the job is kept, retry it with POST ${links.retry}`, {
    extra: { job: r.jobId, printer: r.printer, jobStatus: r.status, attempts: r.attempts, ...extra, links },
  });
}

async function visibleDelivery(deps: PrinterRouteDeps, p: Principal, jobId: string): Promise<Delivery> {
  const d = JOB_ID.test(jobId) ? await deps.delivery.printers.getDelivery(jobId) : undefined;
  if (!d || (p.role !== 'admin' && !('client' in p && d.clientId === p.client))) throw new WaybillError('not_found', 'no such print job');
  return d;
}

function deliveryView(d: Delivery) {
  return {
    job: d.jobId,
    printer: d.printer,
    status: d.status,
    attempts: d.attempts,
    bytes: d.byteLength,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    ...(d.deliveredAt ? { deliveredAt: d.deliveredAt } : {}),
    ...(d.lastError ? { lastError: d.lastError } : {}),
    links: { self: `/v1/print-jobs/${d.jobId}`, ...(d.status === 'failed' || d.status === 'pending' ? { retry: `/v1/print-jobs/${d.jobId}/retry` } : {}) },
  };
}
