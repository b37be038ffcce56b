// `npm run bench:http`: the HTTP service under load. Starts `waybill serve` in a child process (so the
// load generator does not share its event loop) on a fresh data dir, then measures with autocannon:
//   1. create → JSON  (POST /v1/waybills, Accept: application/json) at fixed concurrency, unthrottled;
//   2. create → PDF   (POST /v1/waybills?format=pdf) at 100 req/s (target p99 ≤ 50 ms), and unthrottled;
//   3. scan           (GET /v1/scan/<token>?purpose=delivery by a courier) at 500 req/s (target p99 ≤ 10 ms),
//                     and unthrottled.
// Prints req/s, p50/p99 latency (2xx responses only, 1 ms resolution) and non-2xx counts; asserts nothing
// (shared machines are noisy, and here the server and the load generator share its CPUs). For each run
// with a target it also prints the share of the run's requests the service itself handled within the
// target, from its own /metrics histogram: what the client saw beyond that was queueing before the app
// read the request, or the load generator waiting for a CPU.
//
// Two autocannon details shape the rate-limited runs. Its rate limit is a per-second budget per connection:
// each connection sends its share back to back at the start of every second, then waits, so "100 req/s over
// 10 connections" is a burst of up to 10 requests in flight each second, not evenly spaced arrivals. And its
// coordinated-omission correction uses an expected interval of ceil(1 / rate) = 1 ms instead of 1000 / rate ms,
// which would add a synthetic sample at every millisecond below each latency; it is turned off here, so the
// figures are the latencies of the requests actually sent. Each rate is therefore also run "evenly spaced"
// by a small open-loop generator of our own: one request every 1000 / rate ms whatever the answers, each
// timed from the instant it was due (so a stall counts against every request it delayed).
//
// Each targeted run also prints where waiting could come from besides the handler: the event-loop delay of
// the service's workers during the run (its /metrics, whose delay histograms restart at every scrape) and
// their young-generation collections, and the load generator's own event-loop delay, since a response
// that arrives while the generator is busy is timed late.
//
// Never prints tokens, credentials or order data. BENCH_DURATION (seconds, default 15) and BENCH_CONNECTIONS
// (default 10) change the runs, BENCH_WORKERS the server's `serve --workers` (default: one per core);
// BENCH_ONLY=create or BENCH_ONLY=scan runs only the create or the scan scenarios (after the same warm-up).
// BENCH_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test) keeps the stores in a throw-away PostgreSQL
// database created beside that one and dropped afterwards, instead of the embedded SQLite file.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { loadConfig } from '../config/config';
import { EVENT_LOOP_SAMPLE_MS } from '../http/metrics';
import { openServices } from '../wiring';
import { freePort, loadAverage, stopServer, throwAwayPgDatabase, waitReady } from './serverChild';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
// `serve --workers`: like serve, one worker per core unless BENCH_WORKERS says (1: the lone process).
const WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
if (!Number.isInteger(WORKERS) || WORKERS < 1) throw new Error('BENCH_WORKERS must be a whole number from 1');
const SCAN_WAYBILLS = 200;
const SCAN_CARRIER = 'ZT';
// 500 scans a second come from many handhelds: a courier scans a few times a minute (the default
// per-minute limit is 30), so 2,000 couriers share the 500 req/s runs at 15 a minute each.
const SCAN_COURIERS = 2000;
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'scan' && ONLY !== 'create') throw new Error(`BENCH_ONLY must be "create" or "scan" (or unset for every scenario), not "${ONLY}"`);
const PG_URL = process.env.BENCH_PG_URL || undefined;
const CREATES = ONLY !== 'scan';
const SCANS = ONLY !== 'create';

type RawOrder = Record<string, unknown> & { carrier?: unknown };

/** What a run measured, from autocannon or from the evenly spaced generator. */
interface Measured {
  responses: number;
  seconds: number;
  /** Latencies of 2xx answers, ms. */
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  /** Errors by kind (evenly spaced runs), e.g. "1×ECONNRESET". */
  errorKinds?: string;
  /** Non-2xx answers by status, e.g. "3×503". */
  statuses: string;
}

