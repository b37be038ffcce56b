// `waybill serve --workers N`: N worker processes (node:cluster), each running today's serve
// (serveCommand.ts) on its own store connection. The primary listens on the port and serves nothing
// itself: it hands each new connection to the worker with the fewest open connections (ties in turn),
// where node's cluster would hand them round robin by arrival and, when connections open in a burst,
// give whichever worker answers first the most (7 of 10 seen). The stores are safe across processes
// (rate buckets, the failed-auth throttle, leases and claims are in the database; SQLite in WAL mode, a
// write waiting for another's lock), so the workers need nothing from each other but /metrics.
//
// The primary opens the store once before forking (migrations, a generated key file, start-up warnings),
// takes the port (a taken one fails the start before any fork), then forks; on SQLite it then
// checkpoints the file's WAL for the workers (sqliteStore.ts). A worker that dies is replaced, at most
// RESTARTS times in RESTART_WINDOW_MS; beyond, the service stops with exit code 70. SIGTERM/SIGINT: the
// primary stops accepting, every worker drains as a lone serve does (503 to new requests, running ones
// finish within WAYBILL_SHUTDOWN_GRACE_SECONDS, store closed), and the primary exits once all have, 0 when
// every worker exited cleanly. --workers 1 is the lone process, no primary.

import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import type { Server } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { PACKAGE_ROOT, type Config } from '../config/config';
import { joinClusterMetrics, serveClusterMetrics } from '../http/metrics';
import { walCheckpoints } from '../store/sqliteStore';
import { openServices, relayPoolReading, storeLocation } from '../wiring';
import { parseOptions, EXIT, UsageError, type Io } from './io';
import { serveCommand, type HandedConnections } from './serveCommand';

/** The built CLI, which the workers run (cluster forks a script); absent when running from the TypeScript sources. */
const CLI_ENTRY = path.join(PACKAGE_ROOT, 'dist', 'cli.js');
/** Set by the primary on each worker: its place (0…N-1), kept by its replacement. Slot 0 does the housekeeping. */
const SLOT_ENV = 'WAYBILL_WORKER_SLOT';
/** Set by the primary on each worker: the port the primary listens on (known once it does, for --port 0). */
const PORT_ENV = 'WAYBILL_WORKER_PORT';
/** Messages between the primary and a worker, beside node:cluster's own. */
const MESSAGE = { ready: 'waybill:ready', connection: 'waybill:connection', closed: 'waybill:closed' } as const;
const MAX_WORKERS = 64;
const RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Beyond the grace period, how long the primary waits for a draining worker before killing it. */
const EXIT_MARGIN_MS = 15_000;

/** Whether this process is a worker forked by servePrimary. */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[SLOT_ENV] !== undefined;
}

/**
 * How many processes serve: --workers, else WAYBILL_WORKERS, else one per core. From the TypeScript
 * sources (tests, `node -e`) there is no script to fork, so the default there is one.
 */
export function workerCount(args: string[], config: Config): number {
  const { values } = parseOptions({ args, options: { workers: { type: 'string' } }, strict: false });
  const given = values.workers;
  if (given !== undefined && (typeof given !== 'string' || !/^\d+$/.test(given) || Number(given) < 1 || Number(given) > MAX_WORKERS))
    throw new UsageError(`--workers must be a whole number from 1 to ${MAX_WORKERS}`);
  const built = fs.existsSync(CLI_ENTRY);
  const workers = given !== undefined ? Number(given) : config.http.workers ?? (built ? os.availableParallelism() : 1);
  if (workers > 1 && !built) throw new UsageError(`--workers ${workers} runs the built CLI (${CLI_ENTRY}): npm run build first, or --workers 1`);
  return workers;
}

