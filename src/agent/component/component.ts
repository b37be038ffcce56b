// The print component: a local WebSocket server speaking the platforms' print-component protocol
// (Cainiao's, which PDD, Douyin and Kuaishou components copy), so warehouse software that prints
// through "the component" prints privacy waybills unchanged. Documents become orders (mapDocument.ts),
// orders become labels on the service (ComponentHost.create) and bytes on the agent's printers.
//
// Everything is kept in memory only: printer settings, task states, the de-duplication window and
// previews. Ids the client sends (requestID, taskID, documentID) are echoed exactly as received.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { WaybillError, formatPath, type Issue } from '../../errors';
import type { Order } from '../../order/orderSchema';
import type { AgentPrinter } from '../printersFile';
import type { ComponentHost, LabelOptions } from './componentHost';
import { encryptedDataPath, mapDocument, waybillContentIndex, type Path } from './mapDocument';

export type ComponentVariant = 'cainiao' | 'pdd' | 'douyin' | 'kuaishou';

/**
 * Where each platform's component listens. Cainiao (13528/13529), PDD (5000/18653) and Kuaishou
 * (16888/16889, under /ks/printer) are as their integration guides give them; Douyin's ports could not
 * be confirmed from public material, so they are defaults to override with `port`/`wssPort`. All four
 * use the Cainiao command and notify names as far as those guides show; paths are not enforced.
 */
export const VARIANTS: Readonly<Record<ComponentVariant, { name: string; port: number; wssPort: number; path: string; confirmed: boolean }>> = {
  cainiao: { name: 'cainiao', port: 13528, wssPort: 13529, path: '/', confirmed: true },
  pdd: { name: 'pdd', port: 5000, wssPort: 18653, path: '/', confirmed: true },
  douyin: { name: 'douyin', port: 13888, wssPort: 13889, path: '/', confirmed: false },
  kuaishou: { name: 'kuaishou', port: 16888, wssPort: 16889, path: '/ks/printer', confirmed: true },
};

export const COMPONENT_VERSION = '1.0.0';
/** The same document or waybill printed again within this window is suppressed unless marked as a reprint. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
const PREVIEW_TTL_MS = 5 * 60_000;
const MAX_PREVIEWS = 200;
const MAX_TASKS = 1000;
const MAX_DOCUMENTS = 100;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface ComponentOptions {
  host?: string;
  /** The ws port; the variant's default otherwise (0 picks a free one). */
  port?: number;
  /** Also serve wss with a self-signed certificate made in memory at start (`true`: the variant's wss port). */
  wss?: boolean | { port?: number };
  variant?: ComponentVariant;
  /**
   * Web origins whose pages may connect (e.g. https://erp.example.com). Any page a warehouse PC's
   * browser opens could reach a loopback WebSocket and print on the warehouse's account, so a
   * connection that carries an Origin header is refused unless listed; programs (no Origin) connect.
   */
  origins?: readonly string[];
  /** The clock of the de-duplication window and preview expiry (tests move it). */
  now?: () => number;
}

export interface RunningComponent {
  url: string;
  wssUrl?: string;
  /** The certificate wss serves (PEM), for a client to trust; nothing is written to disk. */
  certificate?: string;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type DocStatus = 'pending' | 'rendered' | 'printed' | 'failed' | 'suppressed';

interface TaskState {
  printer: string;
  documents: Map<string, { status: DocStatus; msg: string }>;
}

/** A client's id or command said back: a string up to this long, or a finite number; anything else is not. */
const MAX_ECHO_CHARS = 200;
function echoed(value: unknown): string | number | undefined {
  return (typeof value === 'string' && value.length <= MAX_ECHO_CHARS) || (typeof value === 'number' && Number.isFinite(value)) ? value : undefined;
}

const MAX_SETTING_BYTES = 2048;
function smallJson(value: unknown): boolean {
  try {
    return JSON.stringify(value).length <= MAX_SETTING_BYTES;
  } catch {
    return false; // nested too deep to write
  }
}

/** Per-printer settings a client sets (setPrinterConfig) and reads back; they never leave memory. */
const PrinterSettings = {
  needTopLogo: 'boolean',
  needBottomLogo: 'boolean',
  horizontalOffset: 'number',
  verticalOffset: 'number',
  forceNoPageMargins: 'boolean',
  autoPageSize: 'boolean',
  orientation: 'number',
  paperSize: 'object',
} as const;

export async function startComponent(host: ComponentHost, options: ComponentOptions = {}): Promise<RunningComponent> {
  const variant = VARIANTS[options.variant ?? 'cainiao'];
  const bind = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const previews = new Map<string, { pdf: Buffer; expires: number }>();
  const settings = new Map<string, Json>();
  const tasks = new Map<string, TaskState>();
  const lastPrinted = new Map<string, number>(); // "doc:<documentID>" / "waybill:<code>" → when
  let queue: Promise<void> = Promise.resolve();

  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const m = /^\/previews\/([A-Za-z0-9_-]{22})\.pdf$/.exec(req.url ?? '');
    sweep(previews, now());
    const preview = m && req.method === 'GET' ? previews.get(m[1]!) : undefined;
    if (!preview) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/pdf', 'cache-control': 'no-store', 'content-length': preview.pdf.length }).end(preview.pdf);
  };

