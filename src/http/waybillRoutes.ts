// The warehouse API over waybills: create (JSON or the label itself, idempotent), read the masked view,
// fetch a label (each paper fetch is a recorded print; from the second on the paper says REPRINT) and post
// lifecycle events. Routes validate, call one use case and present; nothing here touches SQL.

import express, { type Request, type Response } from 'express';
import type { Principal } from '../auth/apiKey';
import { actorOf } from '../auth/apiKey';
import { WaybillError } from '../errors';
import type { ShownCopy, WaybillLayout } from '../layout/layoutWaybill';
import { tailorTemplate, type LoadedTemplate } from '../layout/loadTemplate';
import { validateOrders } from '../order/readOrders';
import type { Order } from '../order/orderSchema';
import { printWaybills, reprintWaybill, type PrintDeps, type PrintRequest, type PrintSummary } from '../printing/printWaybills';
import { viewWaybill } from '../printing/waybillView';
import { copyCodeOf, drawsLabels, LabelSink, type PrintedWaybill, type WaybillSink } from '../printing/waybillSink';
import { deliverNew, type DeliveryDeps } from '../printers/deliverJob';
import { memoryOutput } from '../render/memoryOutput';
import { labelRenderer, type RenderOptions } from '../render/outputFormats';
import { assertPrintable } from '../waybills/printable';
import type { KeptAnswer, WaybillRecord } from '../waybills/waybillStore';
import { printerRenderOptions } from '../printers/printer';
import { issuesFromZod } from '../validation/zodIssues';
import { WaybillEvent, recordWaybillEvent, type LifecycleDeps } from '../waybills/lifecycle';
import { canSee, requireRole, type AuthDeps } from './auth';
import { jsonBody } from './body';
import { IDEMPOTENCY_KEY, once, requestHash, type IdempotencyDeps, type StoredResponse } from './idempotency';
import { LabelQuery, contentTypeOf, negotiate, parseQuery, renderOptionsOf, type LabelFormat, noQuery } from './labelFormat';
import type { Metrics } from './metrics';
import { PrintBody, sendDeliveryResult, usablePrinter } from './printerRoutes';
import { z } from 'zod';
import { CopyKind } from '../privacy/copyPolicy';
import { present } from '../validation/present';
import { WAYBILL_STATUSES } from '../waybills/waybillStore';

// The answers of these routes, as the API document shows them (presenters build them through these).
const PartyAreaView = z
  .strictObject({ area: z.string().describe('the area as printed'), areaCode: z.string().optional().describe('mainland China: GB/T 2260 code of the deepest division') })
  .optional();
export const WaybillLinks = z.strictObject({
  self: z.string(),
  label: z.string().describe('GET: the label (a recorded print in a paper format)'),
  print: z.string().describe('POST: send the label to a network printer'),
  events: z.string().describe('POST: record a lifecycle event'),
});
// Multi-piece (子母件): piece 1 is the waybill's own number, pieces 2..N child numbers that find the same waybill.
const PiecesView = z
  .array(z.strictObject({ pieceNo: z.number().int().min(1), waybillNo: z.string() }))
  .optional()
  .describe('multi-piece only: every piece and its number (piece 1: waybillNo)');
export const WaybillCreated = z.strictObject({
  id: z.string().uuid(),
  waybillNo: z.string(),
  orderId: z.string(),
  template: z.string(),
  dpi: z.number().int(),
  sender: PartyAreaView,
  recipient: PartyAreaView,
  relay: z.strictObject({ recipient: z.string().optional(), sender: z.string().optional() }).describe('relay number + extension as printed'),
  qr: z.string().url().optional().describe('the QR payload: an opaque token URL'),
  copies: z.array(
    z.strictObject({
      copy: CopyKind,
      piece: z.number().int().optional().describe('multi-piece: the piece (1..N) this copy belongs to'),
      copyCode: z.string().optional().describe('absent in a JSON answer: nothing is printed yet'),
      fields: z.record(z.string(), z.string()).describe('every printed text field, as printed (masked)'),
      barcode: z.string().optional().describe('what the Code128 encodes'),
      qr: z.string().optional(),
    }),
  ),
  pieces: PiecesView,
  warnings: z.array(z.string()),
  links: WaybillLinks,
});
export const WaybillViewBody = z.strictObject({
  id: z.string().uuid(),
  waybillNo: z.string(),
  orderId: z.string(),
  carrier: z.string(),
  status: z.enum(WAYBILL_STATUSES),
  createdAt: z.string().describe('ISO 8601'),
  purgeAfter: z.string().describe('ISO 8601: personal data is destroyed after this'),
  purgedAt: z.string().optional(),
  relayUnavailable: z.boolean().describe('true when no relay number could be bound: the paper shows the masked phone and the service line'),
  shows: z.record(z.string(), z.string()).optional().describe('masked fields as the courier copy prints them; absent once purged'),
  sender: PartyAreaView,
  recipient: PartyAreaView,
  pieces: PiecesView,
  links: WaybillLinks,
});
export const EventResult = z.strictObject({ waybillNo: z.string(), status: z.enum(WAYBILL_STATUSES), purgeAfter: z.string() });

