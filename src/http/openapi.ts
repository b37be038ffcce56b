// The OpenAPI 3.1 document, generated from the zod schemas the routes validate requests with and build
// their answers through (src/validation/present.ts), as zod's own JSON Schema (2020-12, which OpenAPI 3.1
// uses as is). Examples are checked against their schema when the document is built. Each resource is a
// block (paths + component schemas); add a block function and list it in `blocks` below.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../config/config';
import { Address, ADDRESS_INPUTS, Order } from '../order/orderSchema';
import { WaybillEvent } from '../waybills/lifecycle';
import { POSTED_EVENTS } from '../waybills/transitions';
import { WAYBILL_STATUSES } from '../waybills/waybillStore';
import { SCAN_PURPOSES } from '../waybills/scanAccess';
import { FORMAT_NAMES, OUTPUT_FORMATS } from '../render/outputFormats';
import { DocumentEntry } from '../printing/waybillSink';
import { example } from '../validation/present';
import { LabelQuery } from './labelFormat';
import { PrintBody, PrintFailedProblem, PrintJobView, PrintQueued, PrintSent, PrinterList } from './printerRoutes';
import { Problem, problemHead } from './problem';
import { CallReceipt, RelayCallReceipt, RelayResolveAnswer, ResolveRequest } from './relayRoutes';
import { ScanAnswer } from './scanAnswer';
import { EventResult, WaybillCreated, WaybillViewBody } from './waybillRoutes';
import { History, SearchPage, SearchQuery } from './searchRoutes';
import { AlertPage, AlertQuery } from './alertRoutes';
import { BatchView } from './batchRoutes';
import { TemplateList } from './templateRoutes';
import { RedeliveryScheduled, SecretRotated, WebhookCreated, WebhookList } from './webhookRoutes';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_PAYLOADS, type WebhookEventType } from '../webhooks/events';
import { NewWebhook } from '../webhooks/webhooks';
import { ArrivalAnswer, ArrivalRequest, CodeArrivalRequest, StationAnswer, VerifyAnswer, VerifyRequest } from './stationRoutes';
import { STATION_SUSPENDED } from '../stations/stationHandoff';
import { CurrentDevice, DeviceList, DevicePaired, PairRequest, PairingIssued } from './courierDeviceRoutes';

/** What the document states from the running configuration. */
export interface DocumentSettings {
  /** WAYBILL_BATCH_MAX_ORDERS: the most orders a batch or a preview takes. */
  batchMaxOrders: number;
}
const DEFAULT_SETTINGS: DocumentSettings = { batchMaxOrders: 10_000 };

/** A resource's part of the document: its paths and the component schemas they refer to. */
export interface DocumentBlock {
  paths: Record<string, unknown>;
  schemas?: Record<string, unknown>;
  /** OpenAPI 3.1 `webhooks`: requests this service sends (by event type). */
  webhooks?: Record<string, unknown>;
}

// ---- building blocks ---------------------------------------------------------------------------------

/** A request body's schema: what a client may send (zod's input side; addresses in every accepted shape). */
export function requestSchema(s: z.ZodType): Record<string, unknown> {
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

/** A response body's schema: what the presenter builds (zod's output side). */
export function responseSchema(s: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const security = [{ bearer: [] }];

/** A JSON request body with its example (checked against the zod schema). */
export function jsonRequest<S extends z.ZodType>(name: string, schema: S, value: z.input<S>, more: Record<string, unknown> = {}) {
  return { required: true, content: { 'application/json': { schema: ref(name), example: example(schema, value) }, ...more } };
}

/** A JSON answer with its example (checked against the zod schema the presenter builds through). */
export function jsonAnswer<S extends z.ZodType>(description: string, name: string, schema: S, value: z.input<S>, more: Record<string, unknown> = {}) {
  return { description, content: { 'application/json': { schema: ref(name), example: example(schema, value) }, ...more } };
}

/** Label formats other than JSON (PDF, PNG and the printer languages), as binary bodies. */
const labelContent = Object.fromEntries(FORMAT_NAMES.filter((f) => f !== 'json').map((f) => [OUTPUT_FORMATS[f].mediaType, { schema: { type: 'string', contentMediaType: OUTPUT_FORMATS[f].mediaType } }]));

/** What a label could not show as given (the JSON body's `warnings`), on every answer that prints one. */
const labelWarnings = {
  headers: {
    'Waybill-Warnings': {
      description: 'one line per warning, when there are any: a character the font cannot draw, a field shortened to fit its box, no relay number bound (names copies and fields, never values)',
      schema: { type: 'string' },
    },
  },
};

/** The error code each status is usually answered with (for the examples). */
const PROBLEMS: Record<number, { code: string; text: string; detail: string }> = {
  400: { code: 'bad_request', text: 'malformed request (not JSON, an object naming a property twice, or a scan without a valid purpose: `invalid_purpose`)', detail: 'the body is not valid JSON' },
  401: { code: 'unauthenticated', text: 'no valid credential (after a burst of them from one address: 429)', detail: 'a valid API key is required' },
  403: { code: 'forbidden', text: 'the role may not do this (`forbidden`), or the credential is suspended (`suspended`)', detail: 'this role may not do this' },
  404: { code: 'not_found', text: 'not found (or not yours)', detail: 'no such waybill' },
  406: { code: 'not_acceptable', text: 'no acceptable format', detail: 'none of the accepted media types can be produced' },
  409: { code: 'conflict', text: 'conflict', detail: 'a conflicting request was already recorded' },
  410: { code: 'gone', text: 'the waybill is past its life (purged or past retention)', detail: 'this waybill is no longer live' },
  413: { code: 'payload_too_large', text: 'body too large, or too many orders', detail: 'the body is too large' },
  415: { code: 'unsupported_media_type', text: 'unsupported media type', detail: 'send application/json' },
  422: { code: 'invalid_input', text: 'invalid input, with field paths (and order indexes in a batch)', detail: 'the order is invalid' },
  429: { code: 'limited', text: 'rate limited (per credential, or failed credentials per address); see Retry-After', detail: 'too many requests; retry later' },
  502: { code: 'printer_unreachable', text: 'the printer did not take the job; it is kept for a retry', detail: 'the printer did not take the job' },
  503: { code: 'unavailable', text: 'busy or shutting down; see Retry-After', detail: 'the service is busy; retry shortly' },
};

export function problemExample(status: number, over: Partial<{ code: string; detail: string }> & Record<string, unknown> = {}) {
  const { code = PROBLEMS[status]?.code ?? 'internal', detail = PROBLEMS[status]?.detail ?? 'internal error', ...extra } = over;
  const value = { ...extra, ...problemHead(code), status, detail, requestId: '7b0e6a52-3c8f-4f4e-9d3a-2f1c5e8a9b10' };
  return example(Problem, value);
}

/**
 * Problem answers by status; `says` replaces the generic description (and example) where an operation
 * means something particular by a status.
 */
/** What a request that takes nothing answers to a body that asks for something (body.ts `noBody`). */
const NO_BODY = { 422: { text: 'a body that asks for something: this request takes none (no body, or `{}`)', detail: 'this request takes no body: send none, or {}' } };

export function errors(codes: number[], says: Record<number, string | { text: string; code?: string; detail?: string; schema?: string; example?: unknown }> = {}) {
  return Object.fromEntries(
    codes.map((status) => {
      const own = says[status];
      const o = typeof own === 'string' ? { text: own } : own;
      const content = {
        'application/problem+json': {
          schema: ref(o?.schema ?? 'Problem'),
          example: o?.example ?? problemExample(status, { ...(o?.code ? { code: o.code } : {}), ...(o?.detail ? { detail: o.detail } : {}) }),
        },
      };
      return [String(status), { description: o?.text ?? PROBLEMS[status]?.text ?? 'error', content }];
    }),
  );
}

function queryParameters(s: z.ZodObject) {
  return Object.entries(s.shape).map(([name, field]) => {
    const schema = requestSchema(field as z.ZodType);
    const description = schema.description;
    delete schema.description;
    return { name, in: 'query', required: false, schema, ...(description ? { description } : {}) };
  });
}
const jobParam = { name: 'job', in: 'path', required: true, description: 'print job id', schema: { type: 'string', format: 'uuid' }, example: '5d8c7b3e-2a41-4c55-9e0f-7a6b1c2d3e4f' };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'waybill id (UUID) or waybill number', example: '73512604918372' };

// ---- example values ------------------------------------------------------------------------------------

// The sample order of the README (samples/order.json); made-up names and numbers only.
const SAMPLE_ORDER_FILE = path.join(PACKAGE_ROOT, 'samples', 'order.json');
const FALLBACK_ORDER: z.input<typeof Order> = {
  orderId: 'SO-30001',
  carrier: 'ZT',
  sender: { name: '司马承志', phone: '021-6888 3210', address: { country: 'CN', province: '上海市', city: '上海市', district: '浦东新区', street: '张江路 1288 号' } },
  recipient: { name: '欧阳晓岚', phone: '13962584017', address: { country: 'CN', province: '浙江省', city: '杭州市', district: '西湖区', street: '文三路 478 号' } },
  parcel: { weightKg: 1.2, pieces: 1, contents: '服装' },
};
function sampleOrder(): z.input<typeof Order> {
  try {
    return JSON.parse(fs.readFileSync(SAMPLE_ORDER_FILE, 'utf8')) as z.input<typeof Order>;
  } catch {
    return FALLBACK_ORDER;
  }
}

const EX = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e',
  waybillNo: '73512604918372',
  job: '5d8c7b3e-2a41-4c55-9e0f-7a6b1c2d3e4f',
  binding: '3b9e1f0a-6c2d-4e8b-a7f5-1d2c3b4a5e6f',
  relayRecipient: '170 0000 0001 转 0042',
  relaySender: '170 0000 0001 转 0043',
  sender: { area: '上海市 浦东新区', areaCode: '310115' },
  recipient: { area: '浙江省杭州市 西湖区', areaCode: '330106' },
};
const links = { self: `/v1/waybills/${EX.id}`, label: `/v1/waybills/${EX.id}/label`, print: `/v1/waybills/${EX.id}/print`, events: `/v1/waybills/${EX.id}/events` };
const shownFields = {
  service: '标准快递',
  routingCode: '571-W12',
  'sender.name': '司马**',
  'sender.phone': EX.relaySender,
  'sender.area': EX.sender.area,
  'recipient.name': '欧阳**',
  'recipient.phone': EX.relayRecipient,
  'recipient.area': EX.recipient.area,
  'parcel.weight': '1.2 kg',
  'parcel.pieces': '1',
  'parcel.contents': '服装',
};
const createdExample = {
  id: EX.id,
  waybillNo: EX.waybillNo,
  orderId: 'SO-30001',
  template: 'cn-2ply-100x150',
  dpi: 203,
  sender: EX.sender,
  recipient: EX.recipient,
  relay: { recipient: EX.relayRecipient, sender: EX.relaySender },
  qr: 'https://waybill.example/w/q7Zt2VxK9mPbR4nL8cYdWf',
  copies: [
    { copy: 'courier' as const, fields: shownFields, barcode: EX.waybillNo, qr: 'https://waybill.example/w/q7Zt2VxK9mPbR4nL8cYdWf' },
    { copy: 'recipient' as const, fields: { ...shownFields, routingCode: '571-W12' }, barcode: EX.waybillNo },
  ],
  warnings: [],
  links,
};
const entryExample = (preview: boolean) => ({
  orderIndex: 0,
  orderId: 'SO-30001',
  waybillNo: preview ? '7XXXXXXXXXXXXX' : EX.waybillNo,
  sender: EX.sender,
  recipient: EX.recipient,
  copies: [
    preview
      ? { copy: 'courier' as const, copyCode: '样张', fields: { ...shownFields, 'recipient.phone': '*******4017 / 95311', 'sender.phone': '*******3210 / 95311' }, barcode: 'PREVIEW', qr: 'PREVIEW', watermark: '样张' }
      : { copy: 'courier' as const, copyCode: 'K7M2Q9', fields: shownFields, barcode: EX.waybillNo, qr: 'https://waybill.example/w/q7Zt2VxK9mPbR4nL8cYdWf' },
  ],
});

