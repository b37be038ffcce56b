// The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with (zod's own
// JSON Schema output, 2020-12, which OpenAPI 3.1 uses as is), and a plain docs page rendered from it.

import { z } from 'zod';
import { NewApiKey } from '../auth/apiKey';
import { Address, ADDRESS_INPUTS, Order } from '../order/orderSchema';
import { CopyKind } from '../privacy/copyPolicy';
import { WaybillEvent } from '../waybills/lifecycle';
import { POSTED_EVENTS } from '../waybills/transitions';
import { WAYBILL_STATUSES } from '../waybills/waybillStore';
import { SCAN_PURPOSES } from '../waybills/scanAccess';
import { FORMAT_NAMES, OUTPUT_FORMATS } from '../render/outputFormats';
import { LabelQuery } from './labelFormat';
import { PrintBody } from './printerRoutes';
import { PRINTER_LANGUAGES } from '../printers/printer';
import { DELIVERY_STATUSES } from '../printers/printerStore';

/** Response shapes, for the document only: the presenters build exactly these. */
const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  requestId: z.string(),
  errors: z.array(z.object({ index: z.number().int().optional().describe('order index in a batch'), line: z.number().int().optional(), path: z.string(), message: z.string() })).optional(),
});
const TransitionProblem = Problem.extend({
  currentStatus: z.enum(WAYBILL_STATUSES).describe('the state the waybill is in'),
  allowedEvents: z.array(z.enum(POSTED_EVENTS)).describe('the events this state takes now'),
});
const PartyArea = z
  .object({ area: z.string().describe('the area as printed'), areaCode: z.string().optional().describe('mainland China: GB/T 2260 code of the deepest division') })
  .optional();
const Created = z.object({
  id: z.string().uuid(),
  waybillNo: z.string(),
  orderId: z.string(),
  template: z.string(),
  dpi: z.number().int(),
  sender: PartyArea,
  recipient: PartyArea,
  relay: z.object({ recipient: z.string().optional(), sender: z.string().optional() }).describe('relay number + extension as printed'),
  qr: z.string().url().optional().describe('the QR payload: an opaque token URL'),
  copies: z.array(
    z.object({
      copy: CopyKind,
      copyCode: z.string().optional().describe('absent in a preview: nothing is printed yet'),
      fields: z.record(z.string(), z.string()).describe('every printed text field, as printed (masked)'),
      barcode: z.string().optional(),
      qr: z.string().optional(),
    }),
  ),
  warnings: z.array(z.string()),
  links: z.object({ self: z.string(), label: z.string(), events: z.string() }),
});
const View = z.object({
  id: z.string().uuid(),
  waybillNo: z.string(),
  orderId: z.string(),
  carrier: z.string(),
  status: z.string(),
  createdAt: z.string(),
  purgeAfter: z.string(),
  purgedAt: z.string().optional(),
  relayUnavailable: z.boolean(),
  shows: z.record(z.string(), z.string()).optional().describe('masked fields; absent once purged'),
  sender: PartyArea,
  recipient: PartyArea,
  links: z.object({ self: z.string(), label: z.string(), events: z.string() }),
});
const EventResult = z.object({ waybillNo: z.string(), status: z.string(), purgeAfter: z.string() });
const PrintSent = z.object({
  job: z.string().describe('print job id: GET /v1/print-jobs/{job}'),
  printer: z.string(),
  status: z.literal('delivered'),
  attempts: z.number().int(),
  waybillNo: z.string().optional().describe('on a new print (not on a retry)'),
  printNo: z.number().int().optional().describe('2 and more: the paper says REPRINT'),
  labels: z.number().int().optional(),
});
const PrintJob = z.object({
  job: z.string(),
  printer: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  bytes: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deliveredAt: z.string().optional(),
  lastError: z.string().optional().describe('why the last send failed (printer address and cause; never job content)'),
});
const PrinterInfo = z.object({ printers: z.array(z.object({ name: z.string(), language: z.enum(PRINTER_LANGUAGES), dpi: z.number().int(), template: z.string().optional() })) });
const Batch = z.object({ orders: z.array(Order).min(1).max(10_000) }).strict();
const PreviewEntry = z.object({
  orderIndex: z.number().int(),
  orderId: z.string(),
  waybillNo: z.string().describe("a placeholder in the carrier's number form, X for each digit (e.g. SFXXXXXXXXXXXXX): no number is assigned"),
  sender: PartyArea,
  recipient: PartyArea,
  copies: z.array(
    z.object({
      copy: CopyKind,
      copyCode: z.string().describe('the placeholder printed where the copy code goes: 样张 (zh templates) or PREVIEW (en)'),
      fields: z.record(z.string(), z.string()).describe('every printed text field, as printed (masked); phones as printed without a relay number'),
      barcode: z.literal('PREVIEW').describe('what the Code128 encodes'),
      qr: z.literal('PREVIEW').optional().describe('what the QR encodes: no token, no URL'),
      watermark: z.string().describe('the mark stamped on the label: 样张 or PREVIEW'),
    }),
  ),
});
const RelayResolved = z.union([
  z.object({
    action: z.literal('bridge'),
    bindingId: z.string().uuid(),
    target: z.string().describe('the real number to bridge to, E.164; never logged or audited'),
    targetExtension: z
      .string()
      .regex(/^\d{1,6}$/)
      .optional()
      .describe('digits to dial (DTMF) once the target answers, before bridging; only when the party gave an extension'),
    timeLimitSeconds: z.number().int(),
  }),
  z.object({
    action: z.literal('reject'),
    reason: z.enum(['unknown', 'expired', 'caller_not_allowed']),
    announcement: z.string().describe('id of the recording to play'),
    bindingId: z.string().uuid().optional(),
  }),
]);