interface Scenario {
  name: string;
  load: string;
  /** The target for p99, the rate at which it applies, and the route as the service's metrics name it. */
  target?: Target;
  result: Measured;
  /** Of the run's requests, the share the service itself handled within the target (its /metrics histogram). */
  inService?: number;
  /** What stood the service's workers and the load generator still during the run (targeted runs). */
  stalls?: Stalls;
}

/** Event-loop delays (ms, beyond the sampling interval) and young-generation collections during one run. */
interface Stalls {
  /** The workers' delay: p99 averaged over them, max the largest. */
  serviceP99: number;
  serviceMax: number;
  youngCollections: number;
  /** Their mean pause, ms. */
  youngMeanMs: number;
  /** The load generator's own delay. */
  generatorP99: number;
  generatorMax: number;
}

interface Target {
  rate: number;
  p99Ms: number;
  method: string;
  route: string;
}

/** One request of an evenly spaced run. */
interface PlannedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

async function main(): Promise<void> {
  const orders = fs
    .readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RawOrder);
  const scanOrders = orders.filter((o) => o.carrier === SCAN_CARRIER);
  if (!orders.length || !scanOrders.length) throw new Error(`samples/orders.ndjson needs orders, some of carrier ${SCAN_CARRIER}`);

  console.log(`machine: ${os.cpus().length} CPU(s), ${os.cpus()[0]?.model.trim() ?? 'unknown model'}, ${os.platform()} ${os.arch()}, Node ${process.version}`);
  console.log(`load average before: ${loadAverage()} (server and load generator share these CPUs)`);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-bench-'));
  const database = PG_URL ? await throwAwayPgDatabase(PG_URL) : undefined;
  let server: ChildProcess | undefined;
  const cleanUp = async () => {
    if (server) await stopServer(server);
    server = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
    await database?.drop();
  };
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const env = serverEnv(dataDir, database?.url);
    const warehouse = await credential(['keys', 'create', '--role', 'warehouse', '--name', 'bench', '--client', 'bench'], env);
    const couriers = SCANS ? await addCouriers(env) : [];

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--host', '127.0.0.1', '--workers', String(WORKERS)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    server = child;
    let serverLog = '';
    child.stderr!.on('data', (chunk: Buffer) => (serverLog = (serverLog + chunk.toString('utf8')).slice(-4000)));
    await waitReady(base, child, () => serverLog);
    // With workers, /readyz answers once the first listens; the primary says when all of them do.
    for (let i = 0; i < 300 && !/listening on/.test(serverLog); i++) await new Promise((r) => setTimeout(r, 100));
    const store = database ? `PostgreSQL at ${new URL(database.url).host}, a throw-away database` : 'SQLite, a fresh file';
    console.log(`server: child process ${child.pid} on ${base} (${WORKERS === 1 ? 'one process' : `${WORKERS} workers`}; ${store}), ${DURATION} s per run, ${CONNECTIONS} connections\n`);

    let seq = 0;
    const createRequest = (format: 'json' | 'pdf'): autocannon.Options => ({
      url: base,
      method: 'POST',
      headers: {
        authorization: `Bearer ${warehouse}`,
        'content-type': 'application/json',
        accept: format === 'pdf' ? 'application/pdf' : 'application/json',
      },
      // Every create needs an order id of its own (a repeated one is a 409).
      requests: [
        {
          path: format === 'pdf' ? '/v1/waybills?format=pdf' : '/v1/waybills',
          setupRequest: (req) => {
            const n = seq++;
            req.body = JSON.stringify({ ...orders[n % orders.length]!, orderId: `B-${n}` });
            return req;
          },
        },
      ],
    });

    // Warm up both create paths (template load, fonts, JIT, SQLite page cache); not reported.
    for (const format of ['json', 'pdf'] as const) {
      const warm = await autocannon({ ...createRequest(format), connections: CONNECTIONS, amount: format === 'json' ? 300 : 100 });
      if (warm.non2xx || warm.errors) throw new Error(`warm-up create → ${format} failed: ${statusSummary(warm)}, ${warm.errors} error(s)`);
    }

    // Waybills of the courier's carrier to scan, created as JSON; the token is the last segment of the QR URL.
    const tokens = SCANS ? await createForScan(base, warehouse, scanOrders, SCAN_WAYBILLS) : [];
    let next = 0;
    const scanRequest: autocannon.Options = {
      url: base,
      method: 'GET',
      requests: [
        {
          setupRequest: (req) => {
            const n = next++;
            req.headers = { ...req.headers, authorization: `Bearer ${couriers[n % couriers.length]}` };
            req.path = `/v1/scan/${tokens[n % tokens.length]}?purpose=delivery`;
            return req;
          },
        },
      ],
    };
    const warmScan = SCANS ? await autocannon({ ...scanRequest, connections: CONNECTIONS, amount: 500 }) : undefined;
    if (warmScan && (warmScan.non2xx || warmScan.errors)) throw new Error(`warm-up scan failed: ${statusSummary(warmScan)}, ${warmScan.errors} error(s)`);

    const scenarios: Scenario[] = [];
    const run = async (name: string, load: string, options: autocannon.Options, target?: Target) => {
      process.stdout.write(`${name}, ${load} … `);
      const s = await withinService(base, target, async () =>
        // (autocannon refuses ignoreCoordinatedOmission without a rate)
        measured(await autocannon({ duration: DURATION, connections: CONNECTIONS, ...options, ...(options.overallRate ? { ignoreCoordinatedOmission: true } : {}) })),
      );
      const scenario: Scenario = { name, load, ...s };
      scenarios.push(scenario);
      console.log(line(scenario));
    };
    const runEvenly = async (name: string, next: () => PlannedRequest, target: Target) => {
      process.stdout.write(`${name}, ${target.rate} req/s evenly spaced … `);
      const s = await withinService(base, target, () => evenlySpaced(base, target.rate, DURATION, next));
      const scenario: Scenario = { name, load: `${target.rate} req/s, evenly spaced`, ...s };
      scenarios.push(scenario);
      console.log(line(scenario));
    };
    const createPdf = (): PlannedRequest => {
      const n = seq++;
      return {
        method: 'POST',
        path: '/v1/waybills?format=pdf',
        headers: { authorization: `Bearer ${warehouse}`, 'content-type': 'application/json', accept: 'application/pdf' },
        body: JSON.stringify({ ...orders[n % orders.length]!, orderId: `B-${n}` }),
      };
    };
    const scan = (): PlannedRequest => {
      const n = next++;
      return { method: 'GET', path: `/v1/scan/${tokens[n % tokens.length]}?purpose=delivery`, headers: { authorization: `Bearer ${couriers[n % couriers.length]}` } };
    };
    if (CREATES) {
      await run('create → JSON', `${CONNECTIONS} connections, unthrottled`, createRequest('json'));
      const pdfTarget: Target = { rate: 100, p99Ms: 50, method: 'POST', route: '/v1/waybills' };
      await run('create → PDF', '100 req/s (autocannon)', { ...createRequest('pdf'), overallRate: 100 }, pdfTarget);
      await runEvenly('create → PDF', createPdf, pdfTarget);
      await run('create → PDF', `${CONNECTIONS} connections, unthrottled`, createRequest('pdf'));
    }
    if (SCANS) {
      const scanTarget: Target = { rate: 500, p99Ms: 10, method: 'GET', route: '/v1/scan/:token' };
      await run('scan', '500 req/s (autocannon)', { ...scanRequest, overallRate: 500 }, scanTarget);
      await runEvenly('scan', scan, scanTarget);
      await run('scan', `${CONNECTIONS} connections, unthrottled`, scanRequest);
    }

    console.log(`\nload average after: ${loadAverage()}\n`);
    printTable(scenarios);
    for (const note of burstNotes(scenarios)) console.log(note);
    printStalls(scenarios);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await cleanUp();
  }
}