  const servers: { server: http.Server; wss: WebSocketServer }[] = [];
  const listen = async (server: http.Server, port: number) => {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, bind, () => resolve()));
    const allowed = new Set((options.origins ?? []).map((o) => new URL(o).origin));
    const wss = new WebSocketServer({
      server,
      maxPayload: MAX_MESSAGE_BYTES,
      verifyClient: ({ origin }: { origin?: string }) => !origin || allowed.has(origin),
    });
    const base = `${server instanceof https.Server ? 'https' : 'http'}://${hostForUrl(bind)}:${(server.address() as AddressInfo).port}`;
    wss.on('connection', (socket) => {
      // A client's protocol error (a frame too large, unmasked, not UTF-8) is emitted on its socket:
      // unheard, it would end the agent, and with it every client's printing.
      socket.on('error', () => socket.terminate());
      socket.on('message', (raw) => void onMessage(socket, raw.toString(), base).catch(() => socket.terminate()));
    });
    servers.push({ server, wss });
    return (server.address() as AddressInfo).port;
  };

  const port = await listen(http.createServer(serve), options.port ?? variant.port);
  let wssPort: number | undefined;
  let certificate: string | undefined;
  if (options.wss) {
    const pems = await selfSignedCertificate(bind);
    certificate = pems.cert;
    wssPort = await listen(https.createServer({ key: pems.private, cert: pems.cert }, serve), (typeof options.wss === 'object' ? options.wss.port : undefined) ?? variant.wssPort);
  }

  async function onMessage(socket: WebSocket, text: string, base: string): Promise<void> {
    const send = (message: Json): void => {
      if (socket.readyState !== socket.OPEN) return;
      let text: string;
      try {
        text = JSON.stringify(message);
      } catch {
        text = JSON.stringify({ cmd: '', status: 'failed', msg: 'the answer could not be made' });
      }
      socket.send(text);
    };
    let request: Json;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      request = parsed as Json;
    } catch {
      send({ cmd: '', status: 'failed', msg: 'not a JSON object' });
      return;
    }
    // Said back as sent only when it is a plain value: a client's nested structure is not ours to copy.
    const head = { cmd: echoed(request.cmd), requestID: echoed(request.requestID) };
    const fail = (msg: string, extra: Json = {}) => send({ ...head, ...extra, status: 'failed', msg });
    try {
      switch (request.cmd) {
        case 'getPrinters': {
          const printers = host.printers();
          send({ ...head, status: 'success', msg: '', defaultPrinter: printers[0]?.name ?? '', printers: printers.map((p) => ({ name: p.name, status: 'enable' })) });
          return;
        }
        case 'getPrinterConfig': {
          const printer = findPrinter(request.printer);
          if (!printer) return fail('printer: no such printer');
          send({ ...head, status: 'success', msg: '', printer: printerConfig(printer) });
          return;
        }
        case 'setPrinterConfig': {
          const given = request.printer;
          if (typeof given !== 'object' || given === null) return fail('printer: must be an object with the printer name and settings');
          const printer = findPrinter((given as Json).name);
          if (!printer) return fail('printer.name: no such printer');
          const changes: Json = {};
          for (const [key, value] of Object.entries(given as Json)) {
            if (key === 'name') continue;
            const type = Object.hasOwn(PrinterSettings, key) ? PrinterSettings[key as keyof typeof PrinterSettings] : undefined;
            if (!type) return fail(`printer: unknown setting; one of ${Object.keys(PrinterSettings).join(', ')}`);
            if (typeof value !== type || value === null) return fail(`printer.${key}: must be a ${type}`);
            // Kept and said back to every client: an object setting stays small.
            if (type === 'object' && !smallJson(value)) return fail(`printer.${key}: must be an object of at most ${MAX_SETTING_BYTES} bytes as JSON`);
            changes[key] = value;
          }
          settings.set(printer.name, { ...settings.get(printer.name), ...changes });
          send({ ...head, status: 'success', msg: '', printer: printerConfig(printer) });
          return;
        }
        case 'getAgentInfo':
          send({ ...head, status: 'success', msg: '', version: COMPONENT_VERSION, name: `privacy-waybill print component (${variant.name})` });
          return;
        case 'getTaskStatus': {
          const ids = Array.isArray(request.taskID) ? request.taskID : [request.taskID];
          send({
            ...head,
            status: 'success',
            msg: '',
            printStatus: ids.map((taskID) => {
              const task = typeof taskID === 'string' ? tasks.get(taskID) : undefined;
              if (!task) return { taskID: echoed(taskID) ?? null, status: 'unknown', detailStatus: [] };
              return { taskID, printer: task.printer, detailStatus: [...task.documents].map(([documentID, d]) => ({ documentID, status: d.status, msg: d.msg, printer: task.printer })) };
            }),
          });
          return;
        }
        case 'getDocumentStatus': {
          const ids = Array.isArray(request.documentIDs) ? request.documentIDs : [];
          send({
            ...head,
            status: 'success',
            msg: '',
            printStatus: ids.map((documentID) => {
              for (const [taskID, task] of [...tasks].reverse()) {
                const d = typeof documentID === 'string' ? task.documents.get(documentID) : undefined;
                if (d) return { documentID, taskID, status: d.status, msg: d.msg, printer: task.printer };
              }
              return { documentID: echoed(documentID) ?? null, status: 'unknown', msg: '' };
            }),
          });
          return;
        }
        case 'print':
          await onPrint(request, head, send, base);
          return;
        default:
          return fail('cmd: not a command this component knows');
      }
    } catch (error) {
      // Our own errors are free of personal data by contract; anything else is not shown.
      fail(error instanceof WaybillError ? error.message : 'internal error', 'task' in request ? { taskID: taskIdOf(request) } : {});
    }
  }

  function findPrinter(name: unknown): AgentPrinter | undefined {
    return typeof name === 'string' ? host.printers().find((p) => p.name === name) : undefined;
  }

  function printerConfig(p: AgentPrinter): Json {
    return { name: p.name, language: p.language, dpi: p.dpi, ...(p.template ? { template: p.template } : {}), ...settings.get(p.name) };
  }

  async function onPrint(request: Json, head: Json, send: (m: Json) => unknown, base: string): Promise<void> {
    const taskID = taskIdOf(request);
    const fail = (msg: string) => send({ ...head, taskID, status: 'failed', msg });
    const task = request.task as Json | undefined;
    if (typeof task !== 'object' || task === null) return void fail('task: required');
    if (typeof taskID !== 'string' || taskID.length === 0) return void fail('task.taskID: required, a string');
    const documents = task.documents;
    if (!Array.isArray(documents) || documents.length === 0 || documents.length > MAX_DOCUMENTS) return void fail(`task.documents: 1–${MAX_DOCUMENTS} documents`);
    const preview = task.preview === true;
    const printer = task.printer === undefined || task.printer === '' ? host.printers()[0] : findPrinter(task.printer);
    if (!printer) return void fail('task.printer: no such printer');
    if (preview && task.previewType !== undefined && task.previewType !== 'pdf') return void fail('task.previewType: only pdf previews are offered');

    // Every document is checked before anything prints: a refused task prints nothing.
    const jobs: { documentID: string; order: Order; reprint: boolean }[] = [];
    const issues: Issue[] = [];
    documents.forEach((doc: unknown, i) => {
      const at: Path = ['task', 'documents', i];
      const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Json;
      if (typeof d.documentID !== 'string' || d.documentID.length === 0) return void issues.push({ path: [...at, 'documentID'], message: 'required, a string' });
      const contents = d.contents;
      if (!Array.isArray(contents) || contents.length === 0) return void issues.push({ path: [...at, 'contents'], message: 'at least one content' });
      for (const [j, content] of contents.entries()) {
        const encrypted = encryptedDataPath(content);
        if (encrypted) return void issues.push({ path: [...at, 'contents', j, ...encrypted], message: "another platform's encrypted data: this component prints plain waybill data only and never decrypts" });
      }
      const j = waybillContentIndex(contents);
      try {
        jobs.push({ documentID: d.documentID, order: mapDocument((contents[j] as Json | undefined)?.data), reprint: d.reprint === true || task.reprint === true });
      } catch (error) {
        if (!(error instanceof WaybillError)) throw error;
        issues.push(...error.issues.map((issue) => ({ ...issue, path: [...at, 'contents', j, 'data', ...issue.path] })));
      }
    });
    if (issues.length) return void fail(issues.slice(0, 10).map((i) => `${formatPath(i.path)}: ${i.message}`).join('; '));

    const labelOptions = (format: LabelOptions['format']): LabelOptions => ({ format, dpi: printer.dpi, ...(printer.template ? { template: printer.template } : {}), barcodes: printer.barcodes, text: printer.text });
    if (preview) {
      const urls: string[] = [];
      for (const job of jobs) {
        const pdf = await host.preview(job.order, labelOptions('pdf'));
        const token = randomBytes(16).toString('base64url');
        previews.set(token, { pdf, expires: now() + PREVIEW_TTL_MS });
        while (previews.size > MAX_PREVIEWS) previews.delete(previews.keys().next().value!);
        urls.push(`${base}/previews/${token}.pdf`);
      }
      send({ ...head, taskID, status: 'success', msg: '', previewURL: urls[0], ...(urls.length > 1 ? { previewURLs: urls } : {}) });
      return;
    }

    const state: TaskState = { printer: printer.name, documents: new Map(jobs.map((j) => [j.documentID, { status: 'pending' as DocStatus, msg: '' }])) };
    tasks.set(taskID, state);
    while (tasks.size > MAX_TASKS) tasks.delete(tasks.keys().next().value!);
    const taskNote = { requestID: head.requestID, printer: printer.name, taskId: taskID };
    send({ cmd: 'notifyTaskResult', ...taskNote, status: 'initial' });
    send({ ...head, taskID, status: 'success', msg: '' });

    // One task at a time reaches the printers, so labels of two tasks never interleave.
    const run = queue.then(async () => {
      const printStatus: Json[] = [];
      for (const job of jobs) {
        const docNote = { cmd: 'notifyDocResult', requestID: head.requestID, printer: printer.name, taskId: taskID, documentId: job.documentID };
        const set = (status: DocStatus, msg: string) => state.documents.set(job.documentID, { status, msg });
        const keys = [`doc:${job.documentID}`, `waybill:${job.order.waybillNo}`];
        sweep(lastPrinted, now() - DUPLICATE_WINDOW_MS);
        if (!job.reprint && keys.some((k) => lastPrinted.has(k))) {
          const msg = 'duplicate: printed within the last 10 minutes, not sent again; mark the document "reprint": true to print it again';
          set('suppressed', msg);
          send({ ...docNote, status: 'rendered', code: 2, detail: msg });
          printStatus.push({ documentID: job.documentID, status: 'failed', msg, detail: 'suppressed' });
          continue;
        }
        let stage: 'rendered' | 'printed' = 'rendered';
        try {
          const label = await host.create(job.order, labelOptions(printer.language));
          set('rendered', '');
          send({ ...docNote, status: 'rendered', code: 0, detail: '' });
          stage = 'printed';
          await host.send(printer.name, label.bytes);
          for (const k of keys) lastPrinted.set(k, now());
          set('printed', '');
          send({ ...docNote, status: 'printed', code: 0, detail: '' });
          printStatus.push({ documentID: job.documentID, status: 'success', msg: '', waybillNo: label.waybillNo });
        } catch (error) {
          const msg = error instanceof WaybillError ? error.message : stage === 'printed' ? 'the printer could not be reached' : 'the label could not be made';
          set('failed', msg);
          send({ ...docNote, status: stage, code: 1, detail: msg });
          printStatus.push({ documentID: job.documentID, status: 'failed', msg });
        }
      }
      const anyPrinted = printStatus.some((s) => s.status === 'success');
      send({ cmd: 'notifyPrintResult', requestID: head.requestID, printer: printer.name, taskID, taskStatus: anyPrinted ? 'printed' : 'failed', printStatus });
      send({ cmd: 'notifyTaskResult', ...taskNote, status: 'completed' });
    });
    queue = run.catch(() => {});
    await run;
  }

  return {
    url: `ws://${hostForUrl(bind)}:${port}${variant.path === '/' ? '' : variant.path}`,
    ...(wssPort !== undefined ? { wssUrl: `wss://${hostForUrl(bind)}:${wssPort}${variant.path === '/' ? '' : variant.path}`, certificate } : {}),
    close: async () => {
      for (const { server, wss } of servers) {
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      previews.clear();
      lastPrinted.clear();
    },
  };
}

function taskIdOf(request: Json): unknown {
  const task = request.task;
  return typeof task === 'object' && task !== null ? echoed((task as Json).taskID) : undefined;
}

/** Drops entries whose time is before `before` (previews: their expiry; duplicates: when printed). */
function sweep(map: Map<string, number> | Map<string, { expires: number }>, before: number): void {
  for (const [key, value] of map as Map<string, number | { expires: number }>) {
    const at = typeof value === 'number' ? value : value.expires;
    if (at < before) (map as Map<string, unknown>).delete(key);
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A certificate for the loopback names, made in memory for this run (browsers are asked to trust it once). */
async function selfSignedCertificate(bind: string): Promise<{ private: string; cert: string }> {
  const selfsigned = await import('selfsigned');
  const ips = [...new Set(['127.0.0.1', '::1', ...(/^[\d.]+$|:/.test(bind) && bind !== '0.0.0.0' && bind !== '::' ? [bind] : [])])];
  return selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
}
