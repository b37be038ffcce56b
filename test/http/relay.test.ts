// Relay numbers end to end: the courier copy prints a virtual number + extension, a PBX resolves it to
// the real number only while the parcel is live and only for allowed callers, bindings follow the
// waybill's events, quarantine holds ended numbers back, and an exhausted pool prints the carrier's
// service number — never the real number.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createApp } from '../../src/http/app';
import { createServer } from '../../src/http/server';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { Order } from '../../src/order/orderSchema';
import { printWaybills } from '../../src/printing/printWaybills';
import { JsonSink } from '../../src/printing/waybillSink';
import { PoolRelayProvider } from '../../src/relay/poolRelayProvider';
import { parseRelayPool } from '../../src/relay/relayPool';
import type { CallerPolicy } from '../../src/relay/relayStore';
import { TelephonyClients } from '../../src/relay/telephonyClients';
import { SqlTelephonyClientRepository } from '../../src/store/telephonyClientRepository';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { CourierStore } from '../../src/couriers/courierStore';
import { SqlCourierRepository } from '../../src/store/courierRepository';
import { sqliteDatabase } from '../../src/store/database';
import { RelayStore } from '../../src/relay/relayStore';
import { SqlRelayRepository } from '../../src/store/relayRepository';
import { OutboxWriter } from '../../src/store/webhookOutbox';
import { RateBuckets } from '../../src/http/rateLimit';
import { SqlRateBucketRepository } from '../../src/store/rateBucketRepository';
import { SqliteStore } from '../../src/store/sqliteStore';
import type { Keys } from '../../src/vault/keyFile';
import { seal } from '../../src/vault/sealing';
import { expectAbsent } from '../support/expectAbsent';

const ROOT = path.join(__dirname, '..', '..');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const DAY = 86_400_000;
// Longer than the relay windows followed here: a number never rings past its waybill's purge.
const GRACE_DAYS = 30;

const tokenOf = (entry: { copies: { copy: string; qr?: string }[] }) => entry.copies.find((c) => c.copy === 'courier')!.qr!.split('/w/')[1]!;