function schema(s: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(s, {
    io: 'input',
    unrepresentable: 'any',
    // The address is checked by country in code; document the shapes it accepts.
    override: (ctx) => {
      if (ctx.zodSchema === Address) Object.assign(ctx.jsonSchema, { oneOf: ADDRESS_INPUTS.map((a) => z.toJSONSchema(a, { io: 'input', unrepresentable: 'any' })) });
    },
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const label = Object.fromEntries(
  FORMAT_NAMES.filter((f) => f !== 'json').map((f) => [OUTPUT_FORMATS[f].mediaType, { schema: { type: 'string', format: 'binary' } }]),
);
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), problem(STATUS_TEXT[c] ?? 'error')]));
const STATUS_TEXT: Record<number, string> = {
  400: 'malformed request',
  401: 'no valid credential (after a burst of them from one address: 429)',
  403: 'the role may not do this',
  404: 'not found (or not yours)',
  406: 'no acceptable format',
  409: 'conflict: order id already used, or the same request still running',
  410: 'the waybill is past its life',
  413: 'body too large or too many orders',
  415: 'unsupported media type',
  422: 'invalid input, with field paths (and order indexes in a batch)',
  429: 'rate limited (per credential, or failed credentials per address); see Retry-After',
  502: 'the printer did not take the job; it is kept for a retry',
  503: 'busy or shutting down; see Retry-After',
};

function queryParameters(s: z.ZodObject) {
  return Object.entries(s.shape).map(([name, field]) => ({ name, in: 'query', required: false, schema: schema(field as z.ZodType) }));
}
const jobParam = { name: 'job', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'waybill id (UUID) or waybill number' };

