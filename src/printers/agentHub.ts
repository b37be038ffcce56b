// The service end of warehouse agents (`waybill agent`): a WebSocket at /v1/agent on the API server.
// An agent (a `printer`-role key of one client) announces its printers; jobs for them are kept sealed like
// every delivery and handed over the link while the agent is connected to this instance. Jobs created
// while it is offline, or by another instance on a shared database, wait pending and are picked up by a
// short poll. The agent's acknowledgement ends the job (delivered, or failed and kept for a retry).

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { actorOf, type Principal } from '../auth/apiKey';
import { CredentialRefused } from '../auth/authFailure';
import { AGENT_PATH, AgentMessage, parseFrame, type ServiceMessage } from '../agent/agentProtocol';
import { bearerOf, principalOf, type AuthDeps } from '../http/auth';
import { problemHead } from '../http/problem';
import { unseal } from '../vault/sealing';
import { abandoned, auditCancelled, cancelKept, deliveryContext, failAbandoned, type AgentDispatch, type DeliveryDeps, type DeliveryResult } from './deliverJob';
import { PRINTER_GONE } from './printerStore';
import { AGENT_ONLINE_MS, type Printer } from './printer';

export interface AgentHubDeps {
  delivery: Omit<DeliveryDeps, 'agents'>;
  auth: AuthDeps;
  /** True while the service shuts down: new agents are refused (503). */
  draining: () => boolean;
  log: (entry: { level: 'info' | 'warn' | 'error'; event: string } & Record<string, string | number | boolean>) => void;
  /** How long a print request waits for the agent's acknowledgement before answering 202 (default 10 s). */
  ackWaitMs?: number;
  /** A job handed over and not acknowledged within this is failed (part of it may be printed; default 5 min). */
  ackDeadlineMs?: number;
  /** How often pending jobs of connected agents are looked for (default 2 s). */
  pollMs?: number;
  /** WebSocket ping interval; an agent that misses one pong is dropped (default 15 s). */
  heartbeatMs?: number;
}

interface InFlight {
  printer: string;
  actor: string;
  bytes: number;
  timer: NodeJS.Timeout;
  done: Promise<DeliveryResult>;
  settle: (r: DeliveryResult) => void;
}

interface AgentConn {
  ws: WebSocket;
  key: string;
  client: string;
  actor: string;
  /** The printers registered by the last hello; empty until then. */
  printers: Set<string>;
  inflight: Map<string, InFlight>;
  alive: boolean;
  pumping: boolean;
  seenWrittenAt: number;
  /** Messages are handled one after another (a hello finishes before the next ack). */
  queue: Promise<void>;
  closed: boolean;
}

const MAX_JOB_BYTES = 8 * 1024 * 1024;
const SEEN_REFRESH_MS = 10_000;

export class AgentHub implements AgentDispatch {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly conns = new Map<string, AgentConn>();
  private readonly cleanups = new Set<Promise<void>>();
  private readonly poll: NodeJS.Timeout;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly ackWaitMs: number;
  private readonly ackDeadlineMs: number;