async function world(opts: { pool?: string; callerPolicy?: CallerPolicy; orders?: Order[] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-relay-'));
  const store = SqliteStore.open(path.join(dir, 'waybill.db'));
  const audit = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database)));
  const couriers = new CourierStore(new SqlCourierRepository(sqliteDatabase(store.database)));
  const relayStore = new RelayStore(new SqlRelayRepository(sqliteDatabase(store.database), new OutboxWriter()));
  const telephony = new TelephonyClients(new SqlTelephonyClientRepository(sqliteDatabase(store.database)));
  const keys: Keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
  const clock = { now: new Date('2026-11-23T08:00:00Z') };
  const provider = new PoolRelayProvider(
    relayStore,
    couriers,
    keys,
    { pool: parseRelayPool(opts.pool ?? '+8617000001234,+8617000001235'), quarantineDays: 90, callerPolicy: opts.callerPolicy ?? 'anyone', callLimitSeconds: 600 },
    () => clock.now,
  );
  const relay = { provider, afterSalesDays: 15, maxDays: 60 };
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const summary = await printWaybills(
    { store, audit, keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 90, relay, now: () => clock.now },
    { orders: opts.orders ?? orders.slice(0, 2), template, format: 'json', sink: new JsonSink(out), channel: 'cli', host: 'test', operator: 'test' },
  );
  const printed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const logs: string[] = [];
  const app = createApp({
    store,
    audit,
    couriers,
    keys,
    limits: { perMinute: 30, distinctPerDay: 300, harvestDistinctPerDay: 400, harvestUnknownPerHour: 20, harvestOutOfRoutePerDay: 10, strict: false },
    courierEvents: { eventsPerMinute: 60, closeBurst: 20 },
    retentionGraceDays: GRACE_DAYS,
    relay: {
      provider,
      calls: relayStore,
      bindings: relayStore,
      telephony,
      guard: { rateBuckets: new RateBuckets(new SqlRateBucketRepository(sqliteDatabase(store.database))), requestsPerSecond: 1000, limits: { unknownPerMinute: 30, unknownPerHour: 200, bindingsPerHour: 600, bindingsPerDay: 6000 } },
      afterSalesDays: 15,
      maxDays: 60,
    },
    now: () => clock.now,
    log: (e) => logs.push(JSON.stringify(e)),
  });
  const server: Server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pbx = (await telephony.add('pbx-1', clock.now)).credential;
  const post = async (url: string, body: unknown, credential = pbx) => {
    const res = await fetch(`${base}${url}`, { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const courierCopy = (i: number) => printed[i].copies.find((c: { copy: string }) => c.copy === 'courier').fields;
  /** The virtual number and extension printed for order i's recipient. */
  const relayOf = (i: number) => {
    const m = /^(\d{3}) (\d{4}) (\d{4}) 转 (\d{4})$/.exec(courierCopy(i)['recipient.phone'])!;
    return { to: `+86${m[1]}${m[2]}${m[3]}`, ext: m[4]! };
  };
  const resolve = (i: number, from?: string) => post('/v1/relay/resolve', { ...relayOf(i), ...(from ? { from } : {}) });
  const event = async (i: number, type: string | Record<string, string>) => {
    const { recordWaybillEvent } = await import('../../src/waybills/lifecycle');
    return recordWaybillEvent(
      { store, audit, retentionGraceDays: GRACE_DAYS, relay, now: () => clock.now },
      { waybillNo: printed[i].waybillNo, event: (typeof type === 'string' ? { type } : type) as never, actor: 'test' },
    );
  };
  /** What a courier's handheld is told to dial after scanning order i's QR: the shown number and its dialable parts. */
  const scanPhone = async (i: number) => {
    const { credential } = await couriers.add({ carrier: (opts.orders ?? orders)[i]!.carrier, name: '李师傅', outlet: 'HZ-2', routes: [], device: 'HH-2' }, clock.now);
    const token = tokenOf(printed[i]);
    const res = await fetch(`${base}/v1/scan/${token}?purpose=delivery`, { headers: { authorization: `Bearer ${credential}` } });
    return ((await res.json()) as { recipient: { phone: string; dial: { number: string; extension?: string } } }).recipient;
  };
  const stop = async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { dir, store, audit, couriers, relayStore, provider, keys, clock, printed, summary, logs, post, resolve, relayOf, courierCopy, event, scanPhone, stop, pbx };
}

describe('relay numbers', () => {
  it('prints the relay number + extension on the courier copy and masked numbers elsewhere, never the real one', async () => {
    const w = await world();
    try {
      expect(w.courierCopy(0)['recipient.phone']).toMatch(/^170 0000 123[45] 转 \d{4}$/);
      for (const [i, order] of orders.slice(0, 2).entries()) {
        const text = JSON.stringify(w.printed[i]);
        expectAbsent(text.replace(/\s/g, ''), [order.recipient.phone.slice(-8), order.sender.phone.slice(-8)], `printed JSON of order ${i}`);
        const recipientCopy = w.printed[i].copies.find((c: { copy: string }) => c.copy === 'recipient').fields;
        // Its last 4, or no digit at all when the waybill's random number happens to share enough of the
        // phone's digits to give it away beside them (privacyView.ts).
        expect(recipientCopy['recipient.phone']).toMatch(/^\*+(\d{4})?$/);
      }
      expect(await w.relayStore.forWaybill((await w.store.findWaybillByNo(w.printed[0].waybillNo))!.id)).toHaveLength(2);
      const scanned = await w.scanPhone(0);
      expect(w.courierCopy(0)['recipient.phone']).toBe(scanned.phone);
      // The handheld's call button dials the same relay number and extension (tel:+86…,ext).
      const [, a, b, c, ext] = /^(\d{3}) (\d{4}) (\d{4}) 转 (\d{4})$/.exec(scanned.phone)!;
      expect(scanned.dial).toEqual({ number: `+86${a}${b}${c}`, extension: ext });
    } finally {
      await w.stop();
    }
  });

  it('resolves a live binding to the real number with a call time limit, and refuses unknown numbers', async () => {
    const w = await world();
    try {
      const ok = await w.resolve(0, '+8613900000000');
      expect(ok).toEqual({ status: 200, body: { action: 'bridge', bindingId: expect.any(String), target: orders[0]!.recipient.phone, timeLimitSeconds: 600 } });
      const { to, ext } = w.relayOf(0);
      const unknownExt = String((Number(ext) + 1) % 10000).padStart(4, '0');
      const taken = [w.relayOf(1).ext, ...(await w.relayStore.forWaybill((await w.store.findWaybillByNo(w.printed[0].waybillNo))!.id)).map((b) => b.ext)];
      if (!taken.includes(unknownExt)) expect((await w.post('/v1/relay/resolve', { to, ext: unknownExt })).body).toMatchObject({ action: 'reject', reason: 'unknown', announcement: 'relay-unknown-number' });
      expect((await w.post('/v1/relay/resolve', { to: '+8613800000000', ext: '1' })).body.reason).toBe('unknown');
      // A PBX that passes the number as dialled at home: the same binding.
      expect((await w.post('/v1/relay/resolve', { to: to.replace(/^\+86/, ''), ext })).body).toMatchObject({ action: 'bridge', bindingId: ok.body.bindingId });
      expect((await w.post('/v1/relay/resolve', w.relayOf(0), 'wbt_nobody')).status).toBe(401);
      expect((await w.post('/v1/relay/resolve', { to: 'not a number', ext: '12345' })).status).toBe(422);
    } finally {
      await w.stop();
    }
  });

  it('bridges to the real number plus its extension; bindings without one, or sealed before extensions were kept, answer no targetExtension', async () => {
    const raw = fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8').split('\n').slice(0, 2).map((l) => JSON.parse(l));
    raw[0].recipient.phone = `${raw[0].recipient.phone} 转 802614`;
    const withExtension = parseOrders(raw.map((o) => JSON.stringify(o)).join('\n'), 'orders.ndjson');
    expect(withExtension[0]!.recipient.phoneExtension).toBe('802614');
    const w = await world({ orders: withExtension });
    try {
      const bridged = await w.resolve(0, '+8613900000000');
      expect(bridged).toEqual({
        status: 200,
        body: { action: 'bridge', bindingId: expect.any(String), target: orders[0]!.recipient.phone, targetExtension: '802614', timeLimitSeconds: 600 },
      });
      const plain = await w.resolve(1);
      expect(plain.body).toMatchObject({ action: 'bridge', target: orders[1]!.recipient.phone });
      expect(plain.body).not.toHaveProperty('targetExtension');

      // A binding sealed before this change holds the bare E.164 number: it still bridges.
      const id = randomUUID();
      const legacy = await w.relayStore.allocate(
        {
          id,
          waybillId: (await w.store.findWaybillByNo(w.printed[1].waybillNo))!.id, // a live parcel's
          party: 'recipient',
          callerPolicy: 'anyone',
          partyPhoneHashes: [],
          sealed: seal(Buffer.from('+8613911112222'), w.keys.ring, `relay:${id}`),
          validFrom: w.clock.now.toISOString(),
          expiresAt: new Date(w.clock.now.getTime() + DAY).toISOString(),
          quarantineDays: 90,
        },
        parseRelayPool('+8617000001236'),
        w.clock.now,
      );
      const old = await w.post('/v1/relay/resolve', { to: legacy!.number, ext: legacy!.ext });
      expect(old.body).toEqual({ action: 'bridge', bindingId: id, target: '+8613911112222', timeLimitSeconds: 600 });

      // The extension stays off paper, off the courier's scan, out of audit records and logs.
      expect(w.courierCopy(0)['recipient.phone']).toMatch(/^170 0000 123[45] 转 \d{4}$/);
      const scanned = await w.scanPhone(0);
      expect(scanned.phone).toBe(w.courierCopy(0)['recipient.phone']);
      expectAbsent(JSON.stringify(w.printed) + JSON.stringify(scanned), ['802614'], 'printed JSON and scan');
      const trail = JSON.stringify(await w.audit.forWaybill(w.printed[0].waybillNo)) + w.logs.join('\n');
      expectAbsent(trail, ['802614', orders[0]!.recipient.phone.slice(-8)], 'audit and logs');
    } finally {
      await w.stop();
    }
  });

  it('follows the waybill: delivery + 15 days, then quarantine; cancellation ends the binding at once', async () => {
    const w = await world();
    try {
      w.clock.now = new Date(w.clock.now.getTime() + 2 * DAY);
      await w.event(0, 'picked_up');
      await w.event(0, 'delivered');
      w.clock.now = new Date(w.clock.now.getTime() + 14 * DAY);
      expect((await w.resolve(0)).body.action).toBe('bridge');
      await w.event(0, 'after_sales'); // a complaint: 15 more days from now
      w.clock.now = new Date(w.clock.now.getTime() + 10 * DAY);
      expect((await w.resolve(0)).body.action).toBe('bridge');
      expect((await w.store.findWaybillByNo(w.printed[0].waybillNo))!.status).toBe('delivered');
      w.clock.now = new Date(w.clock.now.getTime() + 6 * DAY);
      expect((await w.resolve(0)).body).toMatchObject({ action: 'reject', reason: 'expired', announcement: 'relay-expired' });

      await w.event(1, 'cancelled');
      expect((await w.resolve(1)).body.reason).toBe('expired');
      // Cancelled by mistake and corrected: its numbers stay ended, and the alert says what its paper shows now.
      await w.event(1, { type: 'correction', status: 'printed', reason: 'test' });
      expect((await w.resolve(1)).body.reason).toBe('expired');
      expect((await w.store.listAlerts({ kind: 'waybill_reopened', limit: 1 }))[0]!.detail).toMatch(/; its relay numbers ended with the cancel: labels printed from now on show the carrier service line$/);
      w.clock.now = new Date(w.clock.now.getTime() + 91 * DAY);
      expect((await w.resolve(1)).body.reason).toBe('unknown'); // quarantine over: the slot is free again
    } finally {
      await w.stop();
    }
  });

  it('never bridges the number of a cancelled parcel, even when the process died before the cancel ended its bindings', async () => {
    const w = await world();
    try {
      const waybill = (await w.store.findWaybillByNo(w.printed[0].waybillNo))!;
      expect((await w.resolve(0)).body.action).toBe('bridge');
      // The cancel as its commit left it, before its bindings were ended (the crash).
      const at = w.clock.now.toISOString();
      expect(await w.store.recordEvent(waybill.id, { type: 'cancelled', at, actor: 'test', from: { status: waybill.status }, status: 'cancelled' })).toBe(true);
      expect((await w.relayStore.forWaybill(waybill.id)).every((b) => !b.endedAt)).toBe(true);
      expect((await w.resolve(0)).body).toMatchObject({ action: 'reject', reason: 'expired' });
      expect((await w.resolve(1)).body.action).toBe('bridge'); // another parcel's number is untouched
    } finally {
      await w.stop();
    }
  });

  it('shortens a delivered parcel’s numbers to after-sales even when the process died before it did: the sweep makes what the event still owes, in order', async () => {
    const w = await world();
    const { settleRelayDue } = await import('../../src/waybills/lifecycle');
    const relay = { provider: w.provider, afterSalesDays: 15, maxDays: 60 };
    const sweep = () => settleRelayDue({ store: w.store, relay, now: () => w.clock.now });
    const expiries = async (i: number) => (await w.relayStore.forWaybill((await w.store.findWaybillByNo(w.printed[i].waybillNo))!.id)).map((b) => b.expiresAt);
    const reschedule = w.provider.reschedule.bind(w.provider);
    const dies = () => (w.provider.reschedule = async () => Promise.reject(new Error('the process died')));
    try {
      await w.event(0, 'picked_up');
      dies();
      const deliveredAt = w.clock.now;
      await expect(w.event(0, 'delivered')).rejects.toThrow('the process died'); // the event committed, its relay change did not
      w.provider.reschedule = reschedule;
      expect((await w.store.findWaybillByNo(w.printed[0].waybillNo))!.status).toBe('delivered');
      const printedUntil = await expiries(0);
      expect(await sweep()).toBe(0); // within its first minute the event's own process may still be at it
      w.clock.now = new Date(deliveredAt.getTime() + 61_000);
      expect(await sweep()).toBe(1);
      const afterSales = new Date(deliveredAt.getTime() + 15 * DAY).toISOString();
      expect(await expiries(0)).toEqual([afterSales, afterSales]);
      expect(printedUntil.every((t) => t > afterSales)).toBe(true);
      expect(await sweep()).toBe(0); // done once
      w.clock.now = new Date(deliveredAt.getTime() + 16 * DAY);
      expect((await w.resolve(0)).body).toMatchObject({ action: 'reject', reason: 'expired' });

      // A delivery whose change was lost, then a complaint: the next event makes both, the delivery's first.
      w.clock.now = new Date(deliveredAt.getTime());
      await w.event(1, 'picked_up');
      dies();
      await expect(w.event(1, 'delivered')).rejects.toThrow('the process died');
      w.provider.reschedule = reschedule;
      w.clock.now = new Date(deliveredAt.getTime() + 5 * DAY);
      await w.event(1, 'after_sales');
      const extended = new Date(w.clock.now.getTime() + 15 * DAY).toISOString();
      expect(await expiries(1)).toEqual([extended, extended]);
      expect(await sweep()).toBe(0);
    } finally {
      await w.stop();
    }
  });

  it('ends a returned parcel like a delivered one: the purge in the grace period, the relay number after the after-sales days', async () => {
    const w = await world();
    try {
      await w.event(0, 'picked_up');
      const returned = await w.event(0, 'returned');
      expect(returned.purgeAfter).toBe(new Date(w.clock.now.getTime() + GRACE_DAYS * DAY).toISOString());
      w.clock.now = new Date(w.clock.now.getTime() + 6 * DAY);
      expect((await w.resolve(0)).body.action).toBe('bridge');
      // Without a purge sweep in this test: the binding's own end, 15 days after the return.
      w.clock.now = new Date(w.clock.now.getTime() + 10 * DAY);
      expect((await w.resolve(0)).body).toMatchObject({ action: 'reject', reason: 'expired' });
    } finally {
      await w.stop();
    }
  });

  it('applies the caller policy: the waybill parties only, or registered couriers only', async () => {
    const parties = await world({ callerPolicy: 'parties' });
    try {
      expect((await parties.resolve(0, orders[0]!.sender.phone)).body.action).toBe('bridge');
      expect((await parties.resolve(0, '+8613911112222')).body).toMatchObject({ action: 'reject', reason: 'caller_not_allowed' });
      expect((await parties.resolve(0)).body.reason).toBe('caller_not_allowed');
    } finally {
      await parties.stop();
    }
    const couriersOnly = await world({ callerPolicy: 'couriers' });
    try {
      const { courier } = await couriersOnly.couriers.add({ carrier: orders[0]!.carrier, name: '王师傅', outlet: 'HZ-1', routes: [], device: 'HH-1' }, couriersOnly.clock.now);
      await couriersOnly.couriers.setPhoneHash(courier.id, couriersOnly.provider.phoneHash('+8613922223333'));
      expect((await couriersOnly.resolve(0, '+86 139 2222 3333')).body.action).toBe('bridge');
      expect((await couriersOnly.resolve(0, '+8613911112222')).body.reason).toBe('caller_not_allowed');
    } finally {
      await couriersOnly.stop();
    }
  });

  it('prints the service number when the pool is exhausted, marks the waybill and raises an alert', async () => {
    // One number with 1-digit extensions: 10 slots, two per waybill, so the sixth waybill finds none.
    const six = Array.from({ length: 6 }, (_, i) => ({ ...orders[0]!, orderId: `X-${i}` }));
    const w = await world({ pool: '+8617000001234/1', orders: six });
    try {
      const phones = w.printed.map((_: unknown, i: number) => w.courierCopy(i)['recipient.phone']);
      expect(phones.slice(0, 5).every((p: string) => /^170 0000 1234 转 \d$/.test(p))).toBe(true);
      // Masked, then the carrier's service line. The waybill number is random: when it happens to hold
      // pieces of the phone's hidden digits, the mask hides all of them (exposesPhone, privacyView.ts).
      expect(phones[5]).toMatch(/^(?:\*{7}\d{4}|\*{11}) \/ \d{5,6}$/);
      expect(new Set(phones.slice(0, 5)).size).toBe(5);
      expect((await w.store.findWaybillByNo(w.printed[5].waybillNo))!.relayUnavailable).toBe(true);
      expect(w.summary.warnings).toEqual(['order 5: no relay number could be bound; the label shows the carrier\'s service number']);
      expect(w.store.database.prepare("SELECT kind FROM alerts WHERE kind = 'relay_unavailable'").all()).toHaveLength(1);
    } finally {
      await w.stop();
    }
  });

  it('records call receipts idempotently, and keeps real numbers out of audit and logs', async () => {
    const w = await world();
    try {
      const ok = await w.resolve(0);
      const receipt = { callId: 'pbx-1:0001', bindingId: ok.body.bindingId, startedAt: '2026-11-23T08:00:00Z', endedAt: '2026-11-23T08:01:10Z', releaseCause: 'normal_clearing' };
      expect(await w.post('/v1/relay/calls', receipt)).toMatchObject({ status: 201, body: { outcome: 'recorded' } });
      expect(await w.post('/v1/relay/calls', receipt)).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
      expect((await w.post('/v1/relay/calls', { ...receipt, releaseCause: 'busy' })).status).toBe(409);
      // A receipt whose times run backwards, or whose cause holds controls, is refused at its field.
      const refused = async (bad: Record<string, unknown>, path: string) => {
        const r = await w.post('/v1/relay/calls', { ...receipt, callId: 'pbx-1:0002', ...bad });
        expect({ status: r.status, paths: (r.body.errors as { path: string }[]).map((e) => e.path) }).toEqual({ status: 422, paths: [path] });
      };
      await refused({ endedAt: '2026-11-23T07:59:00Z' }, 'endedAt');
      await refused({ answeredAt: '2026-11-23T07:59:59Z' }, 'answeredAt');
      await refused({ answeredAt: '2026-11-23T08:00:05Z', endedAt: '2026-11-23T08:00:01Z' }, 'endedAt');
      await refused({ releaseCause: 'normal\u202eclearing' }, 'releaseCause');
      const calls = (await w.audit.forWaybill(w.printed[0].waybillNo)).filter((r) => r.action === 'call');
      expect(calls.map((r) => r.outcome)).toEqual(['bridged']);
      const trail = JSON.stringify(await w.audit.forWaybill(w.printed[0].waybillNo)) + w.logs.join('\n');
      for (const order of orders.slice(0, 2)) expectAbsent(trail, [order.recipient.phone.slice(-8), order.sender.phone.slice(-8)], `audit and logs, order ${order.orderId}`);
    } finally {
      await w.stop();
    }
  });
});