/** The child's environment: our own settings only (no WAYBILL_* or DATABASE_URL of the caller), limits far above the load. */
function serverEnv(dataDir: string, databaseUrl: string | undefined): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAYBILL_') && k !== 'DATABASE_URL'));
  return {
    ...inherited,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    WAYBILL_DATA_DIR: dataDir,
    WAYBILL_LOG_LEVEL: 'silent',
    // Each number gives 10,000 four-digit extensions and each waybill binds two: room for 50,000 waybills.
    WAYBILL_RELAY_NUMBERS: Array.from({ length: 10 }, (_, i) => `+86170000000${String(i + 1).padStart(2, '0')}`).join(','),
    // The limits measure nothing here: each request still draws from its key's bucket, which never runs
    // dry. (At the default 500 a second per key, create → JSON now reaches the limit and gets 429s.)
    WAYBILL_API_RATE_PER_SECOND: '100000000',
    WAYBILL_SCAN_PER_MINUTE: '100000000',
    WAYBILL_SCAN_DISTINCT_PER_DAY: '100000000',
    WAYBILL_HARVEST_DISTINCT_PER_DAY: '100000000',
    WAYBILL_HARVEST_UNKNOWN_PER_HOUR: '100000000',
    WAYBILL_HARVEST_OUT_OF_ROUTE_PER_DAY: '100000000',
  };
}