/** A worker: today's serve until SIGTERM/SIGINT, then the same drain; resolves with the exit code. */
export async function serveWorker(args: string[], config: Config, io: Io): Promise<number> {
  joinClusterMetrics();
  const slot = Number(process.env[SLOT_ENV]);
  // Heard from the first instant: the primary may stop the service while this worker is still starting (or
  // right after it said it is ready), and a worker ended by the signal itself counts as failed. Ctrl-C
  // reaches the workers and the primary, which then sends SIGTERM too: a second signal must not end a
  // worker mid-drain, so the handlers stay.
  const stopAsked = new Promise<void>((resolve) => process.on('SIGINT', () => resolve()).on('SIGTERM', () => resolve()));
  try {
    // The primary has migrated the store and printed the start-up warnings already.
    const services = await openServices(config, () => {}, { checkpoints: 'elsewhere' });
    let running;
    try {
      running = await serveCommand(args, services, io, process.stdout, { worker: cluster.worker!.id, housekeeping: slot === 0, connections: takeConnections });
    } catch (e) {
      await services.close();
      throw e;
    }
    await stopAsked;
    await running.shutdown();
    await services.close();
    return EXIT.ok;
  } finally {
    // The channel to the primary would keep this process alive; without it, it exits when its work is done.
    if (cluster.worker?.isConnected()) cluster.worker.disconnect();
  }
}

/**
 * A worker's side of the handoff: serves each connection the primary sends, tells it when one closes,
 * and says it is ready. A connection that arrives once the drain is over is closed.
 */
function takeConnections(server: Server): HandedConnections {
  let open = 0;
  let over = false;
  let drained: (() => void) | undefined;
  const tell = (cmd: string) => {
    if (cluster.worker?.isConnected()) cluster.worker.send({ cmd }, undefined, () => {});
  };
  process.on('message', (message: { cmd?: unknown } | null, socket: unknown) => {
    if (message?.cmd !== MESSAGE.connection || !(socket instanceof net.Socket)) return;
    open++;
    socket.once('close', () => {
      open--;
      tell(MESSAGE.closed);
      if (open === 0) drained?.();
    });
    if (over) return void socket.destroy();
    server.emit('connection', socket);
  });
  tell(MESSAGE.ready);
  return {
    port: Number(process.env[PORT_ENV]),
    drained: () =>
      new Promise<void>((resolve) => {
        drained = () => ((over = true), resolve());
        if (open === 0) drained();
      }),
  };
}

