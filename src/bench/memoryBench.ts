// `npm run bench:memory`: peak memory of a whole batch, through the CLI (`waybill print orders.ndjson
// --out x.pdf`) and through the API (`POST /v1/batches`, the PDF streamed to nowhere), at 1,000 and 10,000
// four-copy waybills. Each run is a fresh child process on a fresh data dir (`waybill init`, then ten relay
// numbers from the environment, so every waybill binds two relay numbers as in production).
//
// Peak RSS is the child's own: node runs it with `--require` of this file's preload (below), which writes
// `process.resourceUsage().maxRSS` (the kernel's high-water mark, getrusage) to a file when the process
// exits; the server is stopped with SIGTERM after its batch, so its figure covers start-up, the batch and
// the save. The server runs as one process (WAYBILL_WORKERS=1), so the process measured is the one that
// renders. Nothing of the service is changed for the measurement.
//
// The API runs also send GET /healthz every 10 ms during the batch: the longest wait is the longest the
// batch held the server's event loop in one piece (what a scan on that process would wait out too).
//
// Prints a table (path, N, seconds, waybills/s, peak RSS MB, longest /healthz wait) and the 10,000 / 1,000 ratio; asserts nothing
// (shared machines are noisy). BENCH_SIZES (default "1000,10000") and BENCH_TEMPLATE (default cn-4copy)
// change the runs; BENCH_CLI runs another build than dist/cli.js. Never prints order data or credentials.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, loadAverage, stopServer, waitReady } from './serverChild';

const ROOT = path.resolve(__dirname, '..', '..');
/** BENCH_CLI: another build of the service (e.g. one kept from before a change), default dist/cli.js. */
const CLI = path.resolve(process.env.BENCH_CLI ?? path.join(ROOT, 'dist', 'cli.js'));
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const TEMPLATE = process.env.BENCH_TEMPLATE ?? 'cn-4copy';
/** Where the preload writes the child's peak RSS (kB) on exit. */
const PEAK_FILE_ENV = 'BENCH_PEAK_RSS_FILE';

interface Run {
  path: 'cli' | 'api';
  n: number;
  seconds: number;
  peakKb: number;
  bytes: number;
  /** API runs: the longest a /healthz request, sent every 10 ms on another connection, waited during the batch. */
  longestWaitMs?: number;
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: npm run build first');
  const samples = fs
    .readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  console.log(`machine: ${os.cpus().length} CPU(s), Node ${process.version}, load average before: ${loadAverage()}`);
  console.log(`template ${TEMPLATE}; each run a fresh child process and data dir\n`);

  const runs: Run[] = [];
  for (const n of SIZES) {
    const ndjson = Array.from({ length: n }, (_, i) => JSON.stringify({ ...samples[i % samples.length]!, orderId: `MEM-${i}` })).join('\n') + '\n';
    runs.push(await cliRun(n, ndjson));
    report(runs.at(-1)!);
    runs.push(await apiRun(n, ndjson));
    report(runs.at(-1)!);
  }
  console.log();
  printTable(runs);
  for (const p of ['cli', 'api'] as const) {
    const small = runs.find((r) => r.path === p && r.n === Math.min(...SIZES));
    const big = runs.find((r) => r.path === p && r.n === Math.max(...SIZES));
    if (small && big && small !== big)
      console.log(`${p}: peak at ${big.n} / peak at ${small.n} = ${(big.peakKb / small.peakKb).toFixed(2)} (target ≤ 1.20, and ≤ 300 MB at 10,000)`);
  }
  console.log(`load average after: ${loadAverage()}`);
}

/** `waybill print` of n orders into a PDF file, one process from start to exit. */
async function cliRun(n: number, ndjson: string): Promise<Run> {
  return withDataDir(async (dir, env) => {
    const orders = path.join(dir, 'orders.ndjson');
    fs.writeFileSync(orders, ndjson);
    const out = path.join(dir, 'out.pdf');
    const peakFile = path.join(dir, 'peak-cli');
    const started = process.hrtime.bigint();
    await run(['print', orders, '--template', TEMPLATE, '--out', out], { ...env, [PEAK_FILE_ENV]: peakFile });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { path: 'cli', n, seconds, peakKb: readPeak(peakFile), bytes: fs.statSync(out).size };
  });
}

