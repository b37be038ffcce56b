// `waybill serve --workers N`: N worker processes (node:cluster) share the port, each running today's
// serve (serveCommand.ts) on its own store connection; the primary serves nothing itself. The stores are
// safe across processes (rate buckets, the failed-auth throttle, leases and claims are in the database;
// SQLite in WAL mode, a write waiting for another's lock), so the workers need nothing from each other
// but /metrics.
//
// The primary opens the store once before forking (migrations, a generated key file, start-up warnings),
// then forks; on SQLite it then checkpoints the file's WAL for the workers (sqliteStore.ts). A worker that
// dies is replaced, at most RESTARTS times in RESTART_WINDOW_MS; beyond, the service stops with exit code
// 70. SIGTERM/SIGINT: every worker drains as a lone serve does (503 to new requests, running ones finish
// within WAYBILL_SHUTDOWN_GRACE_SECONDS, store closed), and the primary exits once all have, 0 when every
// worker exited cleanly. --workers 1 is the lone process, no primary.

import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { PACKAGE_ROOT, type Config } from '../config/config';
import { joinClusterMetrics, serveClusterMetrics } from '../http/metrics';
import { walCheckpoints } from '../store/sqliteStore';
import { openServices, storeLocation } from '../wiring';
import { EXIT, UsageError, type Io } from './io';
import { serveCommand } from './serveCommand';

/** The built CLI, which the workers run (cluster forks a script); absent when running from the TypeScript sources. */
const CLI_ENTRY = path.join(PACKAGE_ROOT, 'dist', 'cli.js');
/** Set by the primary on each worker: its place (0…N-1), kept by its replacement. Slot 0 does the housekeeping. */
const SLOT_ENV = 'WAYBILL_WORKER_SLOT';
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
  const { values } = parseArgs({ args, options: { workers: { type: 'string' } }, strict: false });
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
  try {
    // The primary has migrated the store and printed the start-up warnings already.
    const services = await openServices(config, () => {}, { checkpoints: 'elsewhere' });
    let running;
    try {
      running = await serveCommand(args, services, io, process.stdout, { worker: cluster.worker!.id, housekeeping: slot === 0 });
    } catch (e) {
      await services.close();
      throw e;
    }
    // Ctrl-C reaches the workers and the primary, which then sends SIGTERM too: a second signal must not
    // end a worker mid-drain, so the handlers stay.
    await new Promise<void>((resolve) => process.on('SIGINT', () => resolve()).on('SIGTERM', () => resolve()));
    await running.shutdown();
    await services.close();
    return EXIT.ok;
  } finally {
    // The channel to the primary would keep this process alive; without it, it exits when its work is done.
    if (cluster.worker?.isConnected()) cluster.worker.disconnect();
  }
}

/** The primary: forks the workers, replaces those that die, and stops them all on SIGTERM/SIGINT. */
export async function servePrimary(args: string[], config: Config, workers: number, io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: String(config.http.port) }, host: { type: 'string', default: config.http.host }, workers: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
  // Migrations, a generated key file and the start-up warnings once, before any worker opens the store.
  const services = await openServices(config, (m) => io.err(`warning: ${m}`));
  await services.close();
  // The workers leave checkpoints of the embedded store to this process, which answers no requests.
  const location = storeLocation(config);
  const checkpoints = location.backend === 'sqlite' ? walCheckpoints(location.file) : undefined;

  const logger = pino({ level: config.http.logLevel, base: { service: 'waybill', worker: 0 } }, process.stdout);
  serveClusterMetrics();
  cluster.setupPrimary({ exec: CLI_ENTRY, args: ['serve', ...args] });

  const live = new Map<Worker, number>(); // worker → slot
  const restarts: number[] = [];
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  let failed: number | undefined;
  let deadline: NodeJS.Timeout | undefined;
  const listening = new Set<number>();
  let done!: () => void;
  const allExited = new Promise<void>((resolve) => (done = resolve));

  const fork = (slot: number) => live.set(cluster.fork({ [SLOT_ENV]: String(slot) }), slot);
  const stop = (code?: number) => {
    if (code !== undefined) failed ??= code;
    if (phase === 'stopping') return;
    phase = 'stopping';
    for (const worker of live.keys()) worker.process.kill('SIGTERM');
    deadline = setTimeout(() => {
      for (const worker of live.keys()) worker.process.kill('SIGKILL');
    }, config.http.shutdownGraceSeconds * 1000 + EXIT_MARGIN_MS);
    if (live.size === 0) done();
  };

  cluster.on('listening', (worker, address) => {
    logger.info({ event: 'worker_listening', pid: worker.process.pid, slot: live.get(worker), of: workers, workerId: worker.id });
    if (phase !== 'starting') return;
    listening.add(worker.id);
    if (listening.size < workers) return;
    phase = 'running';
    const url = `http://${values.host}:${address.port}`;
    io.err(`waybill service listening on ${url} (API docs: ${url}/docs; ${workers} workers)`);
    logger.info({ event: 'listening', url, workers });
  });
  cluster.on('exit', (worker, code, signal) => {
    const slot = live.get(worker)!;
    live.delete(worker);
    if (phase === 'stopping') {
      if (code !== 0) failed ??= code ?? EXIT.internal;
      if (live.size === 0) done();
      return;
    }
    logger.error({ event: 'worker_exited', workerId: worker.id, slot, code, signal });
    // One that never came up fails the start (a taken port, a bad setting): restarting would not help.
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
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  logger.info({ event: 'stopped', ...(failed ? { exitCode: failed } : {}) });
  return failed ?? EXIT.ok;
}