// ---- blocks ------------------------------------------------------------------------------------------

function waybillBlock(): DocumentBlock {
  const order = sampleOrder();
  return {
    schemas: {
      Order: requestSchema(Order),
      Event: requestSchema(WaybillEvent),
      WaybillCreated: responseSchema(WaybillCreated),
      WaybillView: responseSchema(WaybillViewBody),
      EventResult: responseSchema(EventResult),
      TransitionProblem: responseSchema(
        Problem.extend({
          currentStatus: z.enum(WAYBILL_STATUSES).describe('the state the waybill is in'),
          allowedEvents: z.array(z.enum(POSTED_EVENTS)).describe('the events this state takes now'),
        }),
      ),
    },
    paths: {
      '/v1/waybills': {
        post: {
          operationId: 'createWaybill',
          tags: ['waybills'],
          summary: 'Create a waybill from one order (role: warehouse)',
          description:
            'Answers JSON (what each copy will show, the QR payload, relay numbers, links) or the label itself when `Accept` or `?format=` asks for it. ' +
            'A JSON answer creates the waybill without paper: the first label fetched later is print 1 (`POST /v1/previews` creates nothing). Send `Idempotency-Key` to make retries safe. ' +
            'The new waybill is named in `Location`.',
          security,
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: false, description: 'a retry with the same key and body answers the first answer again (Idempotent-Replayed: true; audited as that print), while the waybill may still be printed', schema: { type: 'string', minLength: 8, maxLength: 255 } },
            ...queryParameters(LabelQuery),
          ],
          requestBody: jsonRequest('Order', Order, order),
          responses: {
            '201': { ...jsonAnswer('created; `Location` names the waybill', 'WaybillCreated', WaybillCreated, createdExample, labelContent), ...labelWarnings },
            ...errors([400, 401, 403, 406, 409, 410, 413, 415, 422, 429, 503], {
              409: { text: 'this order id is already used by a waybill of this client (`conflict`), the same Idempotency-Key is still running (`in_progress`), or a replay of a waybill since cancelled (`cancelled`)', detail: `a waybill already exists for this order id: /v1/waybills/${EX.id}` },
              410: { text: 'a replay of a waybill past its life (`gone`): its label is no longer given out', code: 'gone', detail: 'this waybill is past its life; its data is destroyed' },
              422: { text: 'invalid order, with field paths; or an Idempotency-Key reused with another body (`idempotency_mismatch`)', example: problemExample(422, { detail: 'the order is invalid', errors: [{ path: 'recipient.phone', message: 'not a valid phone number (default region CN)' }] }) },
            }),
          },
        },
      },
      '/v1/waybills/{id}': {
        get: {
          operationId: 'getWaybill',
          tags: ['waybills'],
          summary: 'The masked view of a waybill (warehouse, printer, admin)',
          security,
          parameters: [idParam],
          responses: {
            '200': jsonAnswer('the masked view', 'WaybillView', WaybillViewBody, {
              id: EX.id,
              waybillNo: EX.waybillNo,
              orderId: 'SO-30001',
              carrier: 'ZT',
              status: 'printed',
              createdAt: '2026-05-04T08:30:00.000Z',
              purgeAfter: '2026-08-02T08:30:00.000Z',
              relayUnavailable: false,
              shows: { 'recipient.name': '欧阳**', 'recipient.phone': EX.relayRecipient, 'recipient.area': EX.recipient.area, 'parcel.weight': '1.2 kg' },
              sender: EX.sender,
              recipient: EX.recipient,
              links,
            }),
            ...errors([401, 403, 404, 422, 429]),
          },
        },
      },
      '/v1/waybills/{id}/label': {
        get: {
          operationId: 'getLabel',
          tags: ['waybills'],
          summary: 'Print the label (again): the second paper says REPRINT #1 (重印 第1次), the third #2, and so on',
          description:
            'Each label in a paper format is a recorded print (`X-Print-Number`). JSON is a view of what the next paper would print: no print number, no copy code. ' +
            'A cancelled waybill answers 409 (`cancelled`); one purged or past its retention 410.',
          security,
          parameters: [idParam, ...queryParameters(LabelQuery)],
          responses: {
            '200': { ...jsonAnswer('the label (PDF by default), or with `format=json` what it shows', 'WaybillCreated', WaybillCreated, createdExample, labelContent), ...labelWarnings },
            ...errors([401, 403, 404, 406, 409, 410, 422, 429], { 409: { text: 'the waybill is cancelled (`cancelled`)', code: 'cancelled', detail: 'this waybill is cancelled' } }),
          },
        },
      },
      '/v1/waybills/{id}/events': {
        post: {
          operationId: 'postWaybillEvent',
          tags: ['waybills'],
          summary: 'Record a lifecycle event, as the state machine allows (see the README diagram)',
          description:
            'Couriers post picked_up (of a waybill they scanned with purpose pickup, or one assigned to their outlet), handed_over, and delivered/returned ' +
            '(only of a parcel they hold); warehouses cancelled (before pickup); admins assigned, picked_up, delivered, returned, cancelled, after_sales and ' +
            'correction (any state, with a reason); parcel stations delivered (of a parcel they hold, after a `POST /v1/stations/verify` match). An event the current state does not allow is 409 `invalid_transition`, naming the current state and the ' +
            'allowed events. Couriers are limited per minute (429), and a burst of closing events suspends the courier (403 `suspended`).',
          security,
          parameters: [idParam],
          requestBody: jsonRequest('Event', WaybillEvent, { type: 'picked_up' }),
          responses: {
            '201': jsonAnswer('recorded', 'EventResult', EventResult, { waybillNo: EX.waybillNo, status: 'picked_up', purgeAfter: '2026-08-02T08:30:00.000Z' }),
            ...errors([400, 401, 403, 404, 409, 410, 415, 422, 429], {
              409: {
                text: 'invalid_transition: the current state does not allow this event',
                schema: 'TransitionProblem',
                example: problemExample(409, { code: 'invalid_transition', detail: 'a delivered waybill does not take picked_up', currentStatus: 'delivered', allowedEvents: ['after_sales'] }),
              },
            }),
          },
        },
      },
      '/v1/waybills/{id}/print': {
        post: {
          operationId: 'printWaybill',
          tags: ['printers'],
          summary: 'Send the label to a registered network printer (warehouse, printer, admin)',
          description:
            "Rendered in the printer's language and resolution and sent over raw TCP (port 9100). A refused or unreachable printer is retried a few times; " +
            'if it still does not take the job, the answer is 502 naming the kept job (`job`, `links.retry`), which `POST /v1/print-jobs/{job}/retry` sends again ' +
            'with the same print number. A new print of the waybill replaces a kept, undelivered job of it (cancelled) and reuses its number. ' +
            'A cancelled waybill answers 409 (`cancelled`); one purged or past its retention 410. ' +
            'A printer behind a warehouse agent (`via: agent` in `GET /v1/printers`; the agent connects out to the WebSocket `GET /v1/agent` with a printer-role key) ' +
            'gets the job through its agent: 200 when the agent acknowledges within about 10 s, else 202 (`pending` while the agent is offline — the job is kept ' +
            'and goes out when it reconnects — or `sending`); `GET /v1/print-jobs/{job}` follows it. A job the agent reports failed is kept for a retry (502).',
          security,
          parameters: [idParam],
          requestBody: jsonRequest('PrintRequest', PrintBody, { printer: 'line-1' }),
          responses: {
            '200': { ...jsonAnswer('the printer took every byte', 'PrintSent', PrintSent, { job: EX.job, printer: 'line-1', status: 'delivered', attempts: 1, waybillNo: EX.waybillNo, printNo: 1, labels: 2, links: { self: `/v1/print-jobs/${EX.job}` } }), ...labelWarnings },
            '202': jsonAnswer('an agent printer: the job is kept and goes out through the agent', 'PrintQueued', PrintQueued, { job: EX.job, printer: 'dock-2', status: 'pending', waybillNo: EX.waybillNo, printNo: 1, labels: 2, links: { self: `/v1/print-jobs/${EX.job}` } }),
            ...errors([401, 403, 404, 409, 410, 415, 422, 429, 502], {
              404: 'no such waybill, or no printers are configured on this service',
              409: { text: 'the waybill is cancelled (`cancelled`)', code: 'cancelled', detail: 'this waybill is cancelled' },
              422: 'invalid print request, or a printer this key may not use',
              502: { text: 'the printer did not take the job; it is kept for a retry', schema: 'PrintFailedProblem', example: printFailedExample() },
            }),
          },
        },
      },
    },
  };
}