/** `waybill serve`, one NDJSON batch of n orders, the PDF read to the end and dropped, then SIGTERM. */
async function apiRun(n: number, ndjson: string): Promise<Run> {
  return withDataDir(async (dir, env) => {
    const key = await credential(['keys', 'create', '--role', 'warehouse', '--name', 'bench', '--client', 'bench'], env);
    const port = await freePort();
    const peakFile = path.join(dir, 'peak-api');
    const child = spawn(process.execPath, ['--require', __filename, CLI, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      // One lone process (no cluster primary and workers): the process measured is the one that renders.
      env: { ...env, WAYBILL_WORKERS: '1', [PEAK_FILE_ENV]: peakFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString('utf8')).slice(-4000)));
    try {
      await waitReady(`http://127.0.0.1:${port}`, child, () => log);
      const started = process.hrtime.bigint();
      const probe = healthProbe(port);
      const { status, bytes } = await postBatch(port, key, ndjson).finally(() => probe.stop());
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (status !== 201) throw new Error(`the batch answered ${status}`);
      const longestWaitMs = await probe.longest;
      await stopServer(child);
      return { path: 'api', n, seconds, peakKb: readPeak(peakFile), bytes, longestWaitMs };
    } finally {
      await stopServer(child);
    }
  });
}

/**
 * GET /healthz every 10 ms on a connection of its own until stopped: the longest answer is how long the
 * batch held the process's event loop in one piece, which every other request (a scan) waits out too.
 */
function healthProbe(port: number): { stop(): void; longest: Promise<number> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const longest = (async () => {
    let max = 0;
    while (running) {
      const sent = performance.now();
      await new Promise<void>((resolve, reject) => http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
      max = Math.max(max, performance.now() - sent);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    agent.destroy();
    return max;
  })();
  return { stop: () => (running = false), longest };
}

function postBatch(port: number, key: string, body: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/v1/batches?template=${encodeURIComponent(TEMPLATE)}`,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson', accept: 'application/pdf' },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function withDataDir<T>(work: (dir: string, env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-membench-'));
  try {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAYBILL_') && k !== PEAK_FILE_ENV));
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      WAYBILL_DATA_DIR: dir,
      WAYBILL_LOG_LEVEL: 'silent',
      // Each number gives 10,000 four-digit extensions and each waybill binds two: room for 50,000 waybills.
      WAYBILL_RELAY_NUMBERS: Array.from({ length: 10 }, (_, i) => `+86170000000${String(i + 1).padStart(2, '0')}`).join(','),
    };
    await run(['init'], env);
    return await work(dir, env);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const preload = env[PEAK_FILE_ENV] ? ['--require', __filename] : [];
    execFile(process.execPath, [...preload, CLI, ...args], { env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      // stderr names field paths and counts, never order data; credentials are not printed by these commands.
      reject(new Error(`waybill ${args[0]} failed (exit ${error.code ?? error.signal}): ${stderr.split('\n').slice(-5).join('\n')}`));
    });
  });
}

/** Runs `waybill keys create …` and returns the credential, its only output; the credential itself is never shown. */
async function credential(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run(args, env);
  const found = /^(wb[a-z]_\S+)$/m.exec(stdout)?.[1];
  if (!found) throw new Error('waybill keys create printed no credential');
  return found;
}

function readPeak(file: string): number {
  const kb = Number(fs.readFileSync(file, 'utf8'));
  if (!(kb > 0)) throw new Error('the child wrote no peak RSS');
  return kb;
}


function report(r: Run): void {
  const wait = r.longestWaitMs === undefined ? '' : `, longest /healthz wait ${r.longestWaitMs.toFixed(0)} ms`;
  console.log(`${r.path} ${r.n}: ${r.seconds.toFixed(1)} s, peak RSS ${(r.peakKb / 1024).toFixed(0)} MB, ${(r.bytes / 1e6).toFixed(1)} MB of PDF${wait}`);
}

function printTable(runs: Run[]): void {
  const rows = [
    ['path', 'N', 'seconds', 'waybills/s', 'peak RSS MB', 'PDF MB', 'longest /healthz wait ms'],
    ...runs.map((r) => [r.path, String(r.n), r.seconds.toFixed(1), (r.n / r.seconds).toFixed(0), (r.peakKb / 1024).toFixed(0), (r.bytes / 1e6).toFixed(1), r.longestWaitMs === undefined ? '—' : r.longestWaitMs.toFixed(0)]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const format = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(format(r));
}


if (process.env[PEAK_FILE_ENV]) {
  // The preload side (see the header): the measured child records its own high-water mark.
  const file = process.env[PEAK_FILE_ENV];
  process.on('exit', () => fs.writeFileSync(file, String(process.resourceUsage().maxRSS)));
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