  constructor(private readonly deps: AgentHubDeps) {
    this.ackWaitMs = deps.ackWaitMs ?? 10_000;
    this.ackDeadlineMs = deps.ackDeadlineMs ?? 5 * 60_000;
    this.poll = setInterval(() => void this.pollAll(), deps.pollMs ?? 2_000);
    this.poll.unref();
    this.heartbeat = setInterval(() => this.beat(), deps.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /** For the http server's 'upgrade' event: true when the request was for the agent path (answered here). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    // The path as sent, compared as text: a request target that is no URL ("//[") must not throw here,
    // in the server's 'upgrade' listener, where it would end the process.
    if ((req.url ?? '/').split('?', 1)[0] !== AGENT_PATH) return false;
    // Node stops listening for the socket's errors once it hands it to 'upgrade': a client that resets
    // it while we check its key would end the process with the refusal's write.
    socket.on('error', () => socket.destroy());
    void this.admit(req).then(
      (p) => {
        if ('status' in p) return refuse(socket, p.status, p.retryAfter);
        this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, p));
      },
      () => refuse(socket, 500),
    );
    return true;
  }

  /** A printer-role key of a client, before the upgrade; otherwise the status to refuse with. */
  private async admit(req: IncomingMessage): Promise<Extract<Principal, { client: string }> | { status: number; retryAfter?: number }> {
    if (this.deps.draining()) return { status: 503 };
    let p: Principal | undefined;
    let refusal: CredentialRefused | undefined;
    try {
      p = await principalOf(this.deps.auth, bearerOf(req.headers.authorization));
      if (!p) refusal = new CredentialRefused('unauthenticated', 'a valid API key is required');
    } catch (e) {
      if (!(e instanceof CredentialRefused)) return { status: 403 };
      refusal = e;
    }
    if (refusal) {
      // Counted and throttled per address like every refused credential (429 once the address is over).
      const answer = this.deps.auth.throttle ? await this.deps.auth.throttle.refusedFrom({ ip: req.socket.remoteAddress, authorization: req.headers.authorization }, refusal) : refusal;
      return answer.code === 'limited' ? { status: 429, retryAfter: answer.retryAfterSeconds ?? 60 } : { status: 401 };
    }
    if (!p) return { status: 401 };
    if (p.role !== 'printer') return { status: 403 };
    return p;
  }

  private attach(ws: WebSocket, p: Extract<Principal, { client: string }>): void {
    const previous = this.conns.get(p.id);
    // One link per agent key: a reconnect replaces a link this instance has not noticed is dead yet.
    if (previous) previous.ws.close(4000, 'replaced by a newer connection');
    const conn: AgentConn = {
      ws,
      key: p.id,
      client: p.client,
      actor: actorOf(p),
      printers: new Set(),
      inflight: new Map(),
      alive: true,
      pumping: false,
      seenWrittenAt: 0,
      queue: Promise.resolve(),
      closed: false,
    };
    this.conns.set(p.id, conn);
    this.deps.log({ level: 'info', event: 'agent_connected', key: conn.key, client: conn.client });
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => {
      conn.queue = conn.queue.then(() => this.onMessage(conn, isBinary ? undefined : data)).catch((e: Error) => {
        this.deps.log({ level: 'error', event: 'agent_message_failed', key: conn.key, error: e.name });
      });
    });
    ws.on('error', () => undefined); // the close that follows does the cleanup
    ws.on('close', () => {
      const done = this.detach(conn).finally(() => this.cleanups.delete(done));
      this.cleanups.add(done);
    });
  }

  private async onMessage(conn: AgentConn, data: unknown): Promise<void> {
    if (conn.closed) return;
    const msg = data === undefined ? undefined : parseFrame(AgentMessage, data);
    if (!msg) {
      // The message is not quoted back or logged: it is the agent's, not ours to repeat.
      this.sendTo(conn, { type: 'error', message: 'the message is not a valid agent message (a hello names printers without their connections)' });
      conn.ws.close(1008, 'invalid message');
      return;
    }
    if (msg.type === 'hello') {
      const now = this.deps.delivery.now();
      const { printers: result, cancelledJobs } = await this.deps.delivery.printers.registerAgentPrinters({ key: conn.key, client: conn.client }, msg.printers, now, new Date(now.getTime() - AGENT_ONLINE_MS));
      await auditCancelled(this.deps.delivery, cancelledJobs, PRINTER_GONE, conn.actor, now);
      conn.printers = new Set(result.filter((r) => r.registered).map((r) => r.name));
      conn.seenWrittenAt = now.getTime();
      this.sendTo(conn, { type: 'welcome', printers: result });
      this.deps.log({ level: 'info', event: 'agent_hello', key: conn.key, printers: conn.printers.size, refused: result.length - conn.printers.size });
      void this.pump(conn);
      return;
    }
    const job = conn.inflight.get(msg.jobId);
    if (!job) return; // not ours (already ended by a deadline, or never sent on this link)
    const error = msg.status === 'failed' ? `printer "${job.printer}" (via agent): ${msg.error ?? 'did not take the job'}` : undefined;
    // The bytes were the agent's: unless it says no byte reached the printer, part of them may be on paper.
    await this.finish(conn, msg.jobId, msg.status, error, msg.status === 'failed' && msg.nothingSent !== true);
  }

  /**
   * Ends a job handed to an agent: its status, the audit record, and whoever waits for it. The record
   * names the agent's key beside the requester: the outcome is the agent's word.
   */
  private async finish(conn: AgentConn, jobId: string, status: 'delivered' | 'failed', error?: string, partlySent = false): Promise<void> {
    const job = conn.inflight.get(jobId);
    if (!job) return;
    conn.inflight.delete(jobId);
    clearTimeout(job.timer);
    const d = this.deps.delivery;
    await d.printers.finishDelivery(jobId, { status, attempts: 1, ...(error ? { error, partlySent } : {}), at: d.now() });
    await d.audit.append({
      at: d.now().toISOString(),
      actor: job.actor,
      action: 'deliver',
      outcome: status === 'delivered' ? 'ok' : 'failed',
      detail: { job: jobId, printer: job.printer, attempts: 1, bytes: job.bytes, via: 'agent', agent: conn.key },
    });
    job.settle({ jobId, printer: job.printer, status, attempts: 1, ...(error ? { error } : {}) });
  }

  private async detach(conn: AgentConn): Promise<void> {
    conn.closed = true;
    await conn.queue;
    if (this.conns.get(conn.key) === conn) {
      this.conns.delete(conn.key);
      await this.deps.delivery.printers.markAgentSeen(conn.key, undefined).catch(() => undefined);
    }
    // Handed over, never acknowledged: part of it may be on paper, so only a person may send it again.
    for (const jobId of [...conn.inflight.keys()])
      await this.finish(conn, jobId, 'failed', `printer "${conn.inflight.get(jobId)!.printer}" (via agent): the agent's link closed before it acknowledged the job; part of it may be printed`, true);
    this.deps.log({ level: 'info', event: 'agent_disconnected', key: conn.key });
  }

  async dispatch(jobId: string, printer: Printer, actor: string, bytes?: Buffer): Promise<DeliveryResult> {
    const conn = this.conns.get(printer.agent?.key ?? '');
    if (!conn || conn.closed || !conn.printers.has(printer.name)) return { jobId, printer: printer.name, status: 'pending', attempts: 0 };
    const { done } = await this.handOver(conn, jobId, printer.name, actor, bytes);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<DeliveryResult>((resolve) => {
      timer = setTimeout(() => resolve({ jobId, printer: printer.name, status: 'sending', attempts: 0 }), this.ackWaitMs);
    });
    try {
      return await Promise.race([done, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Claims a kept job and sends it over the link; resolves once sent, with the promise of its end (in an
   * object: an async function returning the promise itself would wait for the acknowledgement).
   */
  private async handOver(conn: AgentConn, jobId: string, printer: string, actor: string, known?: Buffer): Promise<{ done: Promise<DeliveryResult> }> {
    const running = conn.inflight.get(jobId);
    if (running) return { done: running.done };
    const d = this.deps.delivery;
    if ((await failAbandoned(d, actor, jobId)).length) return { done: abandoned(d.printers, jobId) };
    const claimed = await d.printers.claimDelivery(jobId, d.now());
    if (!claimed) {
      // Another instance or a poll of this one took it: it is on its way.
      const current = await d.printers.getDelivery(jobId);
      const status = current?.status === 'delivered' || current?.status === 'failed' ? current.status : 'sending';
      return { done: Promise.resolve({ jobId, printer, status, attempts: 0, ...(current?.lastError && status === 'failed' ? { error: current.lastError } : {}) }) };
    }
    const bytes = known ?? unseal(claimed.sealed!, d.ring, deliveryContext(jobId));
    let settle!: (r: DeliveryResult) => void;
    const done = new Promise<DeliveryResult>((resolve) => (settle = resolve));
    const timer = setTimeout(() => {
      void this.finish(conn, jobId, 'failed', `printer "${printer}" (via agent): no acknowledgement within ${Math.round(this.ackDeadlineMs / 1000)} s; part of it may be printed`, true);
    }, this.ackDeadlineMs);
    timer.unref();
    conn.inflight.set(jobId, { printer, actor, bytes: claimed.byteLength, timer, done, settle });
    if (bytes.length > MAX_JOB_BYTES) {
      await this.finish(conn, jobId, 'failed', `printer "${printer}" (via agent): the job is larger than an agent takes`);
      return { done };
    }
    this.sendTo(conn, { type: 'job', jobId, printer, bytes: bytes.toString('base64') });
    return { done };
  }

  /** Sends the connected agent its pending jobs (those queued while it was away, or by other instances). */
  private async pump(conn: AgentConn): Promise<void> {
    if (conn.pumping || conn.closed || !conn.printers.size) return;
    conn.pumping = true;
    try {
      const d = this.deps.delivery;
      const pending = await d.printers.pendingDeliveries([...conn.printers], conn.client, 20);
      for (const job of pending) {
        if (conn.closed) break;
        if (conn.inflight.has(job.jobId)) continue;
        // It may have waited long: a waybill cancelled or purged since must not print.
        const refusal = await d.sendRefusal(job.jobId);
        if (refusal) {
          await cancelKept(d, job.jobId, refusal.message, conn.actor);
          continue;
        }
        await this.handOver(conn, job.jobId, job.printer, conn.actor); // sent; its end comes with the agent's acknowledgement
      }
    } finally {
      conn.pumping = false;
    }
  }

  private async pollAll(): Promise<void> {
    const now = this.deps.delivery.now();
    for (const conn of this.conns.values()) {
      if (conn.closed || !conn.printers.size) continue;
      try {
        if (now.getTime() - conn.seenWrittenAt >= SEEN_REFRESH_MS) {
          conn.seenWrittenAt = now.getTime();
          await this.deps.delivery.printers.markAgentSeen(conn.key, now);
        }
        await this.pump(conn);
      } catch (e) {
        this.deps.log({ level: 'error', event: 'agent_poll_failed', key: conn.key, error: (e as Error).name });
      }
    }
  }

  private beat(): void {
    for (const conn of this.conns.values()) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }

  private sendTo(conn: AgentConn, msg: ServiceMessage): void {
    // A send on a closing link fails quietly: its close fails the jobs in flight.
    conn.ws.send(JSON.stringify(msg), () => undefined);
  }

  /** Closes every agent link (jobs in flight end failed, kept) and stops the poll. */
  async stop(): Promise<void> {
    clearInterval(this.poll);
    clearInterval(this.heartbeat);
    for (const conn of this.conns.values()) conn.ws.close(1001, 'service shutting down');
    // Closing handshakes may not finish: give them a moment, then cut.
    await new Promise((r) => setTimeout(r, 200));
    for (const conn of this.conns.values()) conn.ws.terminate();
    while (this.cleanups.size) await Promise.all([...this.cleanups]);
    this.wss.close();
  }
}

const REFUSAL_CODES: Record<number, string> = { 401: 'unauthenticated', 403: 'forbidden', 429: 'limited', 503: 'unavailable' };

function refuse(socket: Duplex, status: number, retryAfter?: number): void {
  const text: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };
  // Its own id, in the problem and its header, as every API answer has: what an operator quotes to trace it.
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: problemHead(REFUSAL_CODES[status] ?? 'internal').type,
    title: text[status],
    status,
    detail:
      status === 401
        ? 'a valid API key is required (Authorization: Bearer …)'
        : status === 403
          ? 'an agent needs a printer-role API key of a client'
          : status === 429
            ? 'too many failed authentication attempts from this address'
            : 'try again later',
    requestId,
  });
  const headers = [
    ...(retryAfter ? [`Retry-After: ${retryAfter}`] : []),
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="waybill"'] : []),
    `X-Request-Id: ${requestId}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`HTTP/1.1 ${status} ${text[status]}\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
}