function printFailedExample() {
  return example(PrintFailedProblem, {
    type: 'https://waybill.example/problems/printer_unreachable',
    title: 'printer unreachable',
    status: 502,
    detail: `printer line-1 (192.0.2.10:9100): connection refused; the job is kept, retry it with POST /v1/print-jobs/${EX.job}/retry`,
    requestId: '7b0e6a52-3c8f-4f4e-9d3a-2f1c5e8a9b10',
    job: EX.job,
    printer: 'line-1',
    jobStatus: 'failed',
    attempts: 3,
    waybillNo: EX.waybillNo,
    printNo: 1,
    labels: 2,
    links: { self: `/v1/print-jobs/${EX.job}`, retry: `/v1/print-jobs/${EX.job}/retry` },
  });
}

function printerBlock(): DocumentBlock {
  return {
    schemas: {
      PrintRequest: requestSchema(PrintBody),
      PrintSent: responseSchema(PrintSent),
      PrintQueued: responseSchema(PrintQueued),
      PrintFailedProblem: responseSchema(PrintFailedProblem),
      PrintJob: responseSchema(PrintJobView),
      Printers: responseSchema(PrinterList),
    },
    paths: {
      '/v1/printers': {
        get: {
          operationId: 'listPrinters',
          tags: ['printers'],
          summary: 'The printers this key may print to',
          security,
          responses: { '200': jsonAnswer('the printers', 'Printers', PrinterList, { printers: [{ name: 'line-1', language: 'zpl', dpi: 203, template: 'cn-2ply-100x150', via: 'network' }, { name: 'dock-2', language: 'tspl', dpi: 203, via: 'agent', online: true }] }), ...errors([401, 403, 422, 429]) },
        },
      },
      '/v1/print-jobs/{job}': {
        get: {
          operationId: 'getPrintJob',
          tags: ['printers'],
          summary: 'Where a print job stands: delivered, failed (kept for a retry), expired or cancelled (never to be sent; `lastError` says why)',
          security,
          parameters: [jobParam],
          responses: {
            '200': jsonAnswer('the job', 'PrintJob', PrintJobView, {
              job: EX.job,
              printer: 'line-1',
              status: 'failed',
              attempts: 3,
              bytes: 18342,
              createdAt: '2026-05-04T08:31:00.000Z',
              updatedAt: '2026-05-04T08:31:04.000Z',
              lastError: 'printer line-1 (192.0.2.10:9100): connection refused',
              links: { self: `/v1/print-jobs/${EX.job}`, retry: `/v1/print-jobs/${EX.job}/retry` },
            }),
            ...errors([401, 403, 404, 422, 429], { 404: 'no such print job (or not yours)' }),
          },
        },
      },
      '/v1/print-jobs/{job}/retry': {
        post: {
          operationId: 'retryPrintJob',
          tags: ['printers'],
          summary: 'Send a kept job again, to the printer’s current address',
          description:
            'A job whose waybill was cancelled since is cancelled instead (409 `cancelled`; 410 when a waybill of it is purged or past retention), its bytes destroyed. ' +
            'A job for an agent printer goes back to its agent: 200 when acknowledged within about 10 s, else 202 (`pending` until the agent connects).',
          security,
          parameters: [jobParam],
          responses: {
            '200': jsonAnswer('delivered', 'PrintSent', PrintSent, { job: EX.job, printer: 'line-1', status: 'delivered', attempts: 4, links: { self: `/v1/print-jobs/${EX.job}` } }),
            '202': jsonAnswer('an agent printer: queued for its agent', 'PrintQueued', PrintQueued, { job: EX.job, printer: 'dock-2', status: 'pending', links: { self: `/v1/print-jobs/${EX.job}` } }),
            ...errors([400, 401, 403, 404, 409, 410, 415, 422, 429, 502], {
              ...NO_BODY,
              404: 'no such print job (or not yours)',
              409: { text: 'the waybill was cancelled since: the job is cancelled (`cancelled`)', code: 'cancelled', detail: 'the waybill of this job is cancelled; the job is cancelled' },
              502: { text: 'the printer did not take the job; it is kept for another retry', schema: 'PrintFailedProblem', example: printFailedExample() },
            }),
          },
        },
      },
    },
  };
}

