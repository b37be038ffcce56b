// The QR is the single door to an address. These tests walk through it like a courier's handheld does,
// against a real server on an ephemeral port and real SQLite files: print → decode the QR from the
// printed label → scan → delivered → after the grace period, gone for ever.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { createApp } from '../../src/http/app';
import { createServer } from '../../src/http/server';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills } from '../../src/printing/printWaybills';
import { LabelSink } from '../../src/printing/waybillSink';
import { PdfRenderer } from '../../src/render/pdfRenderer';
import { TelephonyClients } from '../../src/relay/telephonyClients';
import { SqlTelephonyClientRepository } from '../../src/store/telephonyClientRepository';
import { ApiKeyStore } from '../../src/auth/apiKeyStore';
import { SqlApiKeyRepository } from '../../src/store/apiKeyRepository';
import { sqliteDatabase } from '../../src/store/database';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { IdempotencyStore } from '../../src/http/idempotency';
import { SqlIdempotencyRepository } from '../../src/store/idempotencyRepository';
import { RateBuckets } from '../../src/http/rateLimit';
import { SqlRateBucketRepository } from '../../src/store/rateBucketRepository';
import { CourierStore } from '../../src/couriers/courierStore';
import { SqlCourierRepository } from '../../src/store/courierRepository';
import { SqliteStore } from '../../src/store/sqliteStore';
import { purgeDue } from '../../src/waybills/lifecycle';
import { rewrapAll, retireBlocker } from '../../src/waybills/keyRotation';
import type { Keys } from '../../src/vault/keyFile';
import { decodeBarcodes } from '../support/barcodes';
import { rasterisePdf } from '../support/pdfProbe';
import { expectAbsent } from '../support/expectAbsent';
import { requestBurst } from '../support/requestBurst';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-1ply-76x130');
const DAY = 86_400_000;
const LIMITS = { perMinute: 30, distinctPerDay: 5, harvestDistinctPerDay: 8, harvestUnknownPerHour: 4, harvestOutOfRoutePerDay: 3, strict: false };

interface World {
  dir: string;
  store: SqliteStore;
  audit: ChainedAuditLog;
  couriers: CourierStore;
  keys: Keys;
  admin: string; // an admin API key: cancellations are not a courier's to make
  clock: { now: Date };
  logs: string[];
  base: string;
  server: Server;
  tokens: string[]; // decoded from the printed labels, in order
  waybillNos: string[];
}

async function startWorld(opts: { strict?: boolean; orders?: typeof orders } = {}): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-scan-'));
  const store = SqliteStore.open(path.join(dir, 'waybill.db'));
  const audit = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database)));
  const couriers = new CourierStore(new SqlCourierRepository(sqliteDatabase(store.database)));
  const apiKeys = new ApiKeyStore(new SqlApiKeyRepository(sqliteDatabase(store.database)));
  const keys: Keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
  const clock = { now: new Date('2026-11-23T08:00:00Z') };
  const logs: string[] = [];
  const printed = opts.orders ?? orders.slice(0, 3);
  const pdf = path.join(dir, 'labels.pdf');
  const summary = await printWaybills(
    { store, audit, keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 30, now: () => clock.now },
    { orders: printed, template, format: 'pdf', sink: new LabelSink(new PdfRenderer(fs.createWriteStream(pdf))), channel: 'cli', host: 'test', operator: 'test' },
  );
  // The token comes off the paper, as on a handheld: rasterise the label and decode its QR.
  const tokens: string[] = [];
  for (const page of await rasterisePdf(pdf, 203)) {
    const qr = (await decodeBarcodes(page)).find((b) => b.format === 'QR_CODE');
    tokens.push(qr!.text.replace('https://scan.example.com/w/', ''));
  }
  const app = createApp({
    store,
    audit,
    couriers,
    keys,
    limits: { ...LIMITS, strict: opts.strict ?? false },
    courierEvents: { eventsPerMinute: 60, closeBurst: 20 },
    retentionGraceDays: 7,
    api: {
      apiKeys,
      telephony: new TelephonyClients(new SqlTelephonyClientRepository(sqliteDatabase(store.database))),
      idempotency: new IdempotencyStore(new SqlIdempotencyRepository(sqliteDatabase(store.database))),
      templatesDir: path.join(ROOT, 'templates'),
      defaultTemplate: 'cn-1ply-76x130',
      scanBaseUrl: 'https://scan.example.com',
      pairingByApi: false,
      maxLifetimeDays: 30,
      batch: { maxOrders: 10, bodyLimit: '1mb', maxConcurrent: 1 },
      ratePerSecond: 1000,
      rateBuckets: new RateBuckets(new SqlRateBucketRepository(sqliteDatabase(store.database))),
    },
    now: () => clock.now,
    log: (e) => logs.push(JSON.stringify(e)),
  });
  const admin = (await apiKeys.add({ name: 'ops', role: 'admin' }, clock.now)).credential;
  const server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { dir, store, audit, couriers, keys, admin, clock, logs, base, server, tokens, waybillNos: summary.waybills.map((w) => w.waybillNo) };
}