/** The scanning couriers, added through the store in this process (a `waybill keys create` each would take minutes). */
async function addCouriers(env: NodeJS.ProcessEnv): Promise<string[]> {
  const services = await openServices(loadConfig(env), () => {});
  try {
    const credentials: string[] = [];
    for (let i = 0; i < SCAN_COURIERS; i++)
      credentials.push((await services.couriers.add({ carrier: SCAN_CARRIER, name: `c${i}`, outlet: 'HZ-01', routes: [], device: `HH-${i}` }, new Date())).credential);
    return credentials;
  } finally {
    await services.close();
  }
}

/** Runs `waybill <args>` and returns the credential it prints alone on stdout; the credential itself is never shown. */
function credential(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, stdout, stderr) => {
      const found = /^(wb[a-z]_\S+)$/m.exec(stdout)?.[1];
      if (!error && found) return resolve(found);
      const said = stderr
        .split('\n')
        .filter((l) => !/credential:/i.test(l))
        .join('\n')
        .trim();
      reject(new Error(`waybill ${args.slice(0, 4).join(' ')} failed (exit ${error?.code ?? 0}): ${said || 'no credential printed'}`));
    });
  });
}

async function createForScan(base: string, warehouse: string, scanOrders: RawOrder[], count: number): Promise<string[]> {
  const tokens: string[] = [];
  let i = 0;
  const worker = async () => {
    while (i < count) {
      const n = i++;
      const res = await fetch(`${base}/v1/waybills`, {
        method: 'POST',
        headers: { authorization: `Bearer ${warehouse}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ ...scanOrders[n % scanOrders.length]!, orderId: `S-${n}` }),
      });
      const body = (await res.json()) as { qr?: unknown };
      if (res.status !== 201 || typeof body.qr !== 'string') throw new Error(`creating a waybill to scan: HTTP ${res.status}${typeof body.qr === 'string' ? '' : ', no qr'}`);
      tokens.push(new URL(body.qr).pathname.split('/').pop()!);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return tokens;
}

const reqPerSec = (r: Measured) => r.responses / r.seconds;

/**
 * Measures a run and, with a target, how much of it the service itself handled within the target: its
 * own histogram of request durations (`waybill_http_request_seconds`, summed over the workers, from the
 * request's arrival in the app to its last byte written), read before and after the run. The difference
 * from the client's figure is time spent before the app saw the request (queued in the socket or behind
 * other work on the event loop) and in the load generator, which shares the CPUs; the run's stalls say
 * how long each side's event loop stood still.
 */
async function withinService(base: string, target: Target | undefined, measure: () => Promise<Measured>): Promise<Pick<Scenario, 'result' | 'target' | 'inService' | 'stalls'>> {
  if (!target) return { result: await measure() };
  const before = await serviceReading(base, target);
  const generator = monitorEventLoopDelay({ resolution: GENERATOR_DELAY_RESOLUTION_MS });
  generator.enable();
  const result = await measure();
  generator.disable();
  const after = await serviceReading(base, target);
  const count = after.count - before.count;
  const young = after.youngCollections - before.youngCollections;
  // Both monitors report the time between their timer's runs: the delay is what exceeds the interval.
  const beyond = (ms: number, intervalMs: number) => Math.max(0, ms - intervalMs);
  const stalls: Stalls = {
    serviceP99: beyond(after.delayP99 * 1000, EVENT_LOOP_SAMPLE_MS),
    serviceMax: beyond(after.delayMax * 1000, EVENT_LOOP_SAMPLE_MS),
    youngCollections: young,
    youngMeanMs: young > 0 ? ((after.youngSeconds - before.youngSeconds) / young) * 1000 : 0,
    generatorP99: beyond(generator.percentile(99) / 1e6, GENERATOR_DELAY_RESOLUTION_MS),
    generatorMax: beyond(generator.max / 1e6, GENERATOR_DELAY_RESOLUTION_MS),
  };
  return { result, target, stalls, ...(count > 0 ? { inService: (after.within - before.within) / count } : {}) };
}

/** The generator's own monitor samples every millisecond (the service's, every EVENT_LOOP_SAMPLE_MS). */
const GENERATOR_DELAY_RESOLUTION_MS = 1;

/** What the service's /metrics says (summed over its workers by the primary). */
interface ServiceReading {
  /** Requests of the target's route so far, and how many took at most its p99 target. */
  count: number;
  within: number;
  /** The event-loop delay since the previous scrape (seconds, with prom-client's sampling interval): p99 averaged over the workers, max the largest. */
  delayP99: number;
  delayMax: number;
  /** Young-generation collections so far, and their time in all. */
  youngCollections: number;
  youngSeconds: number;
}

async function serviceReading(base: string, target: Target): Promise<ServiceReading> {
  const res = await fetch(`${base}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const le = target.p99Ms / 1000;
  const reading: Omit<ServiceReading, 'within'> = { count: 0, delayP99: 0, delayMax: 0, youngCollections: 0, youngSeconds: 0 };
  let within: number | undefined;
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\w+?)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labelText, value] = m;
    const labels = Object.fromEntries([...(labelText ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (name === 'waybill_http_request_seconds_bucket' && labels.method === target.method && labels.route === target.route) {
      if (labels.le === '+Inf') reading.count = Number(value);
      else if (Number(labels.le) === le) within = Number(value);
    } else if (name === 'waybill_nodejs_eventloop_lag_p99_seconds') reading.delayP99 = Number(value);
    else if (name === 'waybill_nodejs_eventloop_lag_max_seconds') reading.delayMax = Number(value);
    else if (name === 'waybill_nodejs_gc_duration_seconds_count' && labels.kind === 'minor') reading.youngCollections = Number(value);
    else if (name === 'waybill_nodejs_gc_duration_seconds_sum' && labels.kind === 'minor') reading.youngSeconds = Number(value);
  }
  // Before the route's first request the histogram has no series for it yet: nothing handled.
  if (within === undefined && reading.count > 0) throw new Error(`the service's request histogram has no ${target.p99Ms} ms bucket`);
  return { ...reading, within: within ?? 0 };
}

const share = (s: Scenario) => (s.inService === undefined ? '' : `${(100 * s.inService).toFixed(1)} %`);

function measured(r: autocannon.Result): Measured {
  return { responses: r.requests.total, seconds: r.duration, p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, non2xx: r.non2xx, errors: r.errors, statuses: statusSummary(r) };
}

/**
 * Open-loop load: `rate` requests a second at evenly spaced instants for `seconds`, sent whatever the
 * answers (keep-alive connections, as many as are in flight). Each latency runs from the instant the
 * request was due, or from when it left if the generator sent it early.
 */
async function evenlySpaced(base: string, rate: number, seconds: number, next: () => PlannedRequest): Promise<Measured> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(base);
  const latencies: number[] = [];
  const codes = new Map<number, number>();
  const failures = new Map<string, number>();
  const send = (r: PlannedRequest) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ agent, host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      });
      req.once('error', reject);
      req.end(r.body);
    });
  const total = Math.round(rate * seconds);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    const from = Math.min(due, performance.now());
    inFlight.push(
      send(next()).then(
        (status) => {
          if (status >= 200 && status < 300) latencies.push(performance.now() - from);
          else codes.set(status, (codes.get(status) ?? 0) + 1);
        },
        (e: NodeJS.ErrnoException) => void failures.set(e.code ?? e.name, (failures.get(e.code ?? e.name) ?? 0) + 1),
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!) : 0);
  const non2xx = [...codes.values()].reduce((a, b) => a + b, 0);
  return {
    responses: latencies.length + non2xx,
    seconds: elapsed,
    p50: at(0.5),
    p99: at(0.99),
    max: at(1),
    non2xx,
    errors: [...failures.values()].reduce((a, b) => a + b, 0),
    errorKinds: [...failures].map(([kind, n]) => `${n}×${kind}`).join(' '),
    statuses: [...codes].map(([code, n]) => `${n}×${code}`).join(' ') || `${non2xx} non-2xx`,
  };
}

