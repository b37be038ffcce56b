// Fuzzing the HTTP API: well over a thousand malformed or hostile requests against a real server. Whatever
// arrives, the answer is never a 5xx, every error is problem+json with type, title, status, detail and the
// request id, and the service keeps serving afterwards. Cases come from a seeded PRNG, one stream per
// case, so a failure names its case and generator and can be replayed alone:
//   FUZZ_SEED=<seed> FUZZ_CASE=<n> npx jest test/http/fuzz.test.ts
// (FUZZ_CASES=<count> runs a longer barrage). The first cases sweep every field path of the sample orders
// with every other JSON type; the rest are drawn from the weighted generators in test/support/fuzz/.
// Failures never print a request or response body (bodies may be huge, and hold personal data).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { GENERATORS, caseFor } from '../support/fuzz/cases';
import { clone } from '../support/fuzz/jsonPaths';
import { judge, pool } from '../support/fuzz/judge';
import { SAMPLES, auth, json, jsonHeaders, type World } from '../support/fuzz/requests';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const CASES = Number(process.env.FUZZ_CASES ?? 1500);
const ONLY = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
const CONCURRENCY = 8;

describe('HTTP API under fuzzing', () => {
  let dir: string;
  let services: Services;
  let running: RunningService;
  let base: string;
  let world: World;

  const credential = async (args: string[]) => {
    const lines: string[] = [];
    await apiKeyCommand(['create', ...args], services, (l) => lines.push(...l.split('\n')));
    const found = lines.map((l) => /^(wb[ckt]_\S+)$/.exec(l)?.[1]).find(Boolean);
    if (!found) throw new Error(`no credential printed for ${args.slice(0, 2).join(' ')}`);
    return found;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-fuzz-'));
    const config = loadConfig({
      WAYBILL_DATA_DIR: dir,
      WAYBILL_RELAY_NUMBERS: '+8617000000001',
      WAYBILL_BATCH_BODY_LIMIT: '1mb',
      WAYBILL_LOG_LEVEL: 'silent',
      // The per-key rate limit would turn the barrage into 429s and hide what each case is about.
      WAYBILL_API_RATE_PER_SECOND: '100000',
      // Likewise the telephony budget, and sweep detection, which would suspend the PBX after 30 unknown extensions.
      WAYBILL_TELEPHONY_REQUESTS_PER_SECOND: '100000',
      WAYBILL_TELEPHONY_UNKNOWN_PER_MINUTE: '100000',
      WAYBILL_TELEPHONY_UNKNOWN_PER_HOUR: '100000',
      WAYBILL_TELEPHONY_BINDINGS_PER_HOUR: '100000',
      WAYBILL_TELEPHONY_BINDINGS_PER_DAY: '100000',
      // And failed-authentication throttling, which would answer the bad-credential cases 429 instead of 401.
      WAYBILL_AUTH_FAILURES_PER_MINUTE: '100000',
      WAYBILL_AUTH_FAILURE_BURST: '100000',
      // More batch slots than requests in flight (plus a few abandoned ones still winding down), so a 503
      // can only mean batches that never gave their slot back.
      WAYBILL_MAX_CONCURRENT_BATCHES: String(CONCURRENCY + 4),
    });
    services = await openServices(config, () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    base = running.url;
    const warehouse = await credential(['--role', 'warehouse', '--name', 'wh', '--client', 'acme']);
    const courier = await credential(['--role', 'courier', '--name', 'c1', '--carrier', 'ZT', '--outlet', 'HZ-01', '--device', 'HH-1']);
    const telephony = await credential(['--role', 'telephony', '--name', 'pbx']);
    const order = { ...clone(SAMPLES.find((o) => o.carrier === 'ZT')!), orderId: 'FZ-setup' };
    const created = await fetch(`${base}/v1/waybills?format=json`, { method: 'POST', headers: jsonHeaders(warehouse), body: json(order) });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; waybillNo: string };
    world = { warehouse, courier, telephony, waybillId: body.id, waybillNo: body.waybillNo };
  });

  afterAll(async () => {
    await running?.shutdown();
    await services?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${CASES} hostile requests without a 5xx, always with problem+json errors, and keeps serving`, async () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const failures: string[] = [];
    const seen = new Map<string, number>();
    const numbers = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
    const started = Date.now();

    await pool(numbers, CONCURRENCY, async (n) => {
      // Built when sent, so at most CONCURRENCY big bodies are held at once.
      let generator = 'unknown';
      try {
        const c = caseFor(SEED, n, world);
        generator = c.generator;
        seen.set(generator, (seen.get(generator) ?? 0) + 1);
        const failure = await judge(base, n, generator, c.request);
        if (failure) failures.push(failure);
      } catch (e) {
        failures.push(`case ${n} (${generator}): generator or check threw ${(e as Error).name}`);
      }
    });

    const seconds = (Date.now() - started) / 1000;
    if (failures.length)
      process.stderr.write(`fuzz seed ${SEED}: ${failures.length} of ${numbers.length} cases failed; replay one with FUZZ_SEED=${SEED} FUZZ_CASE=<n>\n`);
    else process.stderr.write(`fuzz seed ${SEED}: ${numbers.length} cases in ${seconds.toFixed(1)} s (${[...seen].map(([g, c]) => `${g} ${c}`).join(', ')})\n`);
    expect(failures.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))).toEqual([]);
    if (ONLY === undefined) {
      expect(numbers.length).toBeGreaterThanOrEqual(1000);
      expect(seen.size).toBe(GENERATORS.length + 1); // and the sweep
    }

    // Nothing leaked into the prototype of every object in this process.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();

    // And the service still serves.
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const order = { ...clone(SAMPLES[0]!), orderId: 'FZ-after-the-barrage' };
    const created = await fetch(`${base}/v1/waybills`, { method: 'POST', headers: jsonHeaders(world.warehouse), body: json(order) });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { orderId: string }).orderId).toBe('FZ-after-the-barrage');
    const read = await fetch(`${base}/v1/waybills/${world.waybillId}`, { headers: auth(world.warehouse) });
    expect(read.status).toBe(200);
    // Batches still render: none of the abandoned ones is still counted as running.
    const batch = await fetch(`${base}/v1/batches?template=cn-1ply-76x130`, {
      method: 'POST',
      headers: jsonHeaders(world.warehouse),
      body: json({ orders: [{ ...clone(SAMPLES[1]!), orderId: 'FZ-batch-after-the-barrage' }] }),
    });
    expect(batch.status).toBe(201);
    expect(Buffer.from(await batch.arrayBuffer()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 180_000);
});