function batchBlock(settings: DocumentSettings): DocumentBlock {
  const max = settings.batchMaxOrders;
  const Batch = z.object({ orders: z.array(Order).min(1).max(max) }).strict();
  const order = sampleOrder();
  return {
    schemas: { Batch: requestSchema(Batch), BatchEntry: responseSchema(DocumentEntry), PreviewEntry: responseSchema(DocumentEntry) },
    paths: {
      '/v1/batches': {
        post: {
          operationId: 'createBatch',
          tags: ['batches'],
          summary: `Create up to ${max.toLocaleString('en')} waybills in one streamed document (role: warehouse)`,
          description:
            'Every order is validated first; nothing is created if any is bad (422 lists each index and field path). Body: `{"orders": [...]}`, an array, or `application/x-ndjson`. ' +
            'NDJSON is read as it arrives, a line at a time (prefer it for large batches): a line that is no JSON (422) or one order too many (413) is answered before the upload ends; a body of either kind whose bytes are no UTF-8 is 400. ' +
            `At most ${max} orders (WAYBILL_BATCH_MAX_ORDERS; 413 beyond). ` +
            'A client runs at most WAYBILL_MAX_CONCURRENT_BATCHES_PER_CLIENT batches at once across all instances (503 with Retry-After beyond). A client that reads nothing of the document for WAYBILL_BATCH_IDLE_SECONDS is cut off; nothing of its batch is recorded. ' +
            '`X-Waybill-Count` says how many waybills the document holds.',
          security,
          parameters: queryParameters(LabelQuery),
          requestBody: jsonRequest('Batch', Batch, { orders: [order] }, { 'application/x-ndjson': { schema: { type: 'string' }, example: `${JSON.stringify(order)}\n` } }),
          responses: {
            '201': {
              description: 'the labels, streamed (PDF by default); with `format=json` one entry per waybill',
              content: { ...labelContent, 'application/json': { schema: { type: 'array', items: ref('BatchEntry') }, example: [example(DocumentEntry, entryExample(false))] } },
            },
            ...errors([400, 401, 403, 406, 409, 413, 415, 422, 429, 503], {
              409: { text: 'an order id is already used by a waybill of this client, or repeated in the batch', detail: 'an order id of this batch is already used' },
              422: { text: 'invalid orders, each with its index and field paths; nothing is created', example: problemExample(422, { detail: 'orders are invalid', errors: [{ index: 3, path: 'recipient.phone', message: 'not a valid phone number (default region CN)' }] }) },
              413: `the body is too large, or more than ${max} orders`,
            }),
          },
        },
      },
      '/v1/previews': {
        post: {
          operationId: 'preview',
          tags: ['batches'],
          summary: 'What the paper of a create or a batch would show, stamped 样张 / PREVIEW; creates nothing (warehouse, printer, admin)',
          description:
            'Body: one order (as `POST /v1/waybills`), or `{"orders": [...]}`, an array, or `application/x-ndjson` (as `POST /v1/batches`). Orders are validated and screened ' +
            'exactly as for a print (422 with field paths and order indexes); order ids are not checked for reuse. Format by `Accept` or `?format=` as for labels (PDF by default). ' +
            'Every label is stamped 样张 (zh templates) or PREVIEW (en); the Code128 and the QR both encode the text `PREVIEW`, the waybill number is a placeholder in the ' +
            "carrier's form with X for every digit, copy codes read 样张 / PREVIEW, and phones show as paper does without a relay number (masked, plus the carrier's service number). " +
            'No waybill, relay binding, copy code, print job, lease or audit record is written, and the relay provider is not asked. JSON answers an array, one entry per order.',
          security,
          parameters: queryParameters(LabelQuery),
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { oneOf: [ref('Order'), ref('Batch'), { type: 'array', items: ref('Order') }] }, example: example(Order, order) },
              'application/x-ndjson': { schema: { type: 'string' }, example: `${JSON.stringify(order)}\n` },
            },
          },
          responses: {
            '200': {
              description: 'the stamped labels, streamed',
              content: { ...labelContent, 'application/json': { schema: { type: 'array', items: ref('PreviewEntry') }, example: [example(DocumentEntry, entryExample(true))] } },
            },
            ...errors([400, 401, 403, 406, 413, 415, 422, 429, 503]),
          },
        },
      },
    },
  };
}

function scanBlock(): DocumentBlock {
  const order = sampleOrder();
  return {
    schemas: { ScanAnswer: responseSchema(ScanAnswer) },
    paths: {
      '/v1/scan/{token}': {
        get: {
          operationId: 'scan',
          tags: ['scan'],
          summary: "A courier's handheld exchanges a QR token for the delivery details (role: courier)",
          description:
            'The QR encodes `<scan base URL>/w/<token>`; the handheld sends the token with a stated purpose and a courier credential (`wbc_…`). Every scan is audited. ' +
            "Another carrier's token answers 404 like an unknown one. Couriers are limited per minute and per day in distinct waybills (429); a harvesting pattern suspends the courier (403 `suspended`).",
          security,
          parameters: [
            { name: 'token', in: 'path', required: true, description: 'the token from the QR URL', schema: { type: 'string' }, example: 'q7Zt2VxK9mPbR4nL8cYdWf' },
            { name: 'purpose', in: 'query', required: true, description: 'why the courier scans: `return` also answers the sender (for the courier holding the parcel, or an after-sales pickup)', schema: { type: 'string', enum: [...SCAN_PURPOSES] }, example: 'delivery' },
          ],
          responses: {
            '200': jsonAnswer('the delivery details, audited; never cached', 'ScanAnswer', ScanAnswer, {
              waybillNo: EX.waybillNo,
              carrier: 'ZT',
              status: 'picked_up',
              purpose: 'delivery',
              recipient: {
                name: order.recipient.name,
                phone: EX.relayRecipient,
                dial: { number: '+8617000000001', extension: '0042' },
                address: { country: 'CN', province: '浙江省', city: '杭州市', district: '西湖区', street: '文三路 478 号', detail: '华星时代广场 B 座 1602 室', postalCode: '310012', areaCode: '330106' },
              },
              parcel: order.parcel,
              routingCode: '571-W12',
              validUntil: '2026-08-02T08:30:00.000Z',
            }),
            ...errors([400, 401, 403, 404, 410, 429], {
              400: { text: 'no valid purpose (`invalid_purpose`)', code: 'invalid_purpose', detail: 'purpose must be one of delivery, pickup, return, customer-service' },
              401: 'no valid courier credential',
              403: 'the courier is suspended or revoked (`suspended`); or (`forbidden`) the parcel is delivered or returned and this courier does not hold it (no after-sales request), `return` by a courier not holding the parcel, or (strict mode) the waybill is not on its routes',
              404: { text: 'unknown token (or another carrier’s)', detail: 'unknown token' },
              410: 'the waybill is cancelled, purged or past retention',
            }),
          },
        },
      },
    },
  };
}

function relayBlock(): DocumentBlock {
  const receipt = { callId: 'pbx-7f3a-000123', bindingId: EX.binding, startedAt: '2026-05-05T09:12:03+08:00', answeredAt: '2026-05-05T09:12:09+08:00', endedAt: '2026-05-05T09:14:41+08:00', releaseCause: 'normal_clearing' };
  return {
    schemas: {
      RelayResolveRequest: requestSchema(ResolveRequest),
      RelayResolveAnswer: responseSchema(RelayResolveAnswer),
      RelayCallReceiptRequest: requestSchema(CallReceipt),
      RelayCallReceipt: responseSchema(RelayCallReceipt),
    },
    paths: {
      '/v1/relay/resolve': {
        post: {
          operationId: 'relayResolve',
          tags: ['relay'],
          summary: 'Where a relay call goes (role: telephony)',
          description:
            "Bridge: call `target` and, when the answer has `targetExtension`, dial those digits once it answers (the real party's extension, absent when there is none); " +
            'hang up after `timeLimitSeconds`. Reject: play `announcement`. ' +
            'Rate-limited per credential (429). Too many `unknown` answers in a minute or an hour (a sweep), or answers reaching too many distinct bindings in an hour or a day (a harvest), ' +
            'suspend the client (403 until reinstated); the answer that crosses the limit is itself the 403 and carries no number.',
          security,
          requestBody: jsonRequest('RelayResolveRequest', ResolveRequest, { to: '+8617000000001', ext: '0042', from: '+8613800138000' }),
          responses: {
            '200': {
              ...jsonAnswer('bridge or reject', 'RelayResolveAnswer', RelayResolveAnswer, { action: 'bridge', bindingId: EX.binding, target: '+8613962584017', timeLimitSeconds: 600 }),
            },
            ...errors([400, 401, 403, 415, 422, 429], {
              401: 'no valid telephony credential',
              403: { text: 'the telephony client is suspended until an operator reinstates it', code: 'suspended', detail: 'this telephony client is suspended until an operator reinstates it' },
              422: { text: 'invalid resolve request, with field paths', example: problemExample(422, { detail: 'the resolve request is invalid', errors: [{ path: 'ext', message: 'must be 1–4 digits' }] }) },
            }),
          },
        },
      },
      '/v1/relay/calls': {
        post: {
          operationId: 'relayCallReceipt',
          tags: ['relay'],
          summary: 'A call receipt, idempotent by call id (role: telephony)',
          description: 'The PBX reports how a relay call went. The same receipt again answers 200 `duplicate`; a different receipt under a recorded call id is 409.',
          security,
          requestBody: jsonRequest('RelayCallReceiptRequest', CallReceipt, receipt),
          responses: {
            '201': jsonAnswer('recorded', 'RelayCallReceipt', RelayCallReceipt, { callId: receipt.callId, outcome: 'recorded' }),
            '200': jsonAnswer('the same receipt was recorded before (a retry)', 'RelayCallReceipt', RelayCallReceipt, { callId: receipt.callId, outcome: 'duplicate' }),
            ...errors([400, 401, 403, 409, 415, 422, 429], {
              401: 'no valid telephony credential',
              403: { text: 'the telephony client is suspended until an operator reinstates it', code: 'suspended', detail: 'this telephony client is suspended until an operator reinstates it' },
              409: { text: 'a different receipt with this call id was already recorded', detail: 'a different receipt with this call id was already recorded' },
              422: { text: 'invalid call receipt, with field paths', example: problemExample(422, { detail: 'the call receipt is invalid', errors: [{ path: 'endedAt', message: 'Invalid ISO datetime' }] }) },
            }),
          },
        },
      },
    },
  };
}