function statusSummary(r: autocannon.Result): string {
  const codes = Object.entries(r.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, s]) => `${s.count ?? 0}×${code}`);
  return codes.length ? codes.join(' ') : `${r.non2xx} non-2xx`;
}

function verdict(s: Scenario): string {
  if (!s.target) return '';
  const r = s.result;
  const problems: string[] = [];
  if (r.p99 > s.target.p99Ms) problems.push(`p99 ${r.p99} > ${s.target.p99Ms} ms`);
  if (reqPerSec(r) < s.target.rate * 0.95) problems.push(`only ${reqPerSec(r).toFixed(0)} of ${s.target.rate} req/s`);
  if (r.non2xx || r.errors) problems.push('failures');
  return problems.length ? `MISSED (${problems.join(', ')})` : 'met';
}

function line(s: Scenario): string {
  const r = s.result;
  const target = s.target ? `   target p99 ≤ ${s.target.p99Ms} ms at ${s.target.rate} req/s: ${verdict(s)}; handled in the service within ${s.target.p99Ms} ms: ${share(s)}` : '';
  return (
    `${reqPerSec(r).toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ` +
    `${r.responses} responses, non-2xx ${r.non2xx}${r.non2xx ? ` (${r.statuses})` : ''}, errors ${r.errors}${r.errorKinds ? ` (${r.errorKinds})` : ''}${target}`
  );
}

