// Signed webhooks end to end on both backends: the outbox written with the state change, a real local
// receiver that checks the signature as an integrator would, retries with backoff, no personal data,
// the network policy, two workers (instances) on one database, and a service killed mid-delivery.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateWaybillNo } from '../../src/order/waybillNumber';
import { networkPolicy, PRIVATE_RANGES } from '../../src/printers/networkPolicy';
import { openStores, type Stores } from '../../src/store/openStores';
import type { KeyRing } from '../../src/vault/sealing';
import { endpointUrlRefusal, webhookSender } from '../../src/webhooks/send';
import { addEndpoint, deliverDue, rotateSecret, type WebhookDeliveryDeps } from '../../src/webhooks/webhooks';
import { startServiceProcess, type ServiceProcess } from '../support/serviceProcess';
import { STORE_BACKENDS, TEST_TOKEN_KEY, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const ring: KeyRing = { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) };
const loopbackPolicy = networkPolicy(['127.0.0.1/32'], () => [], () => [], { setting: 'WAYBILL_WEBHOOK_NETWORKS', reserved: PRIVATE_RANGES });

/** What an integrator writes: the README's few lines of Node. */
function verify(header: string, rawBody: string, secret: string): boolean {
  const parts = header.split(',').map((p) => p.split('='));
  const t = parts.find(([k]) => k === 't')?.[1] ?? '';
  if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return parts.some(([k, v]) => k === 'v1' && v!.length === 64 && timingSafeEqual(Buffer.from(v!, 'hex'), expected));
}

interface Received {
  eventId: string;
  body: string;
  signature: string;
}

/** A receiver on 127.0.0.1: `answer` decides each request's status (undefined: hold it, never answer). */
async function receiver(answer: (n: number, r: Received) => number | undefined) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r = { eventId: String(req.headers['waybill-event-id']), body, signature: String(req.headers['waybill-signature']) };
      received.push(r);
      const status = answer(received.length, r);
      if (status !== undefined) res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

function workerDeps(stores: Stores, worker: string, extra: Partial<WebhookDeliveryDeps> = {}): WebhookDeliveryDeps {
  return {
    repo: stores.webhooks,
    ring,
    send: webhookSender(loopbackPolicy, 2000),
    now: () => new Date(),
    worker,
    retryHours: 24,
    backoffMs: 50,
    maxBackoffMs: 200,
    claimMs: 10_000,
    batch: 50,
    sealKey: TEST_TOKEN_KEY,
    alert: async (kind, detail, at) => void (await stores.store.recordAlert({ at, kind, detail })),
    ...extra,
  };
}