function serviceBlock(): DocumentBlock {
  const status = (value: string) => ({ type: 'object', required: ['status'], properties: { status: { type: 'string', const: value } }, additionalProperties: false });
  const open = { security: [], tags: ['service'] };
  return {
    paths: {
      '/healthz': { get: { ...open, operationId: 'healthz', summary: 'The process is up', responses: { '200': { description: 'ok', content: { 'application/json': { schema: status('ok'), example: { status: 'ok' } } } } } } },
      '/readyz': {
        get: {
          ...open,
          operationId: 'readyz',
          summary: 'The store is reachable',
          responses: { '200': { description: 'ready', content: { 'application/json': { schema: status('ready'), example: { status: 'ready' } } } }, ...errors([503], { 503: { text: 'the store is not reachable', detail: 'the store is not reachable' } }) },
        },
      },
      '/metrics': {
        get: { ...open, operationId: 'metrics', summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' }, example: 'waybill_http_requests_total{method="GET",route="/healthz",status="200"} 1\n' } } } } },
      },
      '/w/{token}': {
        get: {
          ...open,
          operationId: 'qrPage',
          summary: 'What a phone camera opens from the QR: the same page whatever the token (no data)',
          parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' }, example: 'q7Zt2VxK9mPbR4nL8cYdWf' }],
          responses: { '200': { description: 'an HTML page', content: { 'text/html': { schema: { type: 'string' }, example: '<!doctype html>…' } } } },
        },
      },
      '/openapi.json': {
        get: { ...open, operationId: 'openapi', summary: 'This document (OpenAPI 3.1)', responses: { '200': { description: 'the document', content: { 'application/json': { schema: { type: 'object' }, example: { openapi: '3.1.0' } } } } } },
      },
      '/docs': {
        get: { ...open, operationId: 'docs', summary: 'A readable reference rendered from this document (served locally, no CDN)', responses: { '200': { description: 'an HTML page', content: { 'text/html': { schema: { type: 'string' }, example: '<!doctype html>…' } } } } },
      },
    },
  };
}

/** Search, history, the batch resource and the template list (issue 17, items 1, 2 and 5). */
function findBlock(): DocumentBlock {
  const id = '3f2b8c1e-6d4a-4e5f-9a7b-1c2d3e4f5a6b';
  const at = '2026-05-30T08:15:02.113Z';
  const summary = {
    id,
    waybillNo: '73512604918372',
    orderId: 'SO-24001',
    client: 'acme',
    carrier: 'ZT',
    status: 'printed' as const,
    createdAt: at,
    links: { self: `/v1/waybills/${id}`, label: `/v1/waybills/${id}/label`, print: `/v1/waybills/${id}/print`, events: `/v1/waybills/${id}/events` },
  };
  const batchId = '8a1f0c2e-4b3d-4e6f-9a8b-7c6d5e4f3a2b';
  const roles = ['warehouse', 'printer', 'admin'];
  return {
    schemas: { SearchPage: responseSchema(SearchPage), History: responseSchema(History), BatchView: responseSchema(BatchView), TemplateList: responseSchema(TemplateList) },
    paths: {
      '/v1/waybills': {
        get: {
          operationId: 'searchWaybills',
          tags: ['waybills'],
          summary: `Find waybills, newest first, a page at a time (roles: ${roles.join(', ')})`,
          description:
            'Filters are ANDed; `createdFrom` is inclusive, `createdTo` exclusive. Keys see their own client only; admins see every client, or one with `client`. ' +
            'Follow `next` (an opaque cursor; null on the last page) as `cursor` with the same filters: pages never repeat or skip a waybill, even as new ones are created. ' +
            'A bad parameter is a 422 naming it (`query.cursor` for a cursor this service did not give out). No personal data is shown.',
          security,
          parameters: queryParameters(SearchQuery),
          responses: {
            '200': jsonAnswer('a page of waybill summaries', 'SearchPage', SearchPage, { items: [summary], next: 'WyIyMDI2LTA1LTMwVDA4OjE1OjAyLjExM1oiLCIzZjJiOGMxZS02ZDRhLTRlNWYtOWE3Yi0xYzJkM2U0ZjVhNmIiXQ' }),
            ...errors([400, 401, 403, 422, 429], {
              400: { text: 'a query that is not well percent-encoded', detail: 'the query is not well percent-encoded' },
              422: { text: 'a bad query parameter, named in the path', example: problemExample(422, { detail: 'the query is invalid', errors: [{ path: 'query.cursor', message: 'is not a cursor this service gave out' }] }) },
            }),
          },
        },
      },
      '/v1/waybills/{id}/events': {
        get: {
          operationId: 'waybillHistory',
          tags: ['waybills'],
          summary: `A waybill's history: created, each print, every lifecycle event (roles: ${roles.join(', ')})`,
          description:
            'Oldest first. Each entry has its time, type and actor (role, and the API key or courier id; the command line shows its role only). ' +
            "Never personal data: a correction's reason (free text) is not shown, only the state it left.",
          security,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'waybill id (UUID) or waybill number', example: '73512604918372' }],
          responses: {
            '200': jsonAnswer('the history', 'History', History, {
              waybillId: id,
              waybillNo: '73512604918372',
              status: 'delivered',
              events: [
                { at, type: 'created', actor: { role: 'warehouse', id: 'k3p9x2m7qa' } },
                { at, type: 'printed', actor: { role: 'warehouse', id: 'k3p9x2m7qa' }, printNo: 1 },
                { at: '2026-05-30T10:02:11.540Z', type: 'picked_up', actor: { role: 'courier', id: 'c7d2k9m4qz' } },
                { at: '2026-05-31T09:41:27.005Z', type: 'delivered', actor: { role: 'courier', id: 'c7d2k9m4qz' } },
              ],
            }),
            ...errors([401, 403, 404, 422, 429]),
          },
        },
      },
      '/v1/batches/{id}': {
        get: {
          operationId: 'getBatch',
          tags: ['batches'],
          summary: `A PDF or printer-language batch: order index → waybill id and number (roles: ${roles.join(', ')})`,
          description:
            'Named in the `Link: </v1/batches/{id}>; rel="batch"` header of the batch answer. The batch is saved with its waybills, in one transaction, before the answer ends: ' +
            'once the whole document is read it is here (`status` done); while it runs, or if it failed (nothing saved), 404. A JSON batch carries the map itself and makes none.',
          security,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' }, example: batchId }],
          responses: {
            '200': jsonAnswer('the batch', 'BatchView', BatchView, {
              id: batchId,
              status: 'done',
              createdAt: at,
              count: 1,
              items: [{ index: 0, orderId: 'SO-24001', waybillId: id, waybillNo: '73512604918372', links: { self: `/v1/waybills/${id}` } }],
            }),
            ...errors([401, 403, 404, 422, 429], { 404: { text: 'no such batch (or not yours, or still running)', detail: 'no such batch' } }),
          },
        },
      },
      '/v1/templates': {
        get: {
          operationId: 'listTemplates',
          tags: ['waybills'],
          summary: `The label templates: size, labels and copies per waybill, dpi (roles: ${roles.join(', ')})`,
          security,
          responses: {
            '200': jsonAnswer('the templates', 'TemplateList', TemplateList, {
              items: [{ id: 'cn-2ply-100x150', name: '二联面单 100×150 mm（派件联、收件联）', lang: 'zh', size: { widthMm: 100, heightMm: 150 }, labels: 1, copies: ['courier', 'recipient'], dpi: 203, default: false }],
            }),
            ...errors([401, 403, 422, 429]),
          },
        },
      },
    },
  };
}

