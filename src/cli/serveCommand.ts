// `waybill serve`: the HTTP service on the embedded store, with the purge sweep running beside it.
// JSON logs (pino) go to stdout; shutdown stops taking work, lets running requests finish within a
// grace period, then returns so the caller can close the store.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../http/app';
import { createServer, takeUpgrades } from '../http/server';
import { malformedRequestProblem } from '../http/problem';
import { Metrics } from '../http/metrics';
import { DAY_MS } from '../time';
import { deliveryDeps, relayDeps, relayPoolReading, sweepDeadPrints, sweepExpired, type Services } from '../wiring';
import { checkpointDeps } from '../wiring';
import { startCheckpoints } from './auditCheckpoints';
import { webhookDeliveryDeps, webhookNetworkPolicy } from '../wiring';
import { startWebhookDeliveries } from './webhookRunner';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseOptions, asIo, type Output } from './io';
import { AgentHub } from '../printers/agentHub';
import { AuthThrottle, authBucketsRefillSeconds } from '../http/authThrottle';

const SWEEP_MS = 60_000;
/**
 * Rate buckets idle this long are forgotten, or longer when the failed-authentication buckets take longer
 * to refill (the API's per-second buckets refill in a second). An hour leaves room for instances sharing
 * the database with other settings.
 */
const BUCKETS_IDLE_SECONDS = 3600;
const IDEMPOTENCY_TTL_MS = DAY_MS;

/** How this process serves: alone (the default), or as one worker of `serve --workers N` (serveCluster.ts). */
export interface ServeRole {
  /** The cluster worker's id, in every log line; absent when serve runs as one process. */
  worker?: number;
  /**
   * Runs the purge sweep, audit checkpoints and webhook deliveries. They are safe on several instances, but
   * N copies in one service would only repeat the same work (and contend for SQLite's write lock): one
   * worker of a cluster runs them, a lone process always does.
   */
  housekeeping: boolean;
  /**
   * Serves connections another process accepted (the cluster's primary, serveCluster.ts) instead of
   * listening itself: called once the server is set up.
   */
  connections?: (server: Server) => HandedConnections;
}

/** Connections handed to this process, on the port another process listens on. */
export interface HandedConnections {
  port: number;
  /** Resolves once every connection handed so far has closed; later ones are closed at once. */
  drained(): Promise<void>;
}

export interface RunningService {
  server: Server;
  url: string;
  /** Stops taking requests, waits for running ones (up to the grace period), stops the sweep. */
  shutdown(): Promise<void>;
}