async function until(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A saved waybill of client acme, as a print's save writes it (personal data only sealed). */
async function saveWaybill(stores: Stores, orderId: string) {
  const now = new Date().toISOString();
  const id = randomUUID();
  const waybillNo = generateWaybillNo('ZT');
  const sealed = { keyId: 'k1', wrappedKey: randomBytes(60), ciphertext: randomBytes(80) };
  const jobId = randomUUID();
  await stores.store.savePrintJob(
    { id: jobId, createdAt: now, channel: 'http', templateId: 'cn-4copy', format: 'pdf', host: 'test', operator: 'warehouse:k' },
    [{ id, waybillNo, carrier: 'ZT', orderId, clientId: 'acme', createdAt: now, tokenHash: randomBytes(16).toString('hex'), status: 'created', purgeAfter: now, sealed }],
    [{ copyCode: randomBytes(4).toString('hex'), jobId, waybillId: id, copy: 'courier', printNo: 1 }],
  );
  return { id, waybillNo };
}

describe.each(STORE_BACKENDS)('webhooks on %s', (_name, backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => t?.close());

  it('writes created and printed with the save, retries 500, 500 and delivers on the third attempt, signed', async () => {
    const r = await receiver((n) => (n <= 2 ? 500 : 200));
    const { endpoint, secret } = await addEndpoint(t.stores.webhooks, ring, { client: 'acme', url: r.url, events: ['waybill.printed'] }, new Date());
    const other = await addEndpoint(t.stores.webhooks, ring, { client: 'other', url: r.url, events: null }, new Date());
    const w = await saveWaybill(t.stores, 'SO-HOOK-1');
    const rows = await t.query('SELECT id, endpoint_id, type, attempts FROM webhook_outbox');
    expect(rows).toEqual([{ id: expect.any(String), endpoint_id: endpoint.id, type: 'waybill.printed', attempts: 0 }]); // filter and client respected
    const deps = workerDeps(t.stores, 'w1');
    await until(async () => (await deliverDue(deps), r.received.length >= 3 && (await t.stores.webhooks.getEvent(String(rows[0]!.id)))?.deliveredAt !== undefined));
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.eventId))).toEqual(new Set([rows[0]!.id]));
    for (const x of r.received) expect(verify(x.signature, x.body, secret)).toBe(true);
    expect(verify(r.received[0]!.signature, r.received[0]!.body, 'whsec_wrong')).toBe(false);
    const event = (await t.stores.webhooks.getEvent(String(rows[0]!.id)))!;
    expect(event.attempts).toBe(3);
    // The payload: ids, numbers, states; nothing personal.
    const body = JSON.parse(r.received[2]!.body);
    expect(body).toEqual({
      id: rows[0]!.id,
      type: 'waybill.printed',
      createdAt: expect.any(String),
      data: { waybillId: w.id, waybillNo: w.waybillNo, orderId: 'SO-HOOK-1', client: 'acme', carrier: 'ZT', status: 'printed' },
    });
    // Nothing more is sent.
    await deliverDue(deps);
    expect(r.received).toHaveLength(3);
    await t.stores.webhooks.removeEndpoint(endpoint.id);
    await t.stores.webhooks.removeEndpoint(other.endpoint.id);
    await r.close();
  });

  it('signs with both secrets during a rotation, and lifecycle/purge events go out in their transactions', async () => {
    const r = await receiver(() => 200);
    const { endpoint, secret: old } = await addEndpoint(t.stores.webhooks, ring, { client: 'acme', url: r.url, events: null }, new Date());
    const { secret } = await rotateSecret(t.stores.webhooks, ring, (await t.stores.webhooks.getEndpoint(endpoint.id))!, new Date());
    const w = await saveWaybill(t.stores, 'SO-HOOK-2');
    const changed = await t.stores.store.recordEvent(w.id, { type: 'cancelled', status: 'cancelled', from: { status: 'printed' }, at: new Date().toISOString(), actor: 'test' } as never);
    expect(changed).toBe(true);
    expect(await t.stores.store.shred(w.id, new Date().toISOString())).toBe(true);
    const deps = workerDeps(t.stores, 'w1');
    await until(async () => (await deliverDue(deps), r.received.length >= 4));
    expect(r.received.map((x) => JSON.parse(x.body).type).sort()).toEqual(['waybill.cancelled', 'waybill.created', 'waybill.printed', 'waybill.purged']);
    for (const x of r.received) {
      expect(x.signature.match(/v1=/g)).toHaveLength(2);
      expect(verify(x.signature, x.body, secret)).toBe(true);
      expect(verify(x.signature, x.body, old)).toBe(true);
    }
    await t.stores.webhooks.removeEndpoint(endpoint.id);
    await r.close();
  });

  it('sends only rows the service wrote: one inserted or edited in the database is refused and alerted, never signed', async () => {
    const r = await receiver(() => 200);
    const { endpoint, secret } = await addEndpoint(t.stores.webhooks, ring, { client: 'acme', url: r.url, events: null }, new Date());
    await saveWaybill(t.stores, 'SO-HOOK-SEAL');
    const [created, printed] = await t.query("SELECT id FROM webhook_outbox WHERE endpoint_id = ? ORDER BY type", endpoint.id);
    const copied = randomUUID();
    const bare = randomUUID();
    // A database writer: edits a real event, copies another (with its seal) as a new one, inserts one unsealed.
    await t.exec(`UPDATE webhook_outbox SET payload = replace(payload, '"orderId":"SO-HOOK-SEAL"', '"orderId":"SO-HOOK-OTHER"') WHERE id = '${created!.id}'`);
    for (const [id, seal] of [[copied, 'seal'], [bare, 'NULL']])
      await t.exec(
        `INSERT INTO webhook_outbox (id, endpoint_id, client_id, type, payload, created_at, next_attempt_at, attempts, seal)
         SELECT '${id}', endpoint_id, client_id, 'waybill.delivered', replace(replace(payload, id, '${id}'), 'waybill.printed', 'waybill.delivered'), created_at, next_attempt_at, 0, ${seal}
         FROM webhook_outbox WHERE id = '${printed!.id}'`,
      );
    await until(async () => (await deliverDue(workerDeps(t.stores, 'w1')), (await t.query('SELECT id FROM webhook_outbox WHERE endpoint_id = ? AND delivered_at IS NULL AND given_up_at IS NULL', endpoint.id)).length === 0));
    expect(r.received.map((x) => x.eventId)).toEqual([printed!.id]);
    expect(verify(r.received[0]!.signature, r.received[0]!.body, secret)).toBe(true);
    for (const id of [created!.id, copied, bare]) {
      const event = (await t.stores.webhooks.getEvent(String(id)))!;
      expect({ id, givenUp: event.givenUpAt !== undefined, deliveredAt: event.deliveredAt, lastError: event.lastError }).toEqual({
        id,
        givenUp: true,
        deliveredAt: undefined,
        lastError: 'refused: not written by the service',
      });
    }
    const [alert] = await t.query("SELECT detail FROM alerts WHERE kind = 'webhook_event_refused'");
    expect(String(alert!.detail)).toMatch(/^webhook event\(s\) .+ in the outbox were not written by the service/);
    for (const id of [created!.id, copied, bare]) expect(String(alert!.detail)).toContain(String(id));
    // A redelivery does not launder it.
    expect(await t.stores.webhooks.redeliver(copied, new Date().toISOString())).toBe(true);
    await deliverDue(workerDeps(t.stores, 'w1'));
    expect(r.received).toHaveLength(1);
    await t.stores.webhooks.removeEndpoint(endpoint.id);
    await r.close();
  });

  it('two workers on one database send each attempt once', async () => {
    const r = await receiver(() => 200);
    const { endpoint } = await addEndpoint(t.stores.webhooks, ring, { client: null, url: r.url, events: ['alert.raised'] }, new Date());
    for (let i = 0; i < 30; i++) await t.stores.store.recordAlert({ at: new Date().toISOString(), kind: 'relay_unavailable', detail: `alert ${i}` });
    const second = await t.reopen();
    const a = workerDeps(t.stores, 'instance-a');
    const b = workerDeps(second, 'instance-b', { repo: second.webhooks });
    await until(async () => (await Promise.all([deliverDue(a), deliverDue(b), deliverDue(a), deliverDue(b)]), r.received.length >= 30));
    await Promise.all([deliverDue(a), deliverDue(b)]);
    expect(r.received).toHaveLength(30);
    expect(new Set(r.received.map((x) => x.eventId)).size).toBe(30);
    await t.stores.webhooks.removeEndpoint(endpoint.id);
    await r.close();
  });

  it('refuses loopback unless listed, at registration and at send', async () => {
    const defaults = networkPolicy(['0.0.0.0/0', '::/0'], () => [], () => [], { setting: 'WAYBILL_WEBHOOK_NETWORKS', reserved: PRIVATE_RANGES });
    expect(await endpointUrlRefusal('http://127.0.0.1:9/x', defaults)).toBe('host is a loopback address, refused unless listed in WAYBILL_WEBHOOK_NETWORKS');
    expect(await endpointUrlRefusal('http://169.254.169.254/latest', defaults)).toMatch(/link-local/);
    expect(await endpointUrlRefusal('http://10.1.2.3/x', defaults)).toMatch(/private/);
    expect(await endpointUrlRefusal('http://203.0.113.7/x', defaults)).toBeUndefined();
    const r = await receiver(() => 200);
    const outcome = await webhookSender(defaults, 2000)(r.url, {}, '{}');
    expect(outcome).toEqual({ ok: false, error: 'refused by the network policy (loopback); nothing was sent' });
    expect(r.received).toHaveLength(0);
    await r.close();
  });
});