/** Webhook endpoints, their secrets, redelivery, and the signed deliveries themselves (issue 17, item 3). */
function webhookBlock(): DocumentBlock {
  const hook = '6e1d2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b';
  const eventId = '5b0c9e2a-7d41-4f3e-a6b8-2c1d0e9f8a7b';
  const at = '2026-05-30T08:15:02.113Z';
  const view = { id: hook, client: 'acme', url: 'https://wms.example.com/hooks/waybill', events: ['waybill.printed' as const, 'waybill.delivered' as const], createdAt: at, status: 'active' as const };
  const secret = 'whsec_Qm9yZXhhbXBsZU9ubHlOb3RBUmVhbFNlY3JldDEyMzQ';
  const hookParam = { name: 'id', in: 'path', required: true, description: 'webhook endpoint id', schema: { type: 'string', format: 'uuid' }, example: hook };
  const roles = 'roles: warehouse (its own client), admin';
  const notFound = { text: 'no such webhook endpoint (or another client’s)', detail: 'no such webhook endpoint' };

  // The deliveries: one request shape per event type.
  const facts = { waybillId: '3f2b8c1e-6d4a-4e5f-9a7b-1c2d3e4f5a6b', waybillNo: EX.waybillNo, orderId: 'SO-30001', client: 'acme', carrier: 'ZT' };
  const data: { [T in WebhookEventType]: z.input<(typeof WEBHOOK_PAYLOADS)[T]>['data'] } = {
    'waybill.created': { ...facts, status: 'created' },
    'waybill.printed': { ...facts, status: 'printed' },
    'waybill.picked_up': { ...facts, status: 'picked_up' },
    'waybill.delivered': { ...facts, status: 'delivered' },
    'waybill.returned': { ...facts, status: 'returned' },
    'waybill.cancelled': { ...facts, status: 'cancelled' },
    'waybill.purged': { ...facts, status: 'purged', purged: true },
    'waybill.arrived': { ...facts, status: 'picked_up', station: 'hz-xh-0012', pickupCode: '3-2-0147' },
    'relay.call_ended': { ...facts, status: 'picked_up', bindingId: EX.binding, party: 'recipient', startedAt: '2026-05-05T09:12:03+08:00', answeredAt: '2026-05-05T09:12:09+08:00', endedAt: '2026-05-05T09:14:41+08:00', releaseCause: 'normal_clearing' },
    'courier.suspended': { courierId: 'c7d2k9m4qz', reason: 'scan harvesting: 40 distinct waybills in an hour' },
    'alert.raised': { kind: 'webhook_disabled', courierId: null, detail: `webhook endpoint ${hook} of client acme failed for 24 h and was disabled` },
  };
  const WHEN: Record<WebhookEventType, string> = {
    'waybill.created': 'a waybill was saved (a create, a batch or `waybill print`)',
    'waybill.printed': 'its first paper was printed',
    'waybill.picked_up': 'a courier picked the parcel up',
    'waybill.delivered': 'the parcel was delivered',
    'waybill.returned': 'the parcel was returned',
    'waybill.cancelled': 'the waybill was cancelled',
    'waybill.purged': 'its sealed personal data was shredded',
    'waybill.arrived': 'the parcel arrived at a parcel station: tell the buyer the station and the pickup code',
    'relay.call_ended': 'a relay call about the waybill ended (the PBX call receipt)',
    'courier.suspended': 'a courier credential was suspended (admin endpoints only)',
    'alert.raised': 'an alert was recorded (admin endpoints only)',
  };
  const schemaName = (t: string) => `${t.split(/[._]/).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Event`;
  const headers = [
    {
      name: 'Waybill-Signature',
      in: 'header',
      required: true,
      description:
        '`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; the key is the secret exactly as shown (its UTF-8 bytes). During a rotation both secrets sign: two `v1=` entries, accept when one matches. ' +
        'Check it against the raw body, and refuse an old `t` (replays).',
      schema: { type: 'string', pattern: '^t=[0-9]+(,v1=[0-9a-f]{64})+$' },
      example: 't=1780128902,v1=5f1c0e3d8a9b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d',
    },
    { name: 'Waybill-Event-Id', in: 'header', required: true, description: 'the event id (as `id` in the body): the same on every retry, deduplicate on it', schema: { type: 'string', format: 'uuid' }, example: eventId },
  ];
  const webhooks = Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `${schemaName(type)[0]!.toLowerCase()}${schemaName(type).slice(1)}`,
          tags: ['webhooks'],
          summary: `${type}: ${WHEN[type]}`,
          description:
            'POSTed to every endpoint registered for this event type (a client endpoint: that client’s waybills; an admin endpoint: every client). ' +
            'At least once: a 2xx within WAYBILL_WEBHOOK_TIMEOUT_SECONDS (10 s) is delivered; anything else (another status, a redirect, a timeout) is retried with exponential backoff and jitter ' +
            'for WAYBILL_WEBHOOK_RETRY_HOURS (24 h). Events are not ordered: use `createdAt`. Never personal data: ids, numbers and states only.',
          security: [],
          parameters: headers,
          requestBody: { required: true, content: { 'application/json': { schema: ref(schemaName(type)), example: example(WEBHOOK_PAYLOADS[type], { id: eventId, type, createdAt: at, data: data[type] } as never) } } },
          responses: {
            '2XX': { description: 'delivered (the body of the answer is ignored)' },
            '4XX': { description: 'not delivered: retried (so is a redirect, a 5xx or no answer in time)' },
          },
        },
      },
    ]),
  );

  return {
    schemas: {
      NewWebhook: requestSchema(NewWebhook),
      WebhookCreated: responseSchema(WebhookCreated),
      WebhookList: responseSchema(WebhookList),
      SecretRotated: responseSchema(SecretRotated),
      RedeliveryScheduled: responseSchema(RedeliveryScheduled),
      ...Object.fromEntries(WEBHOOK_EVENT_TYPES.map((t) => [schemaName(t), responseSchema(WEBHOOK_PAYLOADS[t])])),
    },
    webhooks,
    paths: {
      '/v1/webhooks': {
        post: {
          operationId: 'createWebhook',
          tags: ['webhooks'],
          summary: `Register a webhook endpoint; the answer shows its secret, once (${roles})`,
          description:
            'A warehouse key registers for its own client (`client` may be omitted; another client is a 422). An admin names the `client`, or omits it for an admin endpoint ' +
            '(every client, plus `courier.suspended` and `alert.raised`). Every address the URL host resolves to must be allowed by WAYBILL_WEBHOOK_NETWORKS ' +
            '(loopback, link-local, metadata and private addresses are refused unless listed): a refusal is a 422 naming `url`. The secret is sealed and never shown again.',
          security,
          requestBody: jsonRequest('NewWebhook', NewWebhook, { url: view.url, events: view.events }),
          responses: {
            '201': jsonAnswer('registered; `Location` names the endpoint', 'WebhookCreated', WebhookCreated, { ...view, secret }),
            ...errors([400, 401, 403, 413, 415, 422, 429], {
              422: {
                text: 'invalid endpoint (field paths), a client other than the key’s, admin-only event types for a client endpoint, or a URL the network policy refuses (`url`)',
                example: problemExample(422, { detail: 'the webhook network policy refuses this URL', errors: [{ path: 'url', message: 'host is a loopback address, refused unless listed in WAYBILL_WEBHOOK_NETWORKS' }] }),
              },
            }),
          },
        },
        get: {
          operationId: 'listWebhooks',
          tags: ['webhooks'],
          summary: `The webhook endpoints: a warehouse key’s client’s, or (admin) every one; never a secret (${roles})`,
          security,
          responses: {
            '200': jsonAnswer('the endpoints, oldest first', 'WebhookList', WebhookList, { webhooks: [view, { ...view, id: '9c8b7a6f-5e4d-4c3b-8a2f-1e0d9c8b7a6f', events: null, status: 'disabled', disabledAt: at, disabledReason: 'failing for 24 h', failingSince: '2026-05-29T08:15:00.000Z' }] }),
            ...errors([401, 403, 422, 429]),
          },
        },
      },
      '/v1/webhooks/{id}': {
        delete: {
          operationId: 'deleteWebhook',
          tags: ['webhooks'],
          summary: `Remove a webhook endpoint and its undelivered events (${roles})`,
          security,
          parameters: [hookParam],
          responses: { '204': { description: 'removed' }, ...errors([401, 403, 404, 429], { 404: notFound }) },
        },
      },
      '/v1/webhooks/{id}/rotate-secret': {
        post: {
          operationId: 'rotateWebhookSecret',
          tags: ['webhooks'],
          summary: `A new secret, shown once; the old one keeps signing beside it for 24 h (${roles})`,
          security,
          parameters: [hookParam],
          responses: {
            '200': jsonAnswer('rotated', 'SecretRotated', SecretRotated, { id: hook, secret, previousSecretExpiresAt: '2026-05-31T08:15:02.113Z' }),
            ...errors([400, 401, 403, 404, 415, 422, 429], { ...NO_BODY, 404: notFound }),
          },
        },
      },
      '/v1/webhook-events/{eventId}/redeliver': {
        post: {
          operationId: 'redeliverWebhookEvent',
          tags: ['webhooks'],
          summary: `Send an event again (also a delivered or given-up one); enables its endpoint again if it was disabled (${roles})`,
          description: 'The event id is the `Waybill-Event-Id` a receiver got (one per event and endpoint). A running service sends it within a poll interval.',
          security,
          parameters: [{ name: 'eventId', in: 'path', required: true, description: 'the event id (`Waybill-Event-Id`)', schema: { type: 'string', format: 'uuid' }, example: eventId }],
          responses: {
            '202': jsonAnswer('due again', 'RedeliveryScheduled', RedeliveryScheduled, { id: eventId, endpoint: hook, status: 'scheduled' }),
            ...errors([400, 401, 403, 404, 409, 415, 422, 429], {
              ...NO_BODY,
              404: { text: 'no such webhook event (or another client’s)', detail: 'no such webhook event' },
              409: { text: 'the event is being sent right now (`in_progress`); see Retry-After', code: 'in_progress', detail: 'the event is being sent right now; try again in a moment' },
            }),
          },
        },
      },
    },
  };
}

