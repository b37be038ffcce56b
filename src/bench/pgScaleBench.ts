// `npm run bench:pg`: create → JSON on PostgreSQL with one service instance, then with two instances
// sharing the database (each its own process, as deployed). Same total connections in both runs, split
// evenly over the instances. Uses a throw-away database created next to BENCH_PG_URL's and dropped
// afterwards. Prints req/s and p50/p99; asserts nothing (the instances, PostgreSQL and the load
// generator share this machine's CPUs). Never prints credentials or order data.
// BENCH_DURATION (seconds, default 15) and BENCH_CONNECTIONS (default 10) change the runs.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { openStores } from '../store/openStores';
import { stopServer, throwAwayPgDatabase } from './serverChild';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function main(): Promise<void> {
  const orders = fs
    .readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const database = await throwAwayPgDatabase(ADMIN_URL);
  const url = new URL(database.url);
  const dirs: string[] = [];
  const servers: ChildProcess[] = [];
  try {
    // The instances' token key binds the key's row, as theirs do.
    const tokenKey = randomBytes(32);
    const stores = await openStores({ backend: 'postgres', url: url.toString() }, undefined, tokenKey);
    const key = (await stores.apiKeys.add({ name: 'bench', role: 'warehouse', client: 'bench' }, new Date())).credential;
    await stores.close();
    const env: NodeJS.ProcessEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAYBILL_') && k !== 'DATABASE_URL')),
      DATABASE_URL: url.toString(),
      WAYBILL_MASTER_KEY: randomBytes(32).toString('base64'),
      WAYBILL_TOKEN_KEY: tokenKey.toString('base64'),
      WAYBILL_LOG_LEVEL: 'silent',
      WAYBILL_API_RATE_PER_SECOND: '1000000',
      WAYBILL_RELAY_NUMBERS: Array.from({ length: 10 }, (_, i) => `+86170000000${String(i + 1).padStart(2, '0')}`).join(','),
    };
    console.log(`machine: ${os.cpus().length} CPU(s), Node ${process.version}; PostgreSQL at ${url.host}; ${DURATION} s per run, ${CONNECTIONS} connections in total`);
    let seq = 0;
    const load = (base: string, connections: number, options: { duration?: number; amount?: number }) =>
      autocannon({
        url: base,
        method: 'POST',
        connections,
        ...options,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
        requests: [
          {
            path: '/v1/waybills',
            setupRequest: (req) => {
              const n = seq++;
              req.body = JSON.stringify({ ...orders[n % orders.length]!, orderId: `P-${n}` });
              return req;
            },
          },
        ],
      });

    const results: { instances: number; reqs: number; p50: number[]; p99: number[]; non2xx: number }[] = [];
    for (const count of [1, 2]) {
      while (servers.length < count) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-pgbench-'));
        dirs.push(dir);
        servers.push(await start({ ...env, WAYBILL_DATA_DIR: dir }));
      }
      const bases = await Promise.all(servers.map((s) => baseOf(s)));
      await Promise.all(bases.map((b) => load(b, Math.max(1, Math.floor(CONNECTIONS / count)), { amount: 200 }))); // warm-up, not reported
      const runs = await Promise.all(bases.map((b) => load(b, Math.max(1, Math.floor(CONNECTIONS / count)), { duration: DURATION })));
      const r = {
        instances: count,
        reqs: runs.reduce((sum, x) => sum + x.requests.total / x.duration, 0),
        p50: runs.map((x) => x.latency.p50),
        p99: runs.map((x) => x.latency.p99),
        non2xx: runs.reduce((sum, x) => sum + x.non2xx + x.errors, 0),
      };
      results.push(r);
      console.log(`create → JSON, ${count} instance(s): ${r.reqs.toFixed(0)} req/s, p50 ${r.p50.join('/')} ms, p99 ${r.p99.join('/')} ms, non-2xx+errors ${r.non2xx}`);
    }
    const check = await openStores({ backend: 'postgres', url: url.toString() });
    const verified = await check.audit.verify();
    await check.close();
    console.log(`audit chain after the runs: ${verified.ok ? `intact, ${verified.count} records` : `BROKEN (${verified.message})`}`);
  } finally {
    await Promise.all(servers.map(stopServer));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    await database.drop();
  }
}

const bases = new WeakMap<ChildProcess, Promise<string>>();
function start(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--workers', '1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  bases.set(
    child,
    new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        said += d.toString('utf8');
        const m = /listening on (http:\/\/\S+)/.exec(said);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${said.slice(-2000)}`)));
    }),
  );
  return bases.get(child)!.then(() => child);
}

function baseOf(child: ChildProcess): Promise<string> {
  return bases.get(child)!;
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
