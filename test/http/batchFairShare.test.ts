// Batches share the service fairly: a client runs at most its number of batches at once across every
// instance on the database (503 beyond, other clients unaffected), and a batch whose client stops
// reading is cut off after WAYBILL_BATCH_IDLE_SECONDS, its provisional relay numbers back in the pool.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(180_000);


/** Enough JSON waybills (~9 MB) that a client reading none fills every buffer on the way (kernel ones grow to a few MB). */
const STALLING_BATCH = 3000;

interface Instance {
  services: Services;
  running: RunningService;
  logs: string[];
}

let seq = 0;
const orders = (n: number) => Array.from({ length: n }, () => ({ ...ZT, orderId: `FS-${process.pid}-${++seq}` }));

/** Service instances on the test database, sharing its keys as they share it. */
async function instances(db: TestDatabase, count: number, env: Record<string, string>): Promise<Instance[]> {
  const dir = db.location.backend === 'sqlite' ? path.dirname(db.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-fair-'));
  const config = loadConfig({
    WAYBILL_DATA_DIR: dir,
    ...(db.location.backend === 'postgres' ? { DATABASE_URL: db.location.url } : {}),
    WAYBILL_MASTER_KEY: randomBytes(32).toString('base64'),
    WAYBILL_TOKEN_KEY: randomBytes(32).toString('base64'),
    WAYBILL_RELAY_NUMBERS: '+8617000000001',
    WAYBILL_API_RATE_PER_SECOND: '10000',
    ...env,
  });
  const started: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const services = await openServices(config, () => {});
    const logs: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => logs.push(c.toString('utf8')));
    started.push({ services, running: await serveCommand(['--port', '0'], services, () => {}, stream), logs });
  }
  return started;
}

async function stop(all: Instance[]): Promise<void> {
  for (const i of all) {
    await i.running.shutdown();
    await i.services.close();
  }
}

async function credential(services: Services, client: string): Promise<string> {
  const lines: string[] = [];
  expect(await apiKeyCommand(['create', '--role', 'warehouse', '--name', `${client} wms`, '--client', client], services, (l) => lines.push(l))).toBe(0);
  return /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
}

const batch = (i: Instance, key: string, n: number) =>
  fetch(`${i.running.url}/v1/batches?format=json`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ orders: orders(n) }) });

/** A batch posted by a client that never reads the answer: a raw socket, paused from the start. */
function stalledBatch(i: Instance, key: string): net.Socket {
  const body = JSON.stringify({ orders: orders(STALLING_BATCH) });
  const socket = net.connect(Number(new URL(i.running.url).port), '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  socket.write(
    `POST /v1/batches?format=json HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return socket;
}

/** Waits for a condition the service reaches on its own (bounded, so a broken rule fails instead of hanging). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never happened: ${what}`);
}

const count = async (db: TestDatabase, sql: string, ...params: unknown[]) => Number((await db.query(sql, ...params))[0]!.n);

describe.each(STORE_BACKENDS)('%s batches shared fairly', (_name, backend) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await backend.open();
  });
  afterEach(() => db.close());

  it('runs at most WAYBILL_MAX_CONCURRENT_BATCHES_PER_CLIENT batches of a client across two instances; other clients still get theirs', async () => {
    const [a, b] = await instances(db, 2, { WAYBILL_MAX_CONCURRENT_BATCHES_PER_CLIENT: '2', WAYBILL_MAX_CONCURRENT_BATCHES: '8', WAYBILL_BATCH_IDLE_SECONDS: '600' });
    try {
      const acme = await credential(a!.services, 'acme');
      const beta = await credential(a!.services, 'beta');
      const stalled = [stalledBatch(a!, acme), stalledBatch(b!, acme)];
      await until('both acme batches run', async () => (await count(db, "SELECT count(*) AS n FROM print_leases WHERE client_id = 'acme'")) === 2);

      for (const i of [a!, b!]) {
        const refused = await batch(i, acme, 2);
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('5');
        expect(((await refused.json()) as { detail: string }).detail).toMatch(/too many batches of this client/);
      }
      const served = await batch(b!, beta, 2);
      expect(served.status).toBe(201);
      await served.arrayBuffer();

      for (const s of stalled) s.destroy(); // the clients go away: their batches end, their slots free up
      await until('acme batches ended', async () => (await count(db, "SELECT count(*) AS n FROM print_leases WHERE client_id = 'acme'")) === 0);
      const again = await batch(b!, acme, 2);
      expect(again.status).toBe(201);
      await again.arrayBuffer();
    } finally {
      await stop([a!, b!]);
    }
  });

  it('cuts off a batch whose client stops reading for WAYBILL_BATCH_IDLE_SECONDS: relay numbers of pages never sent go back, those sent stay quarantined', async () => {
    const [a] = await instances(db, 1, { WAYBILL_BATCH_IDLE_SECONDS: '1' });
    try {
      const acme = await credential(a!.services, 'acme');
      const socket = stalledBatch(a!, acme);
      await until('the batch is cut off', async () => a!.logs.some((l) => l.includes('"batch_aborted"')));
      // One level per line, pino's: a second "level" key breaks a log reader's filter on it.
      const line = a!.logs.join('').split('\n').find((l) => l.includes('"batch_aborted"'))!;
      expect([line.match(/"level":/g)?.length, JSON.parse(line).level]).toEqual([1, 40]);
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.resume(); // drain what reached us: the server ended the connection
      await closed;
      // The cut answer has its request line too, marked as such.
      await until('the cut answer is logged', async () => a!.logs.join('').split('\n').some((l) => l.includes('"route":"/v1/batches"') && l.includes('"aborted":true')));

      expect(await count(db, 'SELECT count(*) AS n FROM waybills')).toBe(0);
      expect(await count(db, 'SELECT count(*) AS n FROM print_leases')).toBe(0);
      // No binding stays provisional; each one left is ended, holding its slot in quarantine, and is one of
      // the streamed pages' (a claim ahead of the last page sent goes back to the pool).
      const left = await count(db, 'SELECT count(*) AS n FROM relay_bindings');
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(2 * STALLING_BATCH);
      expect(await count(db, 'SELECT count(*) AS n FROM relay_bindings WHERE lease_id IS NULL AND ended_at IS NOT NULL AND sealed IS NULL')).toBe(left);
      expect(await count(db, 'SELECT count(*) AS n FROM relay_slots WHERE held_until > ?', new Date(Date.now() + 80 * 86_400_000).toISOString())).toBe(left);
      // A number + extension read off a page the client received reaches nobody.
      const [, ext] = /170 0000 0001 转 (\d+)/.exec(Buffer.concat(received).toString('utf8'))!;
      expect(await a!.services.relay!.resolve({ to: '+8617000000001', ext: ext! }, new Date())).toMatchObject({ action: 'reject', reason: 'expired' });
      const next = await batch(a!, acme, 1);
      expect(next.status).toBe(201);
      await next.arrayBuffer();
    } finally {
      await stop([a!]);
    }
  });
});
