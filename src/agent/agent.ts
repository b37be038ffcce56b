// `waybill agent`: runs at the warehouse, connects out to the service (so printers behind NAT can be
// reached), announces its printers without their connections, writes the jobs it receives to them and
// acknowledges each one. It keeps nothing on disk: a job lives in memory until its printer took it.

import { WebSocket } from 'ws';
import { AGENT_PATH, helloOf, parseFrame, ServiceMessage, type AgentMessage } from './agentProtocol';
import { DEFAULT_PORT_OPTIONS, writeToPrinter, type PortOptions } from './printerPorts';
import type { AgentPrinter } from './printersFile';
import { SendFailure } from '../printers/rawTcp';

export type AgentLog = (entry: { level: 'info' | 'warn' | 'error'; event: string } & Record<string, string | number | boolean>) => void;

export interface AgentOptions {
  /** The service's base URL (http → ws, https → wss). */
  service: string;
  /** A `printer`-role API key of the warehouse's client. */
  key: string;
  printers: AgentPrinter[];
  log: AgentLog;
  ports?: Partial<PortOptions>;
  /** Reconnect backoff: full jitter over base·2^n, capped. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Ping interval; a link that misses a pong is dropped and redialled. */
  heartbeatMs?: number;
}

export interface RunningAgent {
  /** Resolves with the service's welcome of the current link (waiting for the next one when not connected). */
  welcomed(): Promise<Extract<ServiceMessage, { type: 'welcome' }>>;
  connected(): boolean;
  /** Finishes the jobs being written (so their acknowledgements go out), then closes the link. */
  stop(): Promise<void>;
}

/** The WebSocket URL of the agent endpoint under a service base URL. */
export function agentUrl(service: string): string {
  const u = new URL(service);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('--service must be an http:// or https:// URL');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = u.pathname.replace(/\/+$/, '') + AGENT_PATH;
  u.search = '';
  u.hash = '';
  return u.toString();
}

export function startAgent(opts: AgentOptions): RunningAgent {
  const url = agentUrl(opts.service);
  const ports: PortOptions = { ...DEFAULT_PORT_OPTIONS, ...opts.ports };
  const base = opts.backoffBaseMs ?? 500;
  const cap = opts.backoffCapMs ?? 30_000;
  const byName = new Map(opts.printers.map((p) => [p.name, p]));
  // One job at a time per printer: a second job waits for the first to leave.
  const lanes = new Map<string, Promise<void>>();
  const writing = new Set<Promise<void>>();
  let ws: WebSocket | undefined;
  let failures = 0;
  let stopping = false;
  let redial: NodeJS.Timeout | undefined;
  let beat: NodeJS.Timeout | undefined;
  let waiters: ((w: Extract<ServiceMessage, { type: 'welcome' }>) => void)[] = [];
  let isWelcomed = false;
  let lastWelcome: Extract<ServiceMessage, { type: 'welcome' }> | undefined;

  const dial = () => {
    redial = undefined;
    if (stopping) return;
    const link = new WebSocket(url, { headers: { authorization: `Bearer ${opts.key}` }, maxPayload: 16 * 1024 * 1024, handshakeTimeout: 15_000 });
    ws = link;
    let alive = true;
    link.on('open', () => {
      opts.log({ level: 'info', event: 'connected', printers: opts.printers.length });
      send(link, helloOf(opts.printers));
      beat = setInterval(() => {
        if (!alive) return link.terminate();
        alive = false;
        link.ping();
      }, opts.heartbeatMs ?? 20_000);
    });
    link.on('pong', () => (alive = true));
    link.on('unexpected-response', (_req, res) => {
      // 401/403: the key is wrong or lacks the printer role; keep trying (it may be fixed on the service).
      opts.log({ level: 'error', event: 'refused', status: res.statusCode ?? 0 });
      link.terminate();
    });
    link.on('message', (data, isBinary) => {
      const msg = isBinary ? undefined : parseFrame(ServiceMessage, data);
      if (!msg) return opts.log({ level: 'warn', event: 'invalid_message' });
      if (msg.type === 'welcome') {
        failures = 0;
        isWelcomed = true;
        lastWelcome = msg;
        opts.log({ level: 'info', event: 'welcome', registered: msg.printers.filter((p) => p.registered).length, refused: msg.printers.filter((p) => !p.registered).length });
        for (const p of msg.printers) if (!p.registered) opts.log({ level: 'warn', event: 'printer_refused', printer: p.name, reason: p.reason ?? '' });
        const w = waiters;
        waiters = [];
        for (const resolve of w) resolve(msg);
      } else if (msg.type === 'job') {
        job(link, msg.jobId, msg.printer, Buffer.from(msg.bytes, 'base64'));
      } else {
        opts.log({ level: 'warn', event: 'service_error', message: msg.message.slice(0, 200) });
      }
    });
    link.on('error', (e: NodeJS.ErrnoException) => opts.log({ level: 'warn', event: 'link_error', code: /^[A-Z0-9_]{1,32}$/.test(e.code ?? '') ? e.code! : 'unknown' }));
    link.on('close', (code) => {
      clearInterval(beat);
      isWelcomed = false;
      if (ws === link) ws = undefined;
      if (stopping) return;
      // Full jitter: agents of a warehouse that lost the link together do not redial together.
      const delay = Math.floor(Math.random() * Math.min(cap, base * 2 ** failures));
      failures = Math.min(failures + 1, 20);
      opts.log({ level: 'info', event: 'disconnected', code, retryInMs: delay });
      redial = setTimeout(dial, delay);
    });
  };

  const job = (link: WebSocket, jobId: string, printer: string, bytes: Buffer) => {
    const p = byName.get(printer);
    const run = (lanes.get(printer) ?? Promise.resolve()).then(async () => {
      const started = Date.now();
      let ack: AgentMessage;
      if (!p) ack = { type: 'ack', jobId, status: 'failed', error: 'not a printer of this agent', nothingSent: true };
      else
        try {
          await writeToPrinter(p.connection, bytes, ports);
          ack = { type: 'ack', jobId, status: 'delivered' };
        } catch (e) {
          const f = e instanceof SendFailure ? e : new SendFailure('could not be written', false);
          ack = { type: 'ack', jobId, status: 'failed', error: f.message, nothingSent: f.nothingSent };
        }
      // Job id, printer name, size and time only: never the job's content.
      opts.log({ level: ack.status === 'delivered' ? 'info' : 'warn', event: 'job', job: jobId, printer, bytes: bytes.length, status: ack.status, ms: Date.now() - started });
      send(link, ack);
    });
    lanes.set(printer, run);
    writing.add(run);
    void run.finally(() => {
      writing.delete(run);
      if (lanes.get(printer) === run) lanes.delete(printer);
    });
  };

  const send = (link: WebSocket, msg: AgentMessage) => {
    // An ack on a link that closed meanwhile is lost; the service then keeps the job failed for a retry.
    if (link.readyState === WebSocket.OPEN) link.send(JSON.stringify(msg), () => undefined);
  };

  dial();
  return {
    welcomed: () => (isWelcomed && lastWelcome ? Promise.resolve(lastWelcome) : new Promise((resolve) => waiters.push(resolve))),
    connected: () => isWelcomed,
    async stop() {
      stopping = true;
      clearTimeout(redial);
      while (writing.size) await Promise.allSettled([...writing]);
      const link = ws;
      if (link && link.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          link.once('close', () => resolve());
          link.close(1000, 'agent stopping');
          setTimeout(() => link.terminate(), 2_000).unref();
        });
      }
      clearInterval(beat);
    },
  };
}