export interface WaybillRouteDeps {
  auth: AuthDeps;
  print: PrintDeps;
  lifecycle: LifecycleDeps;
  idempotency: IdempotencyDeps;
  metrics: Metrics;
  /** Loads a template by id (cached by the caller); throws `unknown_template`. */
  template: (id: string) => LoadedTemplate;
  defaultTemplate: string;
  host: string;
  /** Per-credential request rate limit, after authentication. */
  limit: express.RequestHandler;
  /** Network printers; without them `POST …/print` answers 404. */
  delivery?: DeliveryDeps;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Which events each role may post: couriers move the parcel, warehouses cancel, admins do anything. */
/**
 * Which events each role may post: couriers move the parcel (under custody rules), warehouses cancel,
 * admins post the rest and correct states. The state machine applies to every role.
 */
const EVENTS_BY_ROLE: Record<string, readonly WaybillEvent['type'][]> = {
  courier: ['picked_up', 'handed_over', 'delivered', 'returned'],
  warehouse: ['cancelled'],
  admin: ['assigned', 'picked_up', 'delivered', 'returned', 'cancelled', 'after_sales', 'correction'],
  // A parcel station hands over what it holds, after a verify matched (custody in the lifecycle).
  station: ['delivered'],
};

export function waybillRoutes(deps: WaybillRouteDeps): express.Router {
  const router = express.Router();
  const principal = (res: Response) => res.locals.principal as Principal;

  router.post('/', requireRole(deps.auth, 'warehouse'), deps.limit, jsonBody('64kb'), async (req, res) => {
    const p = principal(res) as Extract<Principal, { client: string }>;
    const { format, template, render: opts } = labelOptions(deps, req, 'json');
    const [order] = validateOrders([{ value: req.body }]);

    let waybillNo: string | undefined;
    // With an Idempotency-Key, the answer is made before the save and kept by it (idempotency.ts: once).
    const produce = async (keep?: (response: StoredResponse) => KeptAnswer): Promise<StoredResponse> => {
      const existing = await deps.print.store.findWaybillByClientOrder(p.client, order!.orderId);
      if (existing) throw conflictWith(existing);
      let response: StoredResponse | undefined;
      const answer = (done: Rendered<PrintSummary>) => (response ??= createdResponse(format, template, done));
      const created = await render<PrintSummary>(
        deps,
        format,
        template.dpi,
        (sink, rendered) =>
          printWaybills(deps.print, { ...createRequest(deps, p, [order!], template, format, sink), ...(keep ? { answer: (result) => keep(answer({ ...rendered(), result })) } : {}) }),
        opts,
      ).catch(async (e: unknown) => {
        // A create of the same order id that saved while this one printed: the answer a create after it gets.
        const raced = e instanceof WaybillError && e.code === 'conflict' ? await deps.print.store.findWaybillByClientOrder(p.client, order!.orderId) : undefined;
        throw raced ? conflictWith(raced) : e;
      });
      deps.metrics.waybillsCreated.inc({ channel: 'http' });
      waybillNo = created.printed[0]!.waybillNo;
      return answer(created);
    };
    const key = req.get('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      throw new WaybillError('invalid_input', 'the Idempotency-Key is malformed', [{ path: ['Idempotency-Key'], message: 'must be 8–255 visible ASCII characters' }]);
    const response = key
      ? await once(deps.idempotency, { client: p.client, key, hash: requestHash(deps.idempotency.hashKey, [format, template.id, template.copies, template.dpi, req.body, ...(Object.keys(opts).length ? [opts] : [])]) }, produce).catch(
          async (e: unknown) => {
            // A key tried with another order: a mistake, or a guess at the first order's data; either way on record.
            if (e instanceof WaybillError && e.code === 'idempotency_mismatch')
              await deps.print.audit.append({ at: deps.lifecycle.now().toISOString(), actor: actorOf(p), action: 'refuse', outcome: 'idempotency_mismatch', requestId: res.locals.requestId as string });
            throw e;
          },
        )
      : { ...(await produce()), replayed: false };
    // A replay did not produce: it answers the first answer's paper (or its JSON: tokens, relay numbers)
    // again, so it follows the label rules — only while the waybill may be printed, and audited.
    if (response.replayed) waybillNo = (await replayable(deps, p, response, format, res.locals.requestId as string)).waybillNo;
    if (waybillNo !== undefined) labelHeaders(res, waybillNo, format);
    send(res, response, response.replayed);
  });

  router.get('/:id', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, noQuery, async (req, res) => {
    const w = await visibleWaybill(deps, principal(res), req);
    const childNos = await deps.print.store.childNosOf(w.id);
    const pieces = childNos.length ? { pieces: [w.waybillNo, ...childNos].map((waybillNo, i) => ({ pieceNo: i + 1, waybillNo })) } : {};
    res.json(present(WaybillViewBody, { ...(await viewWaybill({ keys: deps.print.keys, relay: deps.print.relay?.provider, now: deps.lifecycle.now, store: deps.print.store, audit: deps.print.audit }, w, actorOf(principal(res)), childNos)), ...pieces, links: links(w) }));
  });

  router.get('/:id/label', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, async (req, res) => {
    const p = principal(res);
    const w = await visibleWaybill(deps, p, req);
    const { format, template, render: opts } = labelOptions(deps, req, 'pdf');
    // JSON is a view of the next paper, not paper: it takes no print number and no copy code.
    const view = format === 'json';
    const done = await render(
      deps,
      format,
      template.dpi,
      (sink) => reprintWaybill(deps.print, { waybill: w, template, format, sink, channel: 'http', host: deps.host, operator: actorOf(p), copies: view ? 'view' : 'print' }),
      opts,
    );
    if (!view) res.setHeader('X-Print-Number', String(done.result.printNo));
    labelHeaders(res, w.waybillNo, format);
    const { warnings } = done.result;
    const body = format === 'json' ? Buffer.from(JSON.stringify(createdBody(done.printed[0]!, done.shown, template, warnings))) : done.bytes;
    send(res, { status: 200, contentType: contentTypeOf(format), ...(warnings.length ? { warnings } : {}), body }, false);
  });

  // A print sent straight to a network printer, in its language and resolution: a recorded print like a
  // label fetch, whose bytes are kept (sealed) until the printer took them.
  router.post('/:id/print', requireRole(deps.auth, 'warehouse', 'printer', 'admin'), deps.limit, jsonBody('4kb'), async (req, res) => {
    const delivery = deps.delivery;
    if (!delivery) throw new WaybillError('not_found', 'no printers are configured on this service');
    const p = principal(res);
    const w = await visibleWaybill(deps, p, req);
    const body = PrintBody.safeParse(req.body);
    if (!body.success)
      throw new WaybillError('invalid_input', 'the print request is invalid', issuesFromZod(body.error));
    const printer = await usablePrinter({ delivery }, p, body.data.printer);
    const template = tailorTemplate(deps.template(body.data.template ?? printer.template ?? deps.defaultTemplate), { copies: body.data.copies, dpi: printer.dpi });
    const done = await render(
      deps,
      printer.language,
      template.dpi,
      (sink) => reprintWaybill(deps.print, { waybill: w, template, format: printer.language, sink, channel: 'http', host: `printer:${printer.name}`, operator: actorOf(p) }),
      printerRenderOptions(printer),
    );
    const result = await deliverNew(delivery, { jobId: done.result.jobId, printer, ...('client' in p ? { clientId: p.client } : {}), bytes: done.bytes, actor: actorOf(p) });
    res.setHeader('X-Print-Number', String(done.result.printNo));
    res.setHeader('Waybill-No', w.waybillNo);
    warningHeaders(res, done.result.warnings);
    sendDeliveryResult(res, result, { waybillNo: w.waybillNo, printNo: done.result.printNo, labels: done.result.labels });
  });

  router.post('/:id/events', requireRole(deps.auth, 'courier', 'warehouse', 'admin', 'station'), deps.limit, jsonBody('4kb'), async (req, res) => {
    const p = principal(res);
    const w = await visibleWaybill(deps, p, req);
    const event = WaybillEvent.safeParse(req.body);
    if (!event.success)
      throw new WaybillError('invalid_input', 'the event is invalid', issuesFromZod(event.error));
    if (!EVENTS_BY_ROLE[p.role]!.includes(event.data.type)) {
      // An event above the credential's role (a warehouse key posting a correction) is worth seeing: audited.
      await deps.print.audit.append({ at: deps.lifecycle.now().toISOString(), actor: actorOf(p), action: 'refuse', waybillNo: w.waybillNo, outcome: 'forbidden', requestId: res.locals.requestId as string, detail: { event: event.data.type, role: p.role } });
      throw new WaybillError('forbidden', `a ${p.role} may post only ${EVENTS_BY_ROLE[p.role]!.join(', ')}`);
    }
    const result = await recordWaybillEvent(deps.lifecycle, {
      waybillNo: w.waybillNo,
      event: event.data,
      actor: actorOf(p),
      ...(p.role === 'courier' ? { courierId: p.id, ...(p.device ? { deviceId: p.device } : {}) } : {}),
      ...(p.role === 'station' ? { stationId: p.station } : {}),
      requestId: res.locals.requestId as string,
    });
    res.status(201).json(present(EventResult, result));
  });

  return router;
}

/** A waybill by id or by waybill number, if this principal may see it; "not found" otherwise. */
export async function visibleWaybill(deps: Pick<WaybillRouteDeps, 'print'>, p: Principal, req: Request): Promise<WaybillRecord> {
  const ref = String(req.params.id);
  const w = UUID.test(ref) ? await deps.print.store.findWaybillById(ref) : /^[A-Z0-9]{6,30}$/.test(ref) ? await deps.print.store.findWaybillByNo(ref) : undefined;
  if (w && canSee(p, w)) return w;
  // Answered as if it did not exist, but on record: another client's (or carrier's) waybill asked for by
  // its number or id is what a probing key does.
  if (w) {
    const at = (deps.print.now?.() ?? new Date()).toISOString();
    await deps.print.audit.append({ at, actor: actorOf(p), action: 'refuse', waybillNo: w.waybillNo, outcome: 'not_visible', requestId: req.res?.locals.requestId as string, detail: { role: p.role } });
  }
  throw new WaybillError('not_found', 'no such waybill');
}

/** The format (query or Accept) and the template tailored to the asked copies and resolution. */
export function labelOptions(deps: Pick<WaybillRouteDeps, 'template' | 'defaultTemplate'>, req: Request, fallback: LabelFormat) {
  const query = parseQuery(LabelQuery, req.query);
  const { format, dpi } = negotiate(req, query, fallback);
  const render = renderOptionsOf(query, format);
  return { format, render, template: tailorTemplate(deps.template(query.template ?? deps.defaultTemplate), { copies: query.copies, dpi }, ['query', 'copies']) };
}

/** An API create: the client's orders, on its account; answered in JSON it is a preview, not a print. */
export function createRequest(
  deps: Pick<WaybillRouteDeps, 'host'>,
  p: Extract<Principal, { client: string }>,
  orders: Order[],
  template: LoadedTemplate,
  format: LabelFormat,
  sink: WaybillSink,
): PrintRequest {
  return { orders, template, format, sink, channel: 'http', host: deps.host, operator: actorOf(p), clientId: p.client, copies: format === 'json' ? 'preview' : 'print' };
}

export function conflictWith(existing: WaybillRecord): WaybillError {
  return new WaybillError('conflict', `a waybill already exists for this order id: /v1/waybills/${existing.id}`, [
    { path: ['orderId'], message: `already used by waybill ${existing.id}` },
  ]);
}

/**
 * A label names its waybill: `Waybill-No`, and paper is an attachment named by the number (nothing
 * personal); JSON is a view, not a file.
 */
export function labelHeaders(res: Response, waybillNo: string, format: LabelFormat): void {
  res.setHeader('Waybill-No', waybillNo);
  if (format !== 'json') res.setHeader('Content-Disposition', `attachment; filename="${waybillNo}.${format}"`);
}

export function links(w: { id: string }) {
  return { self: `/v1/waybills/${w.id}`, label: `/v1/waybills/${w.id}/label`, print: `/v1/waybills/${w.id}/print`, events: `/v1/waybills/${w.id}/events` };
}

function createdBody(w: PrintedWaybill, shown: ShownCopy[], template: LoadedTemplate, warnings: string[]) {
  const qr = shown.find((c) => c.qr)?.qr;
  return present(WaybillCreated, {
    id: w.id,
    waybillNo: w.waybillNo,
    orderId: w.orderId,
    template: template.id,
    dpi: template.dpi,
    sender: w.areas.sender,
    recipient: w.areas.recipient,
    relay: w.relay,
    ...(qr ? { qr } : {}),
    ...(w.pieces ? { pieces: w.pieces.map((p) => ({ pieceNo: p.pieceNo, waybillNo: p.waybillNo })) } : {}),
    copies: shown.map((c) => {
      const copyCode = copyCodeOf(w, c);
      return { copy: c.copy, ...(c.pieceNo ? { piece: c.pieceNo } : {}), ...(copyCode ? { copyCode } : {}), fields: c.fields, barcode: c.barcode, ...(c.qr ? { qr: c.qr } : {}) };
    }),
    warnings,
    links: links(w),
  });
}

/**
 * The waybill a replayed create answer is of (by its Location), if it may still be put on paper: a
 * cancelled one is a 409 and one past its life a 410, as its label would be. The replay is audited as
 * that first print given out again.
 */
async function replayable(deps: WaybillRouteDeps, p: Principal, response: StoredResponse, format: string, requestId: string): Promise<WaybillRecord> {
  const now = deps.lifecycle.now();
  const w = response.location ? await deps.print.store.findWaybillById(response.location.split('/').pop()!) : undefined;
  if (!w) throw new WaybillError('gone', 'this waybill is past its life; its data is destroyed');
  assertPrintable(w, now);
  await deps.print.audit.append({ at: now.toISOString(), actor: actorOf(p), action: 'print', waybillNo: w.waybillNo, outcome: 'replayed', requestId, detail: { format } });
  return w;
}

function send(res: Response, r: StoredResponse, replayed: boolean): void {
  if (r.location) res.setHeader('Location', r.location);
  warningHeaders(res, r.warnings);
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(r.status).type(r.contentType).send(r.body);
}

/**
 * A label with a missing-glyph box or a shortened field says so in its answer (as the JSON body's
 * `warnings` do): one `Waybill-Warnings` line each, visible ASCII only (a template's own names could hold more).
 */
function warningHeaders(res: Response, warnings: readonly string[] | undefined): void {
  if (warnings?.length) res.setHeader('Waybill-Warnings', warnings.map((w) => w.replace(/[^\x20-\x7e]/g, '?')));
}

/** What a print into memory gave: the bytes, and what each waybill and copy showed. */
interface Rendered<T> {
  result: T;
  bytes: Buffer;
  printed: PrintedWaybill[];
  shown: ShownCopy[];
}

/**
 * Runs a print into memory (one waybill's labels are small), timing it and counting labels by format.
 * `run` may read what is rendered so far (all of it once the sink is finished).
 */
async function render<T>(
  deps: Pick<WaybillRouteDeps, 'metrics'>,
  format: LabelFormat,
  dpi: number,
  run: (sink: WaybillSink, rendered: () => Omit<Rendered<T>, 'result'>) => Promise<T>,
  opts: RenderOptions = {},
): Promise<Rendered<T>> {
  const stop = deps.metrics.renderSeconds.startTimer({ format });
  const out = memoryOutput();
  const capture = new CaptureSink(format === 'json' ? undefined : new LabelSink(labelRenderer(format, out.stream, dpi, opts)));
  const rendered = () => ({ bytes: out.bytes(), printed: capture.printed, shown: capture.shown });
  const result = await run(capture, rendered);
  stop();
  deps.metrics.labelsRendered.inc({ format }, capture.labels);
  return { result, ...rendered() };
}

/** A create's answer: its label, or (JSON) what each copy shows with the waybill's token and relay numbers. */
function createdResponse(format: LabelFormat, template: LoadedTemplate, created: Rendered<PrintSummary>): StoredResponse {
  const w = created.printed[0]!;
  const { warnings } = created.result;
  const body = format === 'json' ? Buffer.from(JSON.stringify(createdBody(w, created.shown, template, warnings))) : created.bytes;
  return { status: 201, contentType: contentTypeOf(format), location: `/v1/waybills/${w.id}`, ...(warnings.length ? { warnings } : {}), body };
}

/** Remembers what was printed (for the JSON answer) and passes labels on to a renderer, if any. */
class CaptureSink implements WaybillSink {
  readonly printed: PrintedWaybill[] = [];
  readonly shown: ShownCopy[] = [];
  labels = 0;

  constructor(private readonly next?: WaybillSink) {}

  get draws(): boolean {
    return this.next !== undefined && drawsLabels(this.next);
  }

  async add(waybill: PrintedWaybill, layout: WaybillLayout): Promise<void> {
    this.printed.push(waybill);
    this.shown.push(...layout.shown);
    this.labels += layout.labels.length;
    await this.next?.add(waybill, layout);
  }

  async finish(): Promise<void> {
    await this.next?.finish();
  }
}