function stationBlock(): DocumentBlock {
  const arrived = { waybillNo: EX.waybillNo, pickupCode: '3-2-0147', arrivedAt: '2026-05-05T06:41:12.000Z' };
  const noMatch = 'the same answer for wrong digits, an unknown waybill or code, another station’s parcel, and a waybill locked after too many wrong answers';
  return {
    schemas: {
      StationArrivalRequest: requestSchema(ArrivalRequest),
      StationCodeArrivalRequest: requestSchema(CodeArrivalRequest),
      StationArrival: responseSchema(ArrivalAnswer),
      StationVerifyRequest: requestSchema(VerifyRequest),
      StationVerifyAnswer: responseSchema(VerifyAnswer),
      StationCurrent: responseSchema(StationAnswer),
    },
    paths: {
      '/v1/stations/arrivals': {
        post: {
          operationId: 'recordStationArrivalByCode',
          tags: ['stations'],
          summary: 'A parcel arrived at the station, named by its QR code: its pickup code (role: station)',
          description:
            'A courier dropped the parcel off and the station scanned the QR code on it: `code` is the text the scanner read (the scan URL) or its token alone, which only the paper carries, ' +
            'so the parcel is at the counter. Custody moves to the station (an `arrived` event; the status stays `picked_up`), and a pickup code (取件码, `shelf-tier-sequence`, ' +
            'unique at the station for the day, Beijing time) is issued. The client hears of it by the `waybill.arrived` webhook (station and code, never a phone) and tells its buyer. ' +
            '`shelf` and `tier` place the parcel, both 1 by default. The same parcel again answers 200 with the code it has. An unknown or malformed code is 404, as an unknown waybill.',
          security,
          requestBody: jsonRequest('StationCodeArrivalRequest', CodeArrivalRequest, { code: 'https://scan.example.com/w/q7Zt2VxK9mPbR4nL8cYdWf', shelf: 3, tier: 2 }),
          responses: {
            '201': jsonAnswer('arrived; the pickup code', 'StationArrival', ArrivalAnswer, arrived),
            '200': jsonAnswer('the parcel was already here: the code it has', 'StationArrival', ArrivalAnswer, arrived),
            ...errors([400, 401, 403, 404, 409, 410, 413, 415, 422, 429], {
              404: { text: 'unknown or malformed code', detail: 'unknown waybill' },
              409: { text: 'not in a courier’s hands (`invalid_transition`, with the current state), or at a station already (`conflict`)', code: 'conflict', detail: 'this parcel is at a station already' },
              422: { text: 'no code, or an invalid shelf or tier, with field paths', example: problemExample(422, { detail: 'the arrival is invalid', errors: [{ path: 'code', message: 'Required' }] }) },
            }),
          },
        },
      },
      '/v1/waybills/{no}/arrivals': {
        post: {
          operationId: 'recordStationArrival',
          tags: ['stations'],
          summary: 'A parcel arrived at the station, named by its number: its pickup code (role: station; only with WAYBILL_STATION_ARRIVAL_BY_NUMBER=true)',
          description:
            'As `POST /v1/stations/arrivals`, for stations whose scanners read only the barcode. A waybill number is no secret, so this proves nothing about where the parcel is: ' +
            'it is refused (403 `forbidden`) unless WAYBILL_STATION_ARRIVAL_BY_NUMBER=true. ' +
            'A child number resolves to its master. The body (optional) places the parcel: `shelf` and `tier`, both 1 by default. The same parcel again answers 200 with the code it has.',
          security,
          parameters: [{ name: 'no', in: 'path', required: true, description: 'the waybill number (or a child number)', schema: { type: 'string' }, example: EX.waybillNo }],
          requestBody: { ...jsonRequest('StationArrivalRequest', ArrivalRequest, { shelf: 3, tier: 2 }), required: false },
          responses: {
            '201': jsonAnswer('arrived; the pickup code', 'StationArrival', ArrivalAnswer, arrived),
            '200': jsonAnswer('the parcel was already here: the code it has', 'StationArrival', ArrivalAnswer, arrived),
            ...errors([400, 401, 403, 404, 409, 410, 415, 422, 429], {
              404: { text: 'unknown waybill', detail: 'unknown waybill' },
              409: { text: 'not in a courier’s hands (`invalid_transition`, with the current state), or at a station already (`conflict`)', code: 'conflict', detail: 'this parcel is at a station already' },
              422: { text: 'invalid shelf or tier, with field paths', example: problemExample(422, { detail: 'the arrival is invalid', errors: [{ path: 'tier', message: 'Too big: expected number to be <=9' }] }) },
            }),
          },
        },
      },
      '/v1/stations/current': {
        get: {
          operationId: 'stationCurrent',
          tags: ['stations'],
          summary: 'Which station this key acts for (role: station)',
          description: 'Lets a station’s page check its key and show its counter; nothing else.',
          security,
          responses: {
            '200': jsonAnswer('the station', 'StationCurrent', StationAnswer, { station: 'hz-xh-0012' }),
            ...errors([401, 403, 422, 429]),
          },
        },
      },
      '/v1/stations/verify': {
        post: {
          operationId: 'stationVerify',
          tags: ['stations'],
          summary: 'Do the buyer’s last four digits match? match / no match, nothing else (role: station)',
          description:
            'Give `waybillNo` or `pickupCode`, and the four digits the buyer says. The digits are compared with the recipient’s phone in the sealed order, in constant time (HMACs); ' +
            `no match is ${noMatch}. A match lets this station post \`delivered\` for the waybill within WAYBILL_STATION_MATCH_MINUTES (30). ` +
            'Limited per station (WAYBILL_STATION_VERIFY_PER_MINUTE, 429) and per waybill (WAYBILL_STATION_WRONG_PER_WAYBILL_DAY wrong answers in 24 h lock it: no match, and an alert). ' +
            'A station whose wrong answers in an hour pass WAYBILL_STATION_WRONG_PER_HOUR (30) is suspended: that answer and every later request of its keys are 403 `suspended` until `waybill stations reinstate`. ' +
            'Every request is audited (outcome and station; never the digits).',
          security,
          requestBody: jsonRequest('StationVerifyRequest', VerifyRequest, { pickupCode: '3-2-0147', phoneLast4: '4017' }),
          responses: {
            '200': jsonAnswer(`match or no match (${noMatch})`, 'StationVerifyAnswer', VerifyAnswer, { match: true }),
            ...errors([400, 401, 403, 415, 422, 429], {
              422: { text: 'neither or both of waybillNo and pickupCode, or digits that are not four (field paths only)', example: problemExample(422, { detail: 'the verify request is invalid', errors: [{ path: 'phoneLast4', message: 'must be 4 digits' }] }) },
              403: { text: 'not a station key (`forbidden`), or the station is suspended after too many wrong answers (`suspended`)', code: 'suspended', detail: STATION_SUSPENDED },
              429: { text: 'this station asked too often this minute; see Retry-After', detail: 'too many verify requests this minute' },
            }),
          },
        },
      },
    },
  };
}