export async function serveCommand(
  args: string[],
  services: Services,
  output: Output,
  logStream: NodeJS.WritableStream = process.stdout,
  role: ServeRole = { housekeeping: true },
): Promise<RunningService> {
  const io = asIo(output);
  const { config, store, audit, couriers, keys } = services;
  const { values } = parseOptions({ args, options: { port: { type: 'string', default: String(config.http.port) }, host: { type: 'string', default: config.http.host }, workers: { type: 'string' } } });
  const port = Number(values.port);
  // The port this service listens on (known once listening, for --port 0): never a printer's on this machine.
  let listening = port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  const logger = pino(
    { level: config.http.logLevel, base: { service: 'waybill', ...(role.worker !== undefined ? { worker: role.worker } : {}) }, redact: { paths: ['authorization', 'token', 'credential', '*.authorization', '*.token'], censor: '[redacted]' } },
    logStream as pino.DestinationStream,
  );
  const relay = relayDeps(services);
  const now = () => new Date();
  let draining = false;
  // Warehouse agents (`waybill agent`) reach in over a WebSocket on this server; jobs for their printers go that way.
  const baseDelivery = deliveryDeps(services, now, () => [listening]);
  // In a cluster, /metrics answers the sum over every worker (metrics.ts), whichever worker gets the scrape,
  // and the primary reads the relay pool; a lone process reads it itself.
  const metrics = new Metrics(role.worker === undefined ? relayPoolReading(services) : undefined, { clusterWorker: role.worker !== undefined });
  const authFailures = { rateBuckets: services.rateBuckets, perMinute: config.auth.failuresPerMinute, burst: config.auth.failureBurst };
  const agentHub = new AgentHub({
    delivery: baseDelivery,
    // A refused agent key counts against its address like any other (the buckets are in the database).
    auth: { apiKeys: services.apiKeys, couriers, telephony: services.telephony, throttle: new AuthThrottle({ metrics, audit, now, limit: authFailures }) },
    draining: () => draining,
    log: ({ level, ...entry }) => logger[level](entry),
  });
  const app = createApp({
    store,
    couriers,
    audit,
    keys,
    limits: config.scan,
    courierEvents: config.courierEvents,
    stations: { stations: services.stations, limits: config.stations },
    retentionGraceDays: config.retentionGraceDays,
    ...(relay
      ? {
          relay: {
            ...relay,
            calls: services.relayStore,
            bindings: services.relayStore,
            telephony: services.telephony,
            guard: { rateBuckets: services.rateBuckets, requestsPerSecond: config.telephony.requestsPerSecond, limits: config.telephony },
          },
        }
      : {}),
    api: {
      apiKeys: services.apiKeys,
      telephony: services.telephony,
      idempotency: services.idempotency,
      templatesDir: config.templatesDir,
      defaultTemplate: config.http.defaultTemplate,
      scanBaseUrl: config.scanBaseUrl,
      pairingByApi: config.scan.pairingByApi,
      maxLifetimeDays: config.maxLifetimeDays,
      ratePerSecond: config.http.ratePerSecond,
      rateBuckets: services.rateBuckets,
      batch: {
        maxOrders: config.http.batchMaxOrders,
        bodyLimit: config.http.batchBodyLimit,
        maxConcurrent: config.http.maxConcurrentBatches,
        perClient: config.http.maxConcurrentBatchesPerClient,
        idleSeconds: config.http.batchIdleSeconds,
      },
      leases: services.leases,
      delivery: { ...baseDelivery, agents: agentHub },
      webhooks: { repo: services.webhooks, ring: services.keys.ring, policy: webhookNetworkPolicy(config, () => [listening]) },
    },
    metrics,
    authFailures,
    ...(config.auth.trustProxy !== undefined ? { trustProxy: config.auth.trustProxy } : {}),
    checkReady: () => store.ping(),
    draining: () => draining,
    now,
    // The entry's level picks pino's method and is not repeated in the line (pino writes its own, numeric).
    log: ({ level, ...entry }) => (level === 'error' ? logger.error(entry) : level === 'warn' ? logger.warn(entry) : logger.info(entry)),
  });
  const sweep = async () => {
    try {
      // First the leftovers of dead prints (at start-up: of a crash before it), so their slots are free.
      const dead = await sweepDeadPrints(services);
      const swept = await sweepExpired(services, now);
      const keysForgotten = await services.idempotency.expire(new Date(Date.now() - IDEMPOTENCY_TTL_MS));
      const rateBucketsForgotten = await services.rateBuckets.forgetFull(Math.max(BUCKETS_IDLE_SECONDS, authBucketsRefillSeconds(authFailures)));
      if (Object.values(swept).some(Boolean) || keysForgotten || rateBucketsForgotten || Object.values(dead).some(Boolean))
        logger.info({
          event: 'purge',
          ...swept,
          idempotencyKeysExpired: keysForgotten,
          rateBucketsForgotten,
          deadPrints: dead.leases,
          provisionalBindingsReleased: dead.bindings,
          streamedBindingsQuarantined: dead.quarantined,
          stagedWaybillsDeleted: dead.staged,
          partialFilesRemoved: dead.files,
          savedOutputFilesPlaced: dead.filesPlaced,
          auditRecordsAppended: dead.audited,
        });
    } catch (e) {
      logger.error({ event: 'purge_failed', error: (e as Error).name });
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (role.housekeeping) {
    await sweep();
    timer = setInterval(sweep, SWEEP_MS);
    timer.unref();
  }
  // Signed audit heads outside the database, every WAYBILL_AUDIT_CHECKPOINT_MINUTES and at shutdown.
  const checkpoints = role.housekeeping ? startCheckpoints(checkpointDeps(services, now), config.auditCheckpointMinutes, ({ level, ...entry }) => logger[level](entry)) : undefined;
  // Webhook deliveries from the outbox; the claim owner names this process (several may share the database).
  const webhookWorker = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const webhooks = role.housekeeping
    ? startWebhookDeliveries(webhookDeliveryDeps(services, webhookWorker, now, () => [listening]), config.webhooks.webhookPollMs, (entry) => logger.error(entry))
    : undefined;
  // Checkpoints and deliveries: stopped once requests are over (a last checkpoint covers them), or at once
  // when the start fails.
  const stopBackground = async () => {
    await checkpoints?.stop();
    await webhooks?.stop();
  };
  const server = createServer(app);
  // Node closes an idle connection after 5 s. A proxy or client pool that keeps it longer (a load
  // balancer's 60 s, a client library's pool) sends its next request into the close and gets a reset
  // or a 502 for a create it cannot safely repeat: the service keeps it open longer than they do.
  server.keepAliveTimeout = config.http.keepAliveSeconds * 1000;
  takeUpgrades(server, (req, socket, head) => agentHub.handleUpgrade(req, socket, head));
  // Requests Node's HTTP parser refuses (bad header bytes, oversized headers) never reach express:
  // answer them as problem+json too, then close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = malformedRequestProblem(status);
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  let handed: HandedConnections | undefined;
  if (role.connections) {
    // node's HTTP server starts enforcing its header and request timeouts on 'listening' (without them a
    // slow client holds its connection for ever); handed its connections, this one never listens itself.
    server.emit('listening');
    handed = role.connections(server);
    listening = handed.port;
  } else {
    try {
      await new Promise<void>((resolve, reject) => server.listen(port, values.host).once('listening', resolve).once('error', reject));
    } catch (e) {
      // A start that failed (a taken port) leaves nothing running that would keep the process alive.
      clearInterval(timer);
      await agentHub.stop();
      await stopBackground();
      throw e;
    }
    listening = (server.address() as AddressInfo).port;
  }
  const url = `http://${values.host}:${listening}`;
  // A cluster's primary says this once for all its workers.
  if (role.worker === undefined) io.err(`waybill service listening on ${url} (API docs: ${url}/docs)`);
  logger.info({ event: 'listening', url });

  const shutdown = async () => {
    draining = true;
    clearInterval(timer);
    const closed = new Promise<void>((resolve) => server.close(() => resolve())).then(() => handed?.drained());
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), config.http.shutdownGraceSeconds * 1000);
    await agentHub.stop();
    await closed;
    clearTimeout(grace);
    await stopBackground();
    logger.info({ event: 'stopped' });
  };
  return { server, url, shutdown };
}