describe('a service killed mid-delivery', () => {
  it('delivers the event after a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-hooks-'));
    const masterKey = randomBytes(32);
    const env = {
      WAYBILL_DATA_DIR: dir,
      WAYBILL_MASTER_KEY: masterKey.toString('base64'),
      WAYBILL_TOKEN_KEY: randomBytes(32).toString('base64'),
      WAYBILL_LOG_LEVEL: 'silent',
      WAYBILL_WEBHOOK_NETWORKS: '127.0.0.1/32',
      WAYBILL_WEBHOOK_TIMEOUT_SECONDS: '1',
      WAYBILL_WEBHOOK_POLL_MS: '100',
      WAYBILL_WEBHOOK_BACKOFF_SECONDS: '0.1',
    };
    let hold = true;
    const r = await receiver(() => (hold ? undefined : 200));
    const stores = await openStores({ backend: 'sqlite', file: path.join(dir, 'waybill.db') }, undefined, Buffer.from(env.WAYBILL_TOKEN_KEY, 'base64'));
    const services: ServiceProcess[] = [];
    // Closed whatever happens: a receiver or store left open would keep jest from ever exiting.
    try {
      const keys: KeyRing = { activeKeyId: 'k1', keys: new Map([['k1', masterKey]]) };
      const { secret } = await addEndpoint(stores.webhooks, keys, { client: null, url: r.url, events: null }, new Date());
      await stores.store.recordAlert({ at: new Date().toISOString(), kind: 'relay_unavailable', detail: 'kill test' });
      const first = await startServiceProcess(env);
      services.push(first);
      await until(() => r.received.length >= 1);
      await first.kill(); // mid-delivery: the receiver holds the request
      const event = r.received[0];
      expect((await stores.webhooks.getEvent(event!.eventId))!.deliveredAt).toBeUndefined();
      hold = false;
      const second = await startServiceProcess(env);
      services.push(second);
      await until(async () => (await stores.webhooks.getEvent(event!.eventId))?.deliveredAt !== undefined, 30_000);
      const code = await second.stop();
      // A failed stop shows what the service said.
      expect({ code, said: code === 0 ? '' : second.stderr() }).toEqual({ code: 0, said: '' });
      const last = r.received[r.received.length - 1]!;
      expect(last.eventId).toBe(event!.eventId);
      expect(verify(last.signature, last.body, secret)).toBe(true);
    } finally {
      for (const service of services) await service.kill();
      await stores.close();
      await r.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