function printTable(scenarios: Scenario[]): void {
  printRows(
    ['scenario', 'load', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'target', 'verdict', 'in service ≤ target'],
    scenarios.map((s) => [
      s.name,
      s.load,
      reqPerSec(s.result).toFixed(0),
      String(s.result.p50),
      String(s.result.p99),
      String(s.result.non2xx),
      String(s.result.errors),
      s.target ? `p99 ≤ ${s.target.p99Ms} ms @ ${s.target.rate}/s` : '',
      verdict(s),
      share(s),
    ]),
    new Set([2, 3, 4, 5, 6, 9]),
  );
}

/** A table in aligned columns, `numeric` ones to the right. */
function printRows(header: string[], body: string[][], numeric: Set<number>): void {
  const rows = [header, ...body];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const format = (r: string[]) => r.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(format(r));
}

/** The targeted runs' event-loop delays and collections: what stood the processes still besides the work measured. */
function printStalls(scenarios: Scenario[]): void {
  const targeted = scenarios.filter((s) => s.stalls);
  if (!targeted.length) return;
  const ms = (n: number) => n.toFixed(1);
  console.log('\nevent-loop delay during the targeted runs (ms beyond the sampling interval), and the workers\' young-generation collections:');
  printRows(
    ['scenario', 'load', 'workers p99', 'workers max', 'young GCs', 'mean pause ms', 'load generator p99', 'load generator max'],
    targeted.map((s) => {
      const t = s.stalls!;
      return [s.name, s.load, ms(t.serviceP99), ms(t.serviceMax), String(t.youngCollections), ms(t.youngMeanMs), ms(t.generatorP99), ms(t.generatorMax)];
    }),
    new Set([2, 3, 4, 5, 6, 7]),
  );
}

/**
 * While a burst lasts, autocannon keeps CONNECTIONS requests in flight, as an unthrottled run does: the
 * mean latency is then about CONNECTIONS over the service's throughput (Little's law), whatever the rate.
 */
function burstNotes(scenarios: Scenario[]): string[] {
  return [...new Set(scenarios.map((s) => s.name))].flatMap((name) => {
    const burst = scenarios.find((s) => s.name === name && s.load.endsWith('(autocannon)'));
    const unthrottled = scenarios.find((s) => s.name === name && s.load.endsWith('unthrottled'));
    if (!burst || !unthrottled || !reqPerSec(unthrottled.result)) return [];
    const mean = (CONNECTIONS / reqPerSec(unthrottled.result)) * 1000;
    return [`${name} in autocannon bursts: ${CONNECTIONS} in flight at the unthrottled ${reqPerSec(unthrottled.result).toFixed(0)} req/s is about ${mean.toFixed(0)} ms a request (Little's law); this run's p50 was ${burst.result.p50} ms`];
  });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
