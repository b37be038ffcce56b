// `npm run bench:search`: waybill search at a million waybills, on SQLite and (when reachable) on
// PostgreSQL. Fills a throw-away database with minimal waybill rows (no sealed data: search never
// reads it) in transactions of 10,000, then times the repository's search, the statement the API runs,
// for typical queries: the newest page, by order id, by status within a 30-day window (page 1, and
// page 5 through the cursor), and an admin's newest page over every client. Prints each query plan
// (EXPLAIN) and p50/p99 in milliseconds; asserts nothing.
// BENCH_WAYBILLS (default 1,000,000) and BENCH_RUNS (timed runs per query, default 200) change it;
// BENCH_PG_URL names the PostgreSQL server (a database is created there and dropped afterwards).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { openPostgres, sqliteDatabase, step, type Database } from '../store/database';
import { SqliteStore } from '../store/sqliteStore';
import { SqlWaybillRepository, searchQuery } from '../store/waybillRepository';
import { OutboxWriter } from '../store/webhookOutbox';
import { WAYBILL_STATUSES, type WaybillSearch } from '../waybills/waybillStore';

const TOTAL = Number(process.env.BENCH_WAYBILLS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TX_ROWS = 10_000;
const CHUNK = 1_000; // rows per INSERT: 11 columns, well under both databases' parameter limits
const DAYS = 180;
const END = Date.parse('2026-06-30T00:00:00.000Z');
const PAGE = 50;

/** Half the waybills belong to one big client, the rest to 50 small ones; most are delivered. */
const STATUS_WEIGHTS: [(typeof WAYBILL_STATUSES)[number], number][] = [
  ['created', 5],
  ['printed', 20],
  ['picked_up', 15],
  ['delivered', 50],
  ['returned', 5],
  ['cancelled', 5],
];
const clientOf = (i: number) => (i % 2 === 0 ? 'big' : `small-${String(i % 101).padStart(3, '0')}`);
function statusOf(i: number): string {
  let r = (i * 7919) % 100;
  for (const [s, w] of STATUS_WEIGHTS) if ((r -= w) < 0) return s;
  return 'delivered';
}
/** Spread over DAYS, newest last, a few per millisecond share a time (as a batch's waybills do). */
const createdAtOf = (i: number) => new Date(END - Math.floor(((TOTAL - i) / TOTAL) * DAYS * 86_400_000)).toISOString();

async function fill(d: Database): Promise<number> {
  const started = performance.now();
  const { db } = d;
  for (let from = 0; from < TOTAL; from += TX_ROWS) {
    const to = Math.min(TOTAL, from + TX_ROWS);
    await d.transaction(function* () {
      for (let i = from; i < to; i += CHUNK) {
        const rows = [];
        for (let n = i; n < Math.min(to, i + CHUNK); n++)
          rows.push({
            id: randomUUID(),
            waybill_no: `BN${String(n).padStart(10, '0')}`,
            carrier: 'ZT',
            order_id: `O-${n}`,
            client_id: clientOf(n),
            created_at: createdAtOf(n),
            token_hash: `t${n}`,
            status: statusOf(n),
            purge_after: '2027-01-01T00:00:00.000Z',
            key_id: 'bench',
            relay_unavailable: 0,
          });
        yield* step(db.insertInto('waybills').values(rows));
      }
    });
    if (to % 200_000 === 0) process.stdout.write(`  ${to} rows, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  return (performance.now() - started) / 1000;
}

interface Case {
  name: string;
  /** The search to time; may first walk pages to find its cursor. */
  search: (repo: SqlWaybillRepository) => Promise<WaybillSearch>;
}

const windowFrom = new Date(END - 60 * 86_400_000).toISOString();
const windowTo = new Date(END - 30 * 86_400_000).toISOString();
const CASES: Case[] = [
  { name: 'newest page (client)', search: async () => ({ clientId: 'big', limit: PAGE + 1 }) },
  { name: 'by orderId (client)', search: async () => ({ clientId: 'big', orderId: `O-${2 * Math.floor(Math.random() * (TOTAL / 2))}`, limit: PAGE + 1 }) },
  { name: 'status + 30 days, page 1', search: async () => ({ clientId: 'big', status: 'delivered', createdFrom: windowFrom, createdTo: windowTo, limit: PAGE + 1 }) },
  {
    name: 'status + 30 days, page 5',
    search: async (repo) => {
      const q: WaybillSearch = { clientId: 'big', status: 'delivered', createdFrom: windowFrom, createdTo: windowTo, limit: PAGE + 1 };
      let after: WaybillSearch['after'];
      for (let p = 0; p < 4; p++) {
        const rows = (await repo.searchWaybills({ ...q, ...(after ? { after } : {}) })).slice(0, PAGE);
        after = { createdAt: rows[rows.length - 1]!.createdAt, id: rows[rows.length - 1]!.id };
      }
      return { ...q, after };
    },
  },
  { name: 'rare status, newest (client)', search: async () => ({ clientId: 'big', status: 'created', limit: PAGE + 1 }) },
  { name: 'small client, newest', search: async () => ({ clientId: 'small-007', limit: PAGE + 1 }) },
  { name: 'admin newest page (all)', search: async () => ({ limit: PAGE + 1 }) },
  { name: 'admin by orderId (all)', search: async () => ({ orderId: `O-${Math.floor(Math.random() * TOTAL)}`, limit: PAGE + 1 }) },
];

async function plan(d: Database, q: WaybillSearch): Promise<string> {
  const compiled = searchQuery(d.db, q).compile();
  const prefix = d.dialect === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ';
  const { rows } = await d.db.executeQuery(CompiledQuery.raw(prefix + compiled.sql, [...compiled.parameters]));
  return (rows as Record<string, unknown>[]).map((r) => String(r.detail ?? r['QUERY PLAN'])).join(' | ');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(label: string, d: Database): Promise<void> {
  const repo = new SqlWaybillRepository(d, new OutboxWriter());
  console.log(`\n${label}`);
  console.log('query                           rows   p50 ms   p99 ms   plan');
  for (const c of CASES) {
    const times: number[] = [];
    let rows = 0;
    for (let r = 0; r < 10; r++) await repo.searchWaybills(await c.search(repo)); // warm-up
    for (let r = 0; r < RUNS; r++) {
      const q = await c.search(repo);
      const t0 = performance.now();
      rows = (await repo.searchWaybills(q)).length;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const explained = await plan(d, await c.search(repo));
    console.log(`${c.name.padEnd(30)} ${String(Math.min(rows, PAGE)).padStart(5)} ${percentile(times, 50).toFixed(2).padStart(8)} ${percentile(times, 99).toFixed(2).padStart(8)}   ${explained}`);
  }
}

async function sqlite(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-searchbench-'));
  const store = SqliteStore.open(path.join(dir, 'waybill.db'));
  try {
    const d = sqliteDatabase(store.database);
    console.log(`SQLite: filling ${TOTAL} waybills`);
    const secs = await fill(d);
    console.log(`  filled in ${secs.toFixed(1)} s (${Math.round(TOTAL / secs)} rows/s)`);
    store.database.exec('ANALYZE');
    await measure(`SQLite, ${TOTAL} waybills`, d);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch {
    console.log(`\nPostgreSQL: not reachable at ${new URL(ADMIN_URL).host}; skipped`);
    return;
  }
  const dbName = `waybill_searchbench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  try {
    const d = await openPostgres(url.toString(), 4);
    try {
      console.log(`\nPostgreSQL at ${url.host}: filling ${TOTAL} waybills`);
      const secs = await fill(d);
      console.log(`  filled in ${secs.toFixed(1)} s (${Math.round(TOTAL / secs)} rows/s)`);
      await d.db.executeQuery(CompiledQuery.raw('VACUUM ANALYZE waybills'));
      await measure(`PostgreSQL, ${TOTAL} waybills`, d);
    } finally {
      await d.close();
    }
  } finally {
    await admin.query(`DROP DATABASE ${dbName}`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${os.cpus().length} CPU(s), Node ${process.version}; ${RUNS} timed runs per query, page size ${PAGE}`);
  await sqlite();
  await postgres();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