function courierDeviceBlock(): DocumentBlock {
  const courierParam = { name: 'id', in: 'path', required: true, description: 'the courier id', schema: { type: 'string' }, example: 'k3m9x2q7wa' };
  const deviceParam = { name: 'deviceId', in: 'path', required: true, description: 'the device id', schema: { type: 'string' }, example: 'p4t8c6vz2n' };
  const unknownCourier = { text: 'unknown courier', detail: 'unknown courier' };
  const courier = { id: 'k3m9x2q7wa', carrier: 'ZT', outlet: 'HZ-XH01' };
  const device = { id: 'p4t8c6vz2n', name: 'Pixel 7', createdAt: '2026-05-05T01:02:03.000Z' };
  const tags = ['couriers'];
  return {
    schemas: {
      CourierPairing: responseSchema(PairingIssued),
      CourierDeviceList: responseSchema(DeviceList),
      CourierDevicePairRequest: requestSchema(PairRequest),
      CourierDevicePaired: responseSchema(DevicePaired),
      CourierDeviceCurrent: responseSchema(CurrentDevice),
    },
    paths: {
      '/v1/couriers/{id}/pairings': {
        post: {
          operationId: 'issueCourierPairing',
          tags,
          summary: 'A one-use code to pair one more handheld of this courier (role: admin; only with WAYBILL_COURIER_PAIRING_BY_API=true)',
          description:
            'Whoever holds a code gets a device of the courier, and with it the courier’s scans: by default only the operator issues codes (`waybill couriers pair`) and this answers 403 `forbidden` (audited as `pairing_issue`, `refused`). ' +
            'The code (`XXXX-XXXX`, no 0/O/1/I) is shown here once and only its hash is kept; it works once, for 10 minutes, and a new code voids the courier’s earlier unused ones. ' +
            '`pairUrl` opens the courier app with the code in the URL fragment, which no server sees: show it as a QR code. Audited (`pairing_issue`; never the code).',
          security,
          parameters: [courierParam],
          responses: {
            '201': jsonAnswer('the code, when it expires, and the app link carrying it', 'CourierPairing', PairingIssued, {
              code: 'K7QM-4XRT',
              expiresAt: '2026-05-05T01:12:03.000Z',
              pairUrl: 'https://scan.example.com/courier/#pair=K7QM-4XRT',
            }),
            ...errors([400, 401, 403, 404, 409, 415, 422, 429], {
              ...NO_BODY,
              404: unknownCourier,
              409: { text: 'the courier is revoked or suspended: no device can be paired', code: 'conflict', detail: 'this courier is suspended: no device can be paired' },
            }),
          },
        },
      },
      '/v1/couriers/{id}/devices': {
        get: {
          operationId: 'listCourierDevices',
          tags,
          summary: 'The courier’s paired devices, revoked ones included (role: admin)',
          description: 'Never a credential or its hash. `lastUsedAt` is updated at most once an hour.',
          security,
          parameters: [courierParam],
          responses: {
            '200': jsonAnswer('the devices, oldest first', 'CourierDeviceList', DeviceList, { items: [{ ...device, lastUsedAt: '2026-05-05T08:40:00.000Z' }] }),
            ...errors([401, 403, 404, 422, 429], { 404: unknownCourier }),
          },
        },
      },
      '/v1/couriers/{id}/devices/{deviceId}': {
        delete: {
          operationId: 'revokeCourierDevice',
          tags,
          summary: 'Revoke one device of the courier (role: admin): its credential stops working at once',
          description: 'Idempotent: a revoked device answers 204 again. The courier and its other devices are untouched. Audited (`device_revoke`).',
          security,
          parameters: [courierParam, deviceParam],
          responses: { '204': { description: 'revoked' }, ...errors([401, 403, 404, 429], { 404: { text: 'unknown courier, or no such device of this courier', detail: 'unknown device' } }) },
        },
      },
      '/v1/courier-devices': {
        post: {
          operationId: 'pairCourierDevice',
          tags,
          summary: 'Redeem a pairing code for this device’s own credential (no credential needed)',
          description:
            'The code is the credential here: a wrong, expired or used one answers 401, and is counted per source address like a bad key, so a burst of them answers 429. ' +
            'The device credential (`wbd_…`) is shown once; it acts as the courier (scan, events) until the device or the courier is revoked. ' +
            'A courier has at most 3 unrevoked devices: a fourth is 409 and the code stays unused. Audited (`device_pair`; never the code or credential).',
          security: [],
          requestBody: jsonRequest('CourierDevicePairRequest', PairRequest, { code: 'K7QM-4XRT', name: 'Pixel 7' }),
          responses: {
            '201': jsonAnswer('paired: the device credential, shown once', 'CourierDevicePaired', DevicePaired, {
              credential: 'wbd_p4t8c6vz2n_Q2hhbmdlLW1lOiB0aGlzIGlzIG5vdCBhIHJlYWwgc2VjcmV0',
              device,
              courier,
            }),
            ...errors([400, 401, 409, 415, 422, 429], {
              401: { text: 'unknown, expired or used code (after a burst of them from one address: 429)', detail: 'unknown, expired or used pairing code' },
              409: { text: 'the courier already has 3 paired devices', code: 'conflict', detail: 'this courier already has 3 paired devices, the most allowed: revoke one first' },
              422: { text: 'a missing code or an invalid device name, with field paths', example: problemExample(422, { detail: 'the pairing request is invalid', errors: [{ path: 'name', message: 'must not be empty' }] }) },
            }),
          },
        },
      },
      '/v1/courier-devices/current': {
        get: {
          operationId: 'currentCourierDevice',
          tags,
          summary: 'Whom this credential acts for: the courier, and the device when it is a device credential (role: courier)',
          security,
          responses: {
            '200': jsonAnswer('the courier and device', 'CourierDeviceCurrent', CurrentDevice, { courier, device: { id: device.id, name: device.name } }),
            ...errors([401, 403, 422, 429], { 401: 'no valid credential, or a revoked device' }),
          },
        },
        delete: {
          operationId: 'revokeCurrentCourierDevice',
          tags,
          summary: 'This device revokes its own credential (the app’s log-out)',
          description: 'Only a device credential (`wbd_…`) can; the courier’s own credential answers 409. Audited (`device_revoke`).',
          security,
          responses: {
            '204': { description: 'revoked: the credential no longer works' },
            ...errors([401, 403, 409, 429], {
              409: { text: 'a courier credential (wbc_), not a device’s', code: 'conflict', detail: "this is the courier's own credential, not a paired device's" },
            }),
          },
        },
      },
    },
  };
}

// ---- the document ------------------------------------------------------------------------------------

function alertBlock(): DocumentBlock {
  const alert = { id: 4182, at: '2026-05-30T08:15:02.113Z', kind: 'courier_suspended', courierId: 'c7d2k9m4qz', detail: 'too many distinct waybills' };
  return {
    schemas: { AlertPage: responseSchema(AlertPage) },
    paths: {
      '/v1/alerts': {
        get: {
          operationId: 'listAlerts',
          tags: ['alerts'],
          summary: 'The alerts the service raised, newest first, a page at a time (role: admin)',
          description:
            'What looked like abuse or a fault: a courier or telephony client suspended, a courier stopped by its daily limit, a waybill locked for station verify, a closed waybill reopened by a correction, ' +
            'a webhook endpoint disabled, a client waybill number sharing digits with a phone, a client over its relay share (the kinds are listed under `kind`). ' +
            'Filters are ANDed (`from` inclusive, `to` exclusive). Follow `next` as `cursor` with the same filters. An alert names ids and reasons, never personal data; ' +
            `alerts are kept WAYBILL_ALERT_KEEP_DAYS (365 by default). The same alerts go to admin webhook endpoints as \`alert.raised\`.`,
          security,
          parameters: queryParameters(AlertQuery),
          responses: {
            '200': jsonAnswer('a page of alerts', 'AlertPage', AlertPage, { items: [alert], next: '4182' }),
            ...errors([401, 403, 422, 429], { 422: { text: 'a bad query parameter, named in the path', example: problemExample(422, { detail: 'the query is invalid', errors: [{ path: 'query.kind', message: 'must be an alert kind (lower-case letters and _)' }] }) } }),
          },
        },
      },
    },
  };
}

export function openApiDocument(given: Partial<DocumentSettings> = {}): Record<string, unknown> {
  const settings = { ...DEFAULT_SETTINGS, ...given };
  // One line per resource: add yours here.
  const blocks: DocumentBlock[] = [waybillBlock(), batchBlock(settings), printerBlock(), scanBlock(), relayBlock(), serviceBlock()];
  blocks.push(findBlock());
  blocks.push(webhookBlock());
  blocks.push(stationBlock());
  blocks.push(courierDeviceBlock());
  blocks.push(alertBlock());
  // Blocks may share a path (GET and POST /v1/waybills from two blocks): their operations are merged.
  const paths: Record<string, Record<string, unknown>> = {};
  for (const b of blocks) for (const [p, item] of Object.entries(b.paths)) paths[p] = { ...paths[p], ...(item as Record<string, unknown>) };
  const schemas = Object.assign({ Problem: responseSchema(Problem) }, ...blocks.map((b) => b.schemas ?? {})) as Record<string, unknown>;
  const webhooks = Object.assign({}, ...blocks.map((b) => b.webhooks ?? {})) as Record<string, unknown>;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Privacy waybill print service',
      version: '1',
      description:
        'Waybills whose paper is worthless to a thief: masked names, relay numbers, routing-level addresses and an opaque QR token. ' +
        'Authenticate with `Authorization: Bearer <key>` (keys from `waybill keys create`). Errors are RFC 9457 problem+json with a request id (`X-Request-Id`).',
      license: { name: 'Proprietary (UNLICENSED)' },
    },
    servers: [{ url: '/', description: 'this service' }],
    tags: [
      { name: 'waybills', description: 'create, read, label and lifecycle events' },
      { name: 'batches', description: 'many orders in one streamed document; previews' },
      { name: 'printers', description: 'network printers and print jobs' },
      { name: 'scan', description: 'couriers: QR token → delivery details' },
      { name: 'relay', description: 'telephony: where a relay call goes, call receipts' },
      { name: 'service', description: 'health, metrics, this document' },
      { name: 'stations', description: 'parcel stations (驿站): arrivals with pickup codes, last-four verify' },
      { name: 'couriers', description: 'pairing a courier’s handheld: one-use codes, device credentials, device revocation' },
      { name: 'alerts', description: 'admins: what the service raised about possible abuse (suspensions, locks, disabled endpoints)' },
      { name: 'webhooks', description: 'signed event deliveries to client endpoints: endpoints, secrets, redelivery; the payloads are under `webhooks`' },
    ],
    security,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'wbk_… API key, wbc_… courier, wbd_… courier device or wbt_… telephony credential' } },
      schemas,
    },
    paths,
    ...(Object.keys(webhooks).length ? { webhooks } : {}),
  };
}