/** The primary: forks the workers, replaces those that die, and stops them all on SIGTERM/SIGINT. */
export async function servePrimary(args: string[], config: Config, workers: number, io: Io): Promise<number> {
  const { values } = parseOptions({ args, options: { port: { type: 'string', default: String(config.http.port) }, host: { type: 'string', default: config.http.host }, workers: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
  // Migrations, a generated key file and the start-up warnings once, before any worker opens the store.
  // With a relay pool the store stays open: /metrics reads the pool here, off the workers' requests.
  const services = await openServices(config, (m) => io.err(`warning: ${m}`));
  const relayPool = relayPoolReading(services);
  if (!relayPool) await services.close();
  // The port first: a taken one fails the start before any worker is forked.
  const balancer = net.createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => balancer.once('error', reject).listen(port, values.host, () => (balancer.off('error', reject), resolve())));
  } catch (e) {
    if (relayPool) await services.close();
    throw e;
  }
  const bound = (balancer.address() as net.AddressInfo).port;
  const logger = pino({ level: config.http.logLevel, base: { service: 'waybill', worker: 0 } }, process.stdout);
  // Accepting failed (out of file descriptors, say): that client is refused, the next one may not be.
  balancer.on('error', (e: NodeJS.ErrnoException) => logger.error({ event: 'accept_failed', code: e.code }));
  // The workers leave checkpoints of the embedded store to this process, which answers no requests.
  const location = storeLocation(config);
  const checkpoints = location.backend === 'sqlite' ? walCheckpoints(location.file) : undefined;

  serveClusterMetrics(relayPool);
  cluster.setupPrimary({ exec: CLI_ENTRY, args: ['serve', ...args] });

  const live = new Map<Worker, number>(); // worker → slot
  const restarts: number[] = [];
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let failed: number | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let done!: () => void;
  const allExited = new Promise<void>((resolve) => (done = resolve));

  // Connections: each goes to the ready worker with the fewest open ones, ties in turn; until a worker is
  // ready (start-up, every worker replaced at once) they wait, paused.
  const open = new Map<Worker, number>();
  const waiting: net.Socket[] = [];
  let turn = 0;
  const leastBusy = (): Worker | undefined => {
    const ready = [...open];
    let best: [Worker, number] | undefined;
    for (let i = 0; i < ready.length; i++) {
      const candidate = ready[(turn + i) % ready.length]!;
      if (!best || candidate[1] < best[1]) best = candidate;
    }
    turn++;
    return best?.[0];
  };
  const hand = (socket: net.Socket): void => {
    if (socket.destroyed) return;
    if (phase === 'stopping') return void socket.destroy();
    const worker = leastBusy();
    if (!worker) return void waiting.push(socket);
    open.set(worker, open.get(worker)! + 1);
    worker.send({ cmd: MESSAGE.connection }, socket, (err) => {
      if (!err) return;
      // The worker is going (its channel closed): another takes the connection.
      open.delete(worker);
      if (!socket.destroyed) hand(socket);
    });
  };
  balancer.on('connection', (socket: net.Socket) => {
    // A client gone before a worker has its connection: nothing to do but forget it.
    socket.on('error', () => socket.destroy());
    hand(socket);
  });

  const fork = (slot: number) => {
    const worker = cluster.fork({ [SLOT_ENV]: String(slot), [PORT_ENV]: String(bound) });
    live.set(worker, slot);
    worker.on('message', (message: { cmd?: unknown } | null) => {
      if (message?.cmd === MESSAGE.closed && open.has(worker)) open.set(worker, Math.max(0, open.get(worker)! - 1));
      else if (message?.cmd === MESSAGE.ready) ready(worker);
    });
  };
  const ready = (worker: Worker) => {
    if (phase === 'stopping') return;
    logger.info({ event: 'worker_listening', pid: worker.process.pid, slot: live.get(worker), of: workers, workerId: worker.id });
    open.set(worker, 0);
    for (const socket of waiting.splice(0)) hand(socket);
    if (phase !== 'starting' || open.size < workers) return;
    phase = 'running';
    const url = `http://${values.host}:${bound}`;
    io.err(`waybill service listening on ${url} (API docs: ${url}/docs; ${workers} workers)`);
    logger.info({ event: 'listening', url, workers });
  };
  const stop = (code?: number) => {
    if (code !== undefined) failed ??= code;
    if (phase === 'stopping') return;
    phase = 'stopping';
    balancer.close();
    for (const socket of waiting.splice(0)) socket.destroy();
    open.clear();
    for (const worker of live.keys()) worker.process.kill('SIGTERM');
    deadline = setTimeout(() => {
      for (const worker of live.keys()) worker.process.kill('SIGKILL');
    }, config.http.shutdownGraceSeconds * 1000 + EXIT_MARGIN_MS);
    if (live.size === 0) done();
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = live.get(worker)!;
    live.delete(worker);
    open.delete(worker);
    if (phase === 'stopping') {
      // Ended by the stop signal itself (our SIGTERM, or Ctrl-C's SIGINT to the whole process group): it was
      // still loading (a worker hears them from its first line on), so it held no work. Anything else but 0
      // is a failed drain.
      if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT') failed ??= code ?? EXIT.internal;
      if (live.size === 0) done();
      return;
    }
    logger.error({ event: 'worker_exited', workerId: worker.id, slot, code, signal });
    // One that never came up fails the start (a bad setting, a store it cannot open): restarting would not help.
    if (phase === 'starting') return stop(code || EXIT.internal);
    const now = Date.now();
    restarts.push(now);
    while (restarts[0]! <= now - RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length > RESTARTS) {
      logger.error({ event: 'restart_storm', restarts: restarts.length, windowSeconds: RESTART_WINDOW_MS / 1000 });
      io.err(`waybill: workers keep dying (${restarts.length} in ${RESTART_WINDOW_MS / 1000} s): stopping`);
      return stop(EXIT.internal);
    }
    fork(slot);
  });
  const onSignal = () => {
    if (phase === 'stopping') return;
    io.err('shutting down: finishing running requests');
    stop();
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

  for (let slot = 0; slot < workers; slot++) fork(slot);
  await allExited;
  clearTimeout(deadline);
  await checkpoints?.stop();
  if (relayPool) await services.close();
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  logger.info({ event: 'stopped', ...(failed ? { exitCode: failed } : {}) });
  return failed ?? EXIT.ok;
}
