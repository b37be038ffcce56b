// Prometheus metrics (prom-client) on a registry of our own, so tests can run several apps in one
// process. Labels are routes, formats and outcomes: never a waybill, token, key or person.
//
// Under `serve --workers N` each worker counts its own requests, and a scrape lands on any one of them.
// That worker's registry asks the primary, which gathers every worker's metrics with prom-client's
// AggregatorRegistry and answers their sum: a scrape never shows one worker's counters alone. The relay
// pool's gauge is read from the database, so it is read once, by the primary.

import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PRESENTED_KINDS } from '../auth/authFailure';
import { WaybillError } from '../errors';

const ASK = 'waybill:cluster-metrics';
/** How often the event-loop delay gauges sample (prom-client's default); each sample includes the interval. */
export const EVENT_LOOP_SAMPLE_MS = 10;
const ANSWER = 'waybill:cluster-metrics-answer';
/** Longer than AggregatorRegistry's own 5 s wait for the workers, so its answer (or error) arrives first. */
const ASK_TIMEOUT_MS = 7_000;

interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
}

/**
 * In a worker, before anything else: answers the primary's gathering (prom-client's own messages) with
 * this worker's registry once Metrics exists, and with nothing until then, so a worker still starting
 * does not hold a scrape up.
 */
export function joinClusterMetrics(): void {
  AggregatorRegistry.setRegistries([]);
  new AggregatorRegistry(); // its constructor adds the worker's listener (once per process)
}

/**
 * In the primary: answers a worker's ASK with the sum over every worker, followed by the relay pool's
 * reading when there is a pool (or no text: it could not be gathered).
 */
export function serveClusterMetrics(relayPool?: RelayPoolReading): void {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  if (relayPool) relayPoolGauge(own, relayPool);
  const gather = async () => {
    const [workers, pool] = await Promise.all([aggregator.clusterMetrics(), own.metrics()]);
    return pool ? `${workers.replace(/\n*$/, '\n')}${pool}` : workers;
  };
  cluster.on('message', (worker: Worker, message: { type?: unknown; id?: unknown }) => {
    if (message?.type !== ASK || typeof message.id !== 'number') return;
    const id = message.id;
    const reply = (text?: string) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id, ...(text !== undefined ? { text } : {}) } satisfies Answer);
    };
    gather().then(reply, () => reply());
  });
}

let asked = 0;
const waiting = new Map<number, (text: string | undefined) => void>();

/** A worker's exposition: the whole cluster's, from the primary; 503 when that fails. */
function clusterExposition(): Promise<string> {
  if (waiting.size === 0) process.on('message', onAnswer);
  const id = asked++;
  return new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => settle(id, undefined), ASK_TIMEOUT_MS);
    waiting.set(id, (text) => (clearTimeout(timer), resolve(text)));
    process.send!({ type: ASK, id });
  }).then((text) => {
    if (text === undefined) throw new WaybillError('unavailable', 'the metrics of every worker could not be gathered', [], 5);
    return text;
  });
}

function onAnswer(message: Partial<Answer>): void {
  if (message?.type === ANSWER && typeof message.id === 'number') settle(message.id, message.text);
}

function settle(id: number, text: string | undefined): void {
  const resolve = waiting.get(id);
  if (!resolve) return;
  waiting.delete(id);
  if (waiting.size === 0) process.off('message', onAnswer);
  resolve(text);
}

/**
 * The pool's slots by state, read from the database on each scrape. One process reads it: a lone serve
 * in its Metrics, a cluster's primary (which answers no requests) beside the workers' sum, so a scrape
 * never holds a worker's requests up while SQLite counts (serveClusterMetrics).
 */
function relayPoolGauge(registry: Registry, relayPool: RelayPoolReading): void {
  new Gauge({
    name: 'waybill_relay_pool_slots',
    help: 'Relay number + extension slots, by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const u = await relayPool.utilisation();
      const sum = (k: 'capacity' | 'live' | 'quarantined') => u.reduce((n, x) => n + x[k], 0);
      const capacity = sum('capacity');
      this.set({ state: 'live' }, sum('live'));
      this.set({ state: 'quarantined' }, sum('quarantined'));
      this.set({ state: 'free' }, capacity - sum('live') - sum('quarantined'));
    },
  });
}

export interface RelayPoolReading {
  utilisation(): Promise<{ capacity: number; live: number; quarantined: number }[]>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly waybillsCreated = new Counter({ name: 'waybill_waybills_created_total', help: 'Waybills created', labelNames: ['channel'], registers: [this.registry] });
  readonly labelsRendered = new Counter({ name: 'waybill_labels_rendered_total', help: 'Labels rendered, by format', labelNames: ['format'], registers: [this.registry] });
  readonly renderSeconds = new Histogram({
    name: 'waybill_render_seconds',
    help: 'Time to render one request\'s labels, by format',
    labelNames: ['format'],
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly scans = new Counter({ name: 'waybill_scans_total', help: 'Courier scans, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  // Refused credentials by what was presented (kind only: never an id, address or secret), and those
  // answered 429 because their source address failed too often (authThrottle.ts).
  readonly authFailures = new Counter({ name: 'waybill_auth_failures_total', help: 'Refused credentials, by kind presented', labelNames: ['kind'], registers: [this.registry] });
  readonly authThrottled = new Counter({
    name: 'waybill_auth_throttled_total',
    help: 'Refused credentials answered 429: their source address failed authentication too often',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly relayUnavailable = new Counter({ name: 'waybill_relay_unavailable_total', help: 'Waybills printed without a relay number', registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'waybill_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpSeconds = new Histogram({
    name: 'waybill_http_request_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  constructor(relayPool?: RelayPoolReading, options: { clusterWorker?: boolean } = {}) {
    if (options.clusterWorker) {
      // The primary gathers this registry with getMetricsAsJSON (unchanged); a scrape here gets the sum.
      AggregatorRegistry.setRegistries([this.registry]);
      this.registry.metrics = clusterExposition;
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'waybill_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Every kind shows from the start (at 0), so an alert on a rate works before the first failure.
    for (const kind of PRESENTED_KINDS) {
      this.authFailures.inc({ kind }, 0);
      this.authThrottled.inc({ kind }, 0);
    }
    if (relayPool) relayPoolGauge(this.registry, relayPool);
  }
}