export function openApiDocument(): Record<string, unknown> {
  const security = [{ bearer: [] }];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Privacy waybill print service',
      version: '1',
      description:
        'Waybills whose paper is worthless to a thief: masked names, relay numbers, routing-level addresses and an opaque QR token. ' +
        'Authenticate with `Authorization: Bearer <key>` (keys from `waybill keys create`). Errors are RFC 9457 problem+json with a request id.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'wbk_… API key, wbc_… courier or wbt_… telephony credential' } },
      schemas: {
        Order: schema(Order),
        Batch: schema(Batch),
        PreviewEntry: schema(PreviewEntry),
        Event: schema(WaybillEvent),
        WaybillCreated: schema(Created),
        WaybillView: schema(View),
        EventResult: schema(EventResult),
        NewApiKey: schema(NewApiKey),
        PrintRequest: schema(PrintBody),
        PrintSent: schema(PrintSent),
        PrintJob: schema(PrintJob),
        Printers: schema(PrinterInfo),
        RelayResolved: schema(RelayResolved),
        Problem: schema(Problem),
        TransitionProblem: schema(TransitionProblem),
      },
    },
    paths: {
      '/v1/waybills': {
        post: {
          summary: 'Create a waybill from one order (role: warehouse)',
          description:
            'Answers JSON (what each copy will show, the QR payload, relay numbers, links) or the label itself when `Accept` or `?format=` asks for it. ' +
            'A JSON answer creates the waybill without paper: the first label fetched later is print 1 (`POST /v1/previews` creates nothing). Send `Idempotency-Key` to make retries safe.',
          security,
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 8, maxLength: 255 } },
            ...queryParameters(LabelQuery),
          ],
          requestBody: { required: true, content: json('Order') },
          responses: { '201': { description: 'created', content: { ...json('WaybillCreated'), ...label } }, ...errors(400, 401, 403, 406, 409, 413, 415, 422, 503) },
        },
      },
      '/v1/waybills/{id}': {
        get: { summary: 'The masked view of a waybill (warehouse, printer, admin)', security, parameters: [idParam], responses: { '200': { description: 'ok', content: json('WaybillView') }, ...errors(401, 403, 404) } },
      },
      '/v1/waybills/{id}/label': {
        get: {
          summary: 'Print the label (again): the second paper says REPRINT #1 (重印 第1次), the third #2, and so on',
          description:
            'Each label in a paper format is a recorded print (`X-Print-Number`). JSON is a view of what the next paper would print: no print number, no copy code. ' +
            'A cancelled waybill answers 409 (`cancelled`); one purged or past its retention 410.',
          security,
          parameters: [idParam, ...queryParameters(LabelQuery)],
          responses: { '200': { description: 'the label', content: { ...label, ...json('WaybillCreated') } }, ...errors(401, 403, 404, 406, 409, 410, 422) },
        },
      },
      '/v1/waybills/{id}/events': {
        post: {
          summary: 'Record a lifecycle event, as the state machine allows (see the README diagram)',
          description:
            'Couriers post picked_up (of a waybill they scanned with purpose pickup, or one assigned to their outlet), handed_over, and delivered/returned ' +
            '(only of a parcel they hold); warehouses cancelled (before pickup); admins assigned, picked_up, delivered, returned, cancelled, after_sales and ' +
            'correction (any state, with a reason). An event the current state does not allow is 409 `invalid_transition`, naming the current state and the ' +
            'allowed events. Couriers are limited per minute (429), and a burst of closing events suspends the courier (403 `suspended`).',
          security,
          parameters: [idParam],
          requestBody: { required: true, content: json('Event') },
          responses: {
            '201': { description: 'recorded', content: json('EventResult') },
            ...errors(400, 401, 403, 404, 410, 415, 422, 429),
            '409': { description: 'invalid_transition: the current state does not allow this event', content: { 'application/problem+json': { schema: ref('TransitionProblem') } } },
          },
        },
      },
      '/v1/waybills/{id}/print': {
        post: {
          summary: 'Send the label to a registered network printer (warehouse, printer, admin)',
          description:
            "Rendered in the printer's language and resolution and sent over raw TCP (port 9100). A refused or unreachable printer is retried a few times; " +
            'if it still does not take the job, the answer is 502 naming the kept job (`job`, `links.retry`), which `POST /v1/print-jobs/{job}/retry` sends again ' +
            'with the same print number. A new print of the waybill replaces a kept, undelivered job of it (cancelled) and reuses its number. ' +
            'A cancelled waybill answers 409 (`cancelled`); one purged or past its retention 410.',
          security,
          parameters: [idParam],
          requestBody: { required: true, content: json('PrintRequest') },
          responses: { '200': { description: 'the printer took every byte', content: json('PrintSent') }, ...errors(401, 403, 404, 409, 410, 415, 422, 502) },
        },
      },
      '/v1/printers': { get: { summary: 'The printers this key may print to', security, responses: { '200': { description: 'ok', content: json('Printers') }, ...errors(401, 403) } } },
      '/v1/print-jobs/{job}': {
        get: { summary: 'Where a print job stands: delivered, failed (kept for a retry), expired or cancelled (never to be sent; `lastError` says why)', security, parameters: [jobParam], responses: { '200': { description: 'ok', content: json('PrintJob') }, ...errors(401, 403, 404) } },
      },
      '/v1/print-jobs/{job}/retry': {
        post: {
          summary: 'Send a kept job again, to the printer’s current address',
          description: 'A job whose waybill was cancelled since is cancelled instead (409 `cancelled`; 410 when a waybill of it is purged or past retention), its bytes destroyed.',
          security,
          parameters: [jobParam],
          responses: { '200': { description: 'delivered', content: json('PrintSent') }, ...errors(401, 403, 404, 409, 410, 502) },
        },
      },
      '/v1/batches': {
        post: {
          summary: 'Create up to 10,000 waybills in one streamed document (role: warehouse)',
          description:
            'Every order is validated first; nothing is created if any is bad (422 lists each index and field path). Body: `{"orders": [...]}`, an array, or `application/x-ndjson`. ' +
            'A client runs at most WAYBILL_MAX_CONCURRENT_BATCHES_PER_CLIENT batches at once across all instances (503 with Retry-After beyond). A client that reads nothing of the document for WAYBILL_BATCH_IDLE_SECONDS is cut off; nothing of its batch is recorded.',
          security,
          parameters: queryParameters(LabelQuery),
          requestBody: { required: true, content: { ...json('Batch'), 'application/x-ndjson': { schema: { type: 'string' } } } },
          responses: { '201': { description: 'the labels, streamed', content: { ...label, 'application/json': { schema: { type: 'array', items: ref('WaybillCreated') } } } }, ...errors(400, 401, 403, 406, 409, 413, 415, 422, 503) },
        },
      },
      '/v1/previews': {
        post: {
          summary: 'What the paper of a create or a batch would show, stamped 样张 / PREVIEW; creates nothing (warehouse, printer, admin)',
          description:
            'Body: one order (as `POST /v1/waybills`), or `{"orders": [...]}`, an array, or `application/x-ndjson` (as `POST /v1/batches`). Orders are validated and screened ' +
            'exactly as for a print (422 with field paths and order indexes); order ids are not checked for reuse. Format by `Accept` or `?format=` as for labels (PDF by default). ' +
            'Every label is stamped 样张 (zh templates) or PREVIEW (en); the Code128 and the QR both encode the text `PREVIEW`, the waybill number is a placeholder in the ' +
            "carrier's form with X for every digit, copy codes read 样张 / PREVIEW, and phones show as paper does without a relay number (masked, plus the carrier's service number). " +
            'No waybill, relay binding, copy code, print job, lease or audit record is written, and the relay provider is not asked. JSON answers an array, one entry per order.',
          security,
          parameters: queryParameters(LabelQuery),
          requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [ref('Order'), ref('Batch'), { type: 'array', items: ref('Order') }] } }, 'application/x-ndjson': { schema: { type: 'string' } } } },
          responses: { '200': { description: 'the stamped labels, streamed', content: { ...label, 'application/json': { schema: { type: 'array', items: ref('PreviewEntry') } } } }, ...errors(400, 401, 403, 406, 413, 415, 422, 429, 503) },
        },
      },
      '/v1/scan/{token}': {
        get: {
          summary: "A courier's handheld exchanges a QR token for the delivery details (role: courier)",
          security,
          parameters: [
            { name: 'token', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'purpose', in: 'query', required: true, schema: { type: 'string', enum: [...SCAN_PURPOSES] } },
          ],
          responses: { '200': { description: 'recipient details, audited' }, ...errors(400, 401, 403, 404, 410, 429) },
        },
      },
      '/v1/relay/resolve': {
        post: {
          summary: 'Where a relay call goes (role: telephony)',
          description:
            'Bridge: call `target` and, when the answer has `targetExtension`, dial those digits once it answers (the real party\'s extension, absent when there is none); ' +
            'hang up after `timeLimitSeconds`. Reject: play `announcement`. ' +
            'Rate-limited per credential (429); too many `unknown` answers in a minute (a sweep) suspend the client (403 until reinstated).',
          security,
          responses: { '200': { description: 'bridge or reject', content: json('RelayResolved') }, ...errors(401, 403, 422, 429) },
        },
      },
      '/v1/relay/calls': { post: { summary: 'A call receipt, idempotent by call id (role: telephony)', security, responses: { '201': { description: 'recorded' }, '200': { description: 'duplicate' }, ...errors(401, 403, 409, 422, 429) } } },
      '/healthz': { get: { summary: 'The process is up', responses: { '200': { description: 'ok' } } } },
      '/readyz': { get: { summary: 'The store is reachable', responses: { '200': { description: 'ready' }, ...errors(503) } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' } } } },
    },
  };
}

/** A readable page of the operations, with no script or outside asset (the service may run offline). */
export function docsPage(doc: Record<string, unknown>): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const paths = doc.paths as Record<string, Record<string, { summary?: string; description?: string; responses?: Record<string, { description: string }> }>>;
  const ops = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(
      ([method, op]) =>
        `<section><h2><code>${method.toUpperCase()} ${esc(path)}</code></h2><p>${esc(op.summary ?? '')}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}` +
        `<ul>${Object.entries(op.responses ?? {}).map(([code, r]) => `<li><b>${code}</b> ${esc(r.description)}</li>`).join('')}</ul></section>`,
    ),
  );
  const info = doc.info as { title: string; description: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} — API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}code{background:#f4f4f4;padding:0 .2em}section{border-top:1px solid #ddd}</style></head>
<body><h1>${esc(info.title)}</h1><p>${esc(info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>${ops.join('\n')}</body></html>`;
}