async function stopWorld(w: World): Promise<void> {
  await new Promise((r) => w.server.close(r));
  await w.store.close();
  fs.rmSync(w.dir, { recursive: true, force: true });
}

async function scan(w: World, token: string, credential?: string, purpose = 'delivery') {
  const res = await fetch(`${w.base}/v1/scan/${token}?purpose=${purpose}`, { headers: credential ? { authorization: `Bearer ${credential}` } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
}

/** One courier's scans of these tokens in one burst (requestBurst.ts); their statuses. */
const scanBurst = (w: World, tokens: string[], credential: string) =>
  requestBurst(
    w.base,
    tokens.map((token) => ({ method: 'GET', path: `/v1/scan/${token}?purpose=delivery`, headers: { Authorization: `Bearer ${credential}` } })),
  );

/** Another connection (another `serve` worker, a CLI print) holds the file's write lock for `ms`. */
function holdWriteLock(w: World, ms: number): void {
  const other = new Database(path.join(w.dir, 'waybill.db'));
  other.prepare('BEGIN IMMEDIATE').run();
  setTimeout(() => (other.prepare('COMMIT').run(), other.close()), ms);
}

const courier = async (w: World, carrier: string, extra: Partial<{ routes: string[]; outlet: string }> = {}) =>
  (await w.couriers.add({ carrier: carrier as 'ZT', name: '王师傅', outlet: extra.outlet ?? 'HZ-XH01', routes: extra.routes ?? [], device: 'HH-0042' }, w.clock.now)).credential;

describe('courier scan API', () => {
  let w: World;
  beforeEach(async () => (w = await startWorld()));
  afterEach(async () => stopWorld(w));

  it('print → QR from the label → scan → delivered → shredded after the grace period → 410 for ever', async () => {
    const order = orders[0]!;
    const cred = await courier(w, order.carrier);
    const ok = await scan(w, w.tokens[0]!, cred);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ waybillNo: w.waybillNos[0], purpose: 'delivery', recipient: { name: order.recipient.name, address: order.recipient.address } });
    expect(ok.body.sender).toBeUndefined();
    // The courier dials a number that is never the real one.
    expectAbsent(ok.body.recipient.phone, [order.recipient.phone.slice(-8)], 'dialled number');
    expect(ok.body.recipient.phone).toMatch(/^\*{6,}\d{0,4} \/ \d+$/);
    // Without a relay binding the call button dials the carrier's service line, nothing else.
    expect(ok.body.recipient.dial).toEqual({ number: ok.body.recipient.phone.split(' / ')[1] });
    // The sender's details are for the courier holding the parcel.
    expect((await scan(w, w.tokens[0]!, cred, 'return')).status).toBe(403);

    // A pickup scan gives this courier custody rights: it picks the parcel up, then delivers it.
    expect((await scan(w, w.tokens[0]!, cred, 'pickup')).status).toBe(200);
    const post = async (type: string) =>
      (
        await fetch(`${w.base}/v1/waybills/${w.waybillNos[0]}/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
          body: JSON.stringify({ type }),
        })
      ).status;
    expect(await post('picked_up')).toBe(201);
    expect((await scan(w, w.tokens[0]!, cred, 'return')).body.sender.name).toBe(order.sender.name);
    expect(await post('delivered')).toBe(201);
    expect((await scan(w, w.tokens[0]!, cred)).status).toBe(200); // still live during the grace period

    w.clock.now = new Date(w.clock.now.getTime() + 7 * DAY + 1000);
    const deps = { store: w.store, audit: w.audit, retentionGraceDays: 7, now: () => w.clock.now };
    expect(await purgeDue(deps)).toBe(1);
    const gone = await scan(w, w.tokens[0]!, cred);
    expect(gone.status).toBe(410);
    expect(gone.type).toMatch(/application\/problem\+json/);
    expect((await w.store.findWaybillByNo(w.waybillNos[0]!))?.sealed).toBeUndefined();
    w.clock.now = new Date(w.clock.now.getTime() + 365 * DAY);
    expect((await scan(w, w.tokens[0]!, cred)).status).toBe(410);

    const actions = (await w.audit.forWaybill(w.waybillNos[0]!)).map((r) => `${r.action}:${r.outcome}`);
    expect(actions).toEqual(['print:ok', 'scan:ok', 'refuse:forbidden', 'scan:ok', 'event:picked_up', 'scan:ok', 'event:delivered', 'scan:ok', 'purge:shredded', 'refuse:gone', 'refuse:gone']);
    expect(await w.audit.verify()).toMatchObject({ ok: true });
  });

  it("opens a delivered parcel only for the courier who delivered it, or after an after-sales request: a label from the bin is worth nothing", async () => {
    const order = orders[0]!;
    const holder = await courier(w, order.carrier);
    const other = await courier(w, order.carrier, { outlet: 'HZ-XH02' });
    const post = async (key: string, body: unknown) =>
      (await fetch(`${w.base}/v1/waybills/${w.waybillNos[0]}/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect((await scan(w, w.tokens[0]!, holder, 'pickup')).status).toBe(200);
    expect(await post(holder, { type: 'picked_up' })).toBe(201);
    // On the way: another courier of the carrier still opens the delivery details, not the sender's.
    expect((await scan(w, w.tokens[0]!, other)).status).toBe(200);
    expect((await scan(w, w.tokens[0]!, other, 'return')).status).toBe(403);
    expect(await post(holder, { type: 'delivered' })).toBe(201);

    // Delivered: the label in the bin opens for no other courier, whatever the purpose; refusals count.
    for (const purpose of ['delivery', 'customer-service', 'return']) {
      const refused = await scan(w, w.tokens[0]!, other, purpose);
      expect([purpose, refused.status, refused.body.type]).toEqual([purpose, 403, expect.stringMatching(/forbidden$/)]);
      expectAbsent(JSON.stringify(refused.body), [order.recipient.name, order.recipient.phone.slice(-8)], 'refusal');
    }
    expect((await scan(w, w.tokens[0]!, holder)).status).toBe(200);

    // The buyer asks for a return: the courier sent to pick it up opens it, with the sender's details.
    expect(await post(w.admin, { type: 'after_sales' })).toBe(201);
    const pickup = await scan(w, w.tokens[0]!, other, 'return');
    expect(pickup.status).toBe(200);
    expect(pickup.body.sender.name).toBe(order.sender.name);
    const refusals = (await w.audit.forWaybill(w.waybillNos[0]!)).filter((r) => r.action === 'refuse').map((r) => `${r.actor === `courier:${other.split('_')[1]}` ? 'other' : 'holder'} ${r.outcome} ${r.purpose}`);
    expect(refusals).toEqual(['other forbidden return', 'other forbidden delivery', 'other forbidden customer-service', 'other forbidden return']);
  });

  it('answers 401, 403, 404, 400 and 429 as problem+json without personal data', async () => {
    const order = orders[0]!;
    const cred = await courier(w, order.carrier);
    const other = await courier(w, order.carrier === 'SF' ? 'ZT' : 'SF');
    const failures = async () => [...(await (await fetch(`${w.base}/metrics`)).text()).matchAll(/^waybill_auth_failures_total\{kind="[^"]+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const failed = await failures();
    const wrongRole = await scan(w, w.tokens[0]!, w.admin); // a valid key of another role: refused, no failed authentication
    expect([wrongRole.body.detail, await failures()]).toEqual(['this needs the role: courier', failed]);
    const cases = [
      [await scan(w, w.tokens[0]!), 401],
      [await scan(w, w.tokens[0]!, 'wbc_nobody_' + 'x'.repeat(43)), 401],
      [wrongRole, 403],
      [await scan(w, w.tokens[0]!, other), 404], // another carrier's token: as unknown (no oracle)
      [await scan(w, '1' + randomBytes(16).toString('base64url'), cred), 404],
      [await scan(w, w.tokens[0]!, cred, 'curiosity'), 400],
    ] as const;
    for (const [res, status] of cases) {
      expect(res.status).toBe(status);
      expect(res.type).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status, requestId: expect.any(String) });
      expectAbsent(JSON.stringify(res.body), [order.recipient.name], `${status} answer`);
    }
    expect(await failures()).toBe(failed + 2); // the two 401s
    for (let i = 0; i < LIMITS.perMinute; i++) await scan(w, w.tokens[0]!, cred);
    const limited = await scan(w, w.tokens[0]!, cred);
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
  });

  it('holds the per-minute limit when a courier fires many scans at once', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    const statuses = await scanBurst(w, Array(2 * LIMITS.perMinute).fill(w.tokens[0]!), cred);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMITS.perMinute);
    expect(statuses.filter((s) => s === 429)).toHaveLength(LIMITS.perMinute);
  });

  it('holds it too while the attempts wait for another process’s write lock', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    holdWriteLock(w, 300);
    const statuses = await scanBurst(w, Array(2 * LIMITS.perMinute).fill(w.tokens[0]!), cred);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMITS.perMinute);
    expect(statuses.filter((s) => s === 429)).toHaveLength(LIMITS.perMinute);
  });

  it('cancelled waybills answer 410', async () => {
    const cred = await courier(w, orders[1]!.carrier);
    await fetch(`${w.base}/v1/waybills/${w.waybillNos[1]}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'cancelled' }),
    });
    expect((await scan(w, w.tokens[1]!, cred)).status).toBe(410);
  });

  it('suspends a courier who probes unknown tokens, records an alert, and refuses them from then on', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    for (let i = 0; i < LIMITS.harvestUnknownPerHour; i++) expect((await scan(w, '1' + randomBytes(16).toString('base64url'), cred)).status).toBe(404);
    const after = await scan(w, w.tokens[0]!, cred);
    expect(after.status).toBe(403);
    expect(after.body.type).toMatch(/suspended/);
    const alerts = w.store.database.prepare('SELECT kind, detail FROM alerts').all();
    expect(alerts).toEqual([{ kind: 'courier_suspended', detail: 'too many unknown tokens' }]);
    expect((await w.audit.verify()).ok).toBe(true);
  });

  it("records a suspended or limited courier's retries once a minute, with how many went unrecorded", async () => {
    const cred = await courier(w, orders[0]!.carrier);
    const actor = `courier:${cred.split('_')[1]}`;
    const refusals = () =>
      (w.store.database.prepare("SELECT outcome, detail FROM audit_log WHERE actor = ? AND action = 'refuse' AND outcome IN ('limited', 'suspended') ORDER BY seq").all(actor) as { outcome: string; detail: string | null }[]).map(
        (r) => [r.outcome, JSON.parse(r.detail ?? '{}')],
      );
    for (let i = 0; i < LIMITS.perMinute; i++) await scan(w, w.tokens[0]!, cred);
    for (let i = 0; i < 5; i++) expect((await scan(w, w.tokens[0]!, cred)).status).toBe(429);
    expect(refusals()).toEqual([['limited', {}]]);
    // A minute on, probing unknown tokens suspends it; its retries are refused, on record once a minute.
    w.clock.now = new Date(w.clock.now.getTime() + 61_000);
    for (let i = 0; i < LIMITS.harvestUnknownPerHour; i++) expect((await scan(w, '1' + randomBytes(16).toString('base64url'), cred)).status).toBe(404);
    for (let i = 0; i < 10; i++) expect((await scan(w, w.tokens[0]!, cred)).status).toBe(403);
    expect(refusals()).toEqual([['limited', {}], ['suspended', {}]]);
    w.clock.now = new Date(w.clock.now.getTime() + 61_000);
    expect((await scan(w, w.tokens[0]!, cred)).status).toBe(403);
    expect(refusals()).toEqual([['limited', {}], ['suspended', {}], ['suspended', { repeated: 9 }]]);
    expect((await w.audit.verify()).ok).toBe(true);
  });

  it('suspends a courier whose burst of unknown tokens reaches the limit while writes wait, and refuses the rest of it', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    const unknown = Array.from({ length: 3 * LIMITS.harvestUnknownPerHour }, () => '1' + randomBytes(16).toString('base64url'));
    holdWriteLock(w, 300);
    const statuses = await scanBurst(w, unknown, cred);
    expect(statuses.filter((s) => s === 404)).toHaveLength(LIMITS.harvestUnknownPerHour);
    expect(statuses.filter((s) => s === 403)).toHaveLength(2 * LIMITS.harvestUnknownPerHour);
    expect(w.store.database.prepare('SELECT kind FROM alerts').all()).toEqual([{ kind: 'courier_suspended' }]); // one alert, not one per scan
  });

  it('refuses malformed tokens without a lookup and counts them as probes', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    expect((await scan(w, "1'%20OR%201=1--", cred)).status).toBe(404);
    expect((await scan(w, 'x'.repeat(500), cred)).status).toBe(404);
  });

  it('shows the consumer the same page for valid, unknown and expired tokens', async () => {
    const page = async (t: string) => {
      const res = await fetch(`${w.base}/w/${t}`);
      return `${res.status} ${res.headers.get('content-type')} ${await res.text()}`;
    };
    const valid = await page(w.tokens[0]!);
    expect(valid).toMatch(/^200 text\/html/);
    expect(valid).toContain('courier');
    expect(await page('1' + randomBytes(16).toString('base64url'))).toBe(valid);
    expect(await page('garbage')).toBe(valid);
    w.clock.now = new Date(w.clock.now.getTime() + 31 * DAY);
    await purgeDue({ store: w.store, audit: w.audit, retentionGraceDays: 7, now: () => w.clock.now });
    expect(await page(w.tokens[0]!)).toBe(valid);
  });

  it('keeps names, phones and streets out of the logs and the database file', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    await scan(w, w.tokens[0]!, cred);
    await scan(w, w.tokens[0]!, cred, 'return');
    // A purpose off the list is refused, and its text is neither audited (the log keeps forever) nor stored.
    const o = orders[0]!;
    const typed = `${o.recipient.name} ${'street' in o.recipient.address ? o.recipient.address.street : o.recipient.address.line1}`;
    expect((await scan(w, w.tokens[0]!, cred, encodeURIComponent(typed))).status).toBe(400);
    const reader = new Database(path.join(w.dir, 'waybill.db'), { readonly: true });
    expect(reader.prepare("SELECT purpose FROM audit_log WHERE outcome = 'invalid_purpose'").all()).toEqual([{ purpose: null }]);
    reader.close();
    const db = fs.readFileSync(path.join(w.dir, 'waybill.db')).toString('utf8') + (fs.existsSync(path.join(w.dir, 'waybill.db-wal')) ? fs.readFileSync(path.join(w.dir, 'waybill.db-wal')).toString('utf8') : '');
    const logs = w.logs.join('\n');
    for (const o of orders.slice(0, 3)) {
      const secrets = [o.recipient.name, o.sender.name, o.recipient.phone.slice(-8), o.sender.phone.slice(-8), 'street' in o.recipient.address ? o.recipient.address.street : o.recipient.address.line1];
      expectAbsent(db, secrets, `database file, order ${o.orderId}`);
      expectAbsent(logs, secrets, `service log, order ${o.orderId}`);
    }
    expectAbsent(logs, [w.tokens[0]!], 'service log (QR token)');
  });

  it('rotates the master key: old data opens after re-wrapping, and the old key can then be retired', async () => {
    const cred = await courier(w, orders[0]!.carrier);
    w.keys.ring = { activeKeyId: 'k2', keys: new Map([...w.keys.ring.keys, ['k2', randomBytes(32)]]) };
    expect(await retireBlocker(w.store, w.keys.ring, 'k1')).toMatch(/3 sealed record\(s\) still use k1/);
    expect(await rewrapAll(w.store, w.keys.ring, 2)).toBe(3);
    expect(await retireBlocker(w.store, w.keys.ring, 'k1')).toBeUndefined();
    w.keys.ring = { activeKeyId: 'k2', keys: new Map([['k2', w.keys.ring.keys.get('k2')!]]) };
    expect((await scan(w, w.tokens[0]!, cred)).status).toBe(200);
  });
});

describe('harvest defence', () => {
  it('limits distinct waybills per day (429) with one alert a day, then suspends a courier who keeps reaching for new ones', async () => {
    const same = Array.from({ length: LIMITS.harvestDistinctPerDay + 1 }, (_, i) => ({ ...orders[0]!, orderId: `H-${i}` }));
    const w = await startWorld({ orders: same });
    try {
      const cred = await courier(w, orders[0]!.carrier);
      for (let i = 0; i < LIMITS.distinctPerDay; i++) expect((await scan(w, w.tokens[i]!, cred)).status).toBe(200);
      expect((await scan(w, w.tokens[0]!, cred)).status).toBe(200); // a re-scan of an opened waybill is free
      const limited = await scan(w, w.tokens[LIMITS.distinctPerDay]!, cred);
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThan(0);
      // Stopping at the limit every day would otherwise go unseen: the first refusal alerts, once.
      const dailyLimit = { kind: 'courier_daily_limit', detail: `opened ${LIMITS.distinctPerDay} distinct waybills in 24 h (the daily limit)` };
      expect(w.store.database.prepare('SELECT kind, detail FROM alerts').all()).toEqual([dailyLimit]);
      for (let i = LIMITS.distinctPerDay + 1; i < LIMITS.harvestDistinctPerDay; i++) await scan(w, w.tokens[i]!, cred);
      expect((await scan(w, w.tokens[0]!, cred)).body.type).toMatch(/suspended/);
      expect(w.store.database.prepare('SELECT kind, detail FROM alerts ORDER BY id').all()).toEqual([dailyLimit, { kind: 'courier_suspended', detail: 'too many distinct waybills' }]);
    } finally {
      await stopWorld(w);
    }
  });
});

describe('strict mode', () => {
  it('lets only couriers on the waybill route scan, and suspends one who keeps trying others', async () => {
    const routed = orders.filter((o) => o.routingCode && o.carrier === orders.find((x) => x.routingCode)!.carrier).slice(0, 1);
    const w = await startWorld({ strict: true, orders: routed });
    try {
      const prefix = routed[0]!.routingCode!.slice(0, 3);
      const onRoute = await courier(w, routed[0]!.carrier, { routes: [prefix] });
      const offRoute = await courier(w, routed[0]!.carrier, { routes: ['ZZZ'] });
      expect((await scan(w, w.tokens[0]!, onRoute)).status).toBe(200);
      for (let i = 0; i < LIMITS.harvestOutOfRoutePerDay; i++) expect((await scan(w, w.tokens[0]!, offRoute)).status).toBe(403);
      expect((await scan(w, w.tokens[0]!, offRoute)).body.type).toMatch(/suspended/);
    } finally {
      await stopWorld(w);
    }
  });
});
