// Pairing a courier's handheld over a real server, on both databases: an admin issues a one-use code,
// the phone redeems it (no credential) for its own device credential, which then scans as the courier.
// A code works once (also when two phones race for it), not after 10 minutes, and guessing codes from
// one address ends in 429s; a courier has at most 3 devices; a revoked device is unknown (401), a
// revoked courier's devices are refused (403); a device can revoke itself. Lists and audit records
// never hold a code, a credential or its hash.

import { parseCredential } from '../../src/auth/credentials';
import { hashPairingCode } from '../../src/couriers/courierDevice';
import { STORE_BACKENDS } from '../support/storeBackends';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { expectAbsent } from '../support/expectAbsent';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

// Failed credentials are counted per address; X-Forwarded-For (believed from loopback only) gives each
// test its own address, so one test's refusals do not throttle another's.
// Admin keys issue pairing codes here (WAYBILL_COURIER_PAIRING_BY_API); by default only the operator does (last test).
const ENV = { WAYBILL_AUTH_FAILURES_PER_MINUTE: '30', WAYBILL_AUTH_FAILURE_BURST: '10', WAYBILL_TRUST_PROXY: 'loopback', WAYBILL_API_RATE_PER_SECOND: '1000', WAYBILL_COURIER_PAIRING_BY_API: 'true' };
const { WAYBILL_COURIER_PAIRING_BY_API: _byApi, ...ENV_OPERATOR_ONLY } = ENV;
const CODE = /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/;
let seq = 0;
let address = 0;

interface Answer {
  status: number;
  cacheControl: string | null;
  text: string;
  body: any;
}

describe.each(STORE_BACKENDS)('%s courier device pairing', (_name, backend) => {
  let w: ApiWorld;
  /** Every code and credential handed out: none may ever appear in an audit record. */
  const secrets: string[] = [];

  beforeAll(async () => {
    w = await startApiWorld(backend, ENV);
  });
  afterAll(async () => {
    await stopApiWorld(w);
  });

  const call = async (method: string, route: string, key: string | undefined, body?: unknown, from = '127.0.0.1'): Promise<Answer> => {
    const r = await fetch(`${w.running.url}${route}`, {
      method,
      headers: { 'x-forwarded-for': from, ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, cacheControl: r.headers.get('cache-control'), text, body: text ? JSON.parse(text) : undefined };
  };
  /** A test's own source address (TEST-NET-3). */
  const newAddress = () => `203.0.113.${++address}`;

  async function courier(): Promise<{ id: string; credential: string }> {
    const { courier, credential } = await w.services.couriers.add({ carrier: 'ZT', name: `courier ${++seq}`, outlet: 'HZ-XH01', routes: [], device: `HH-${seq}` }, new Date());
    secrets.push(credential);
    return { id: courier.id, credential };
  }
  async function pair(courierId: string): Promise<string> {
    const a = await call('POST', `/v1/couriers/${courierId}/pairings`, w.admin);
    expect(a.status).toBe(201);
    expect(a.cacheControl).toBe('no-store');
    secrets.push(a.body.code);
    return a.body.code as string;
  }
  async function redeem(code: string, name = 'Pixel 7', from = '127.0.0.1'): Promise<Answer> {
    const a = await call('POST', '/v1/courier-devices', undefined, { code, name }, from);
    if (a.status === 201) secrets.push(a.body.credential);
    return a;
  }
  async function paired(courierId: string, name = 'Pixel 7'): Promise<{ id: string; credential: string }> {
    const a = await redeem(await pair(courierId), name);
    expect(a.status).toBe(201);
    return { id: a.body.device.id, credential: a.body.credential };
  }
  /** A live ZT waybill and its QR token. */
  async function token(): Promise<string> {
    const created = await call('POST', '/v1/waybills', w.acme, { ...ZT, orderId: `CD-${process.pid}-${++seq}` });
    expect(created.status).toBe(201);
    return String(created.body.qr).split('/').pop()!;
  }
  const scan = async (key: string, t: string) => (await call('GET', `/v1/scan/${t}?purpose=delivery`, key)).status;

  it('pairs a handheld with a one-use code; its wbd_ credential scans as the courier, and the scan is audited with the device', async () => {
    const c = await courier();
    const issued = await call('POST', `/v1/couriers/${c.id}/pairings`, w.admin);
    expect(issued.status).toBe(201);
    expect(issued.body.code).toMatch(CODE);
    expect(issued.body.pairUrl).toBe(`https://scan.example.com/courier/#pair=${issued.body.code}`);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
    // The table keeps an HMAC of the code under the token key (outside the database), not a plain hash whose 40 bits could be searched.
    const [stored] = await w.t.query('SELECT code_hash FROM courier_pairings WHERE courier_id = ?', c.id);
    const normalised = String(issued.body.code).replace('-', '');
    expect(stored!.code_hash).toBe(hashPairingCode(normalised, w.services.keys.tokenKey));
    expect(stored!.code_hash).not.toBe(hashPairingCode(normalised));
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    secrets.push(issued.body.code);

    // Typed on a phone: lower case, a space instead of the hyphen.
    const answer = await redeem(issued.body.code.toLowerCase().replace('-', ' '), 'Pixel 7');
    expect(answer.status).toBe(201);
    expect(answer.cacheControl).toBe('no-store');
    expect(answer.body).toEqual({
      credential: expect.stringMatching(/^wbd_[a-z2-7]{10}_/),
      device: { id: expect.stringMatching(/^[a-z2-7]{10}$/), name: 'Pixel 7', createdAt: expect.any(String) },
      courier: { id: c.id, carrier: 'ZT', outlet: 'HZ-XH01' },
    });
    const device = answer.body.device.id as string;
    expect(answer.body.credential.startsWith(`wbd_${device}_`)).toBe(true);

    const t = await token();
    expect(await scan(answer.body.credential, t)).toBe(200);
    const current = await call('GET', '/v1/courier-devices/current', answer.body.credential);
    expect(current).toMatchObject({ status: 200, cacheControl: 'no-store', body: { courier: { id: c.id, carrier: 'ZT', outlet: 'HZ-XH01' }, device: { id: device, name: 'Pixel 7' } } });
    // The courier's own credential is still a courier, without a device.
    expect((await call('GET', '/v1/courier-devices/current', c.credential)).body).toEqual({ courier: { id: c.id, carrier: 'ZT', outlet: 'HZ-XH01' } });

    const scans = await w.t.query("SELECT actor, detail FROM audit_log WHERE action = 'scan' AND actor = ?", `courier:${c.id}`);
    expect(scans).toHaveLength(1);
    expect(JSON.parse(String(scans[0]!.detail))).toEqual({ device });
    // Its events and their refusals name the device too.
    const parcel = await call('POST', '/v1/waybills', w.acme, { ...ZT, orderId: `CD-${process.pid}-${++seq}` });
    const parcelToken = String(parcel.body.qr).split('/').pop()!;
    // Its first paper moves it to printed.
    expect((await fetch(`${w.running.url}/v1/waybills/${parcel.body.id}/label`, { headers: { authorization: `Bearer ${w.acme}` } })).status).toBe(200);
    expect((await call('GET', `/v1/scan/${parcelToken}?purpose=pickup`, answer.body.credential)).status).toBe(200);
    expect((await call('POST', `/v1/waybills/${parcel.body.waybillNo}/events`, answer.body.credential, { type: 'picked_up' })).status).toBe(201);
    const other = await call('POST', '/v1/waybills', w.acme, { ...ZT, orderId: `CD-${process.pid}-${++seq}` });
    expect((await call('POST', `/v1/waybills/${other.body.waybillNo}/events`, answer.body.credential, { type: 'delivered' })).status).toBe(403);
    const events = await w.t.query("SELECT action, detail FROM audit_log WHERE action IN ('event', 'refuse') AND actor = ? ORDER BY seq", `courier:${c.id}`);
    expect(events.map((r) => [r.action, JSON.parse(String(r.detail))])).toEqual([
      ['event', { device }],
      ['refuse', { event: 'delivered', device }],
    ]);
    const pairedRecords = await w.t.query("SELECT actor, detail FROM audit_log WHERE action = 'device_pair' AND actor = ?", `courier:${c.id}`);
    expect(pairedRecords.map((r) => JSON.parse(String(r.detail)))).toEqual([{ device }]);
    expect(await w.t.query("SELECT outcome FROM audit_log WHERE action = 'pairing_issue' AND detail LIKE ?", `%${c.id}%`)).toEqual([{ outcome: 'ok' }]);

    // The code worked once.
    expect((await redeem(issued.body.code)).status).toBe(401);
  });

  it('a code works once: of two phones redeeming it at the same time, exactly one is paired', async () => {
    const c = await courier();
    const code = await pair(c.id);
    const answers = await Promise.all([redeem(code, 'Phone A'), redeem(code, 'Phone B')]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401]);
    expect((await w.services.couriers.devices(c.id)).length).toBe(1);
    expect(answers.find((a) => a.status === 401)!.body).toMatchObject({ status: 401, detail: 'unknown, expired or used pairing code' });
  });

  it('refuses an expired code, and voids earlier codes when a new one is issued', async () => {
    const c = await courier();
    const old = await w.services.couriers.pair(c.id, new Date(Date.now() - 11 * 60_000));
    secrets.push(old.code);
    expect((await redeem(old.code)).status).toBe(401);

    const first = await pair(c.id);
    const second = await pair(c.id);
    expect((await redeem(first)).status).toBe(401);
    expect((await redeem(second)).status).toBe(201);

    // Issued at the same time, still one open code: exactly one of them pairs.
    const racing = await Promise.all(Array.from({ length: 6 }, () => pair(c.id)));
    const redeemed = [];
    for (const code of racing) redeemed.push((await redeem(code, 'Racer', newAddress())).status);
    expect(redeemed.sort()).toEqual([201, 401, 401, 401, 401, 401]);
  });

  it('guessing codes from one address ends in 429; a right code from there still pairs', async () => {
    const c = await courier();
    const from = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 14 && !statuses.includes(429); i++) statuses.push((await redeem(`ZZZZ-ZZ${'23456789ABCDEFGH'[i]}Z`, 'Guess', from)).status);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    // Only failures are held back.
    expect((await redeem(await pair(c.id), 'Pixel 7', from)).status).toBe(201);
  });

  it('a courier has at most 3 devices: a fourth is refused and its code stays unused until one is revoked', async () => {
    const c = await courier();
    const devices = [await paired(c.id, 'Phone 1'), await paired(c.id, 'Phone 2'), await paired(c.id, 'Phone 3')];
    const code = await pair(c.id);
    const fourth = await redeem(code, 'Phone 4');
    expect(fourth.status).toBe(409);
    expect(fourth.body.detail).toMatch(/3 paired devices/);

    expect((await call('DELETE', `/v1/couriers/${c.id}/devices/${devices[0]!.id}`, w.admin)).status).toBe(204);
    expect((await redeem(code, 'Phone 4')).status).toBe(201);
  });

  it('lists devices without any credential or hash; a revoked device gets 401 on scan and on current', async () => {
    const c = await courier();
    const d = await paired(c.id, 'Galaxy A54');
    const t = await token();
    expect(await scan(d.credential, t)).toBe(200);

    const list = await call('GET', `/v1/couriers/${c.id}/devices`, w.admin);
    expect(list.status).toBe(200);
    expect(list.cacheControl).toBe('no-store');
    expect(list.body.items).toEqual([{ id: d.id, name: 'Galaxy A54', createdAt: expect.any(String), lastUsedAt: expect.any(String) }]);
    expectAbsent(list.text, [d.credential, parseCredential(d.credential, 'wbd')!.secret], 'device list');
    // Used again within the hour: not written again.
    const lastUsedAt = list.body.items[0].lastUsedAt as string;
    expect(await scan(d.credential, t)).toBe(200);
    expect((await call('GET', `/v1/couriers/${c.id}/devices`, w.admin)).body.items[0].lastUsedAt).toBe(lastUsedAt);

    expect((await call('DELETE', `/v1/couriers/${c.id}/devices/${d.id}`, w.admin)).status).toBe(204);
    expect((await call('DELETE', `/v1/couriers/${c.id}/devices/${d.id}`, w.admin)).status).toBe(204); // idempotent
    const from = newAddress();
    expect((await call('GET', `/v1/scan/${t}?purpose=delivery`, d.credential, undefined, from)).status).toBe(401);
    expect((await call('GET', '/v1/courier-devices/current', d.credential, undefined, from)).status).toBe(401);
    // The courier's own credential is untouched.
    expect(await scan(c.credential, t)).toBe(200);
    const revoked = await call('GET', `/v1/couriers/${c.id}/devices`, w.admin);
    expect(revoked.body.items[0]).toMatchObject({ id: d.id, revokedAt: expect.any(String) });
  });

  it('answers 404 for unknown couriers and devices, 409 for pairing a suspended or revoked courier, and admits only admins', async () => {
    const c = await courier();
    expect((await call('POST', '/v1/couriers/aaaaaaaaaa/pairings', w.admin)).status).toBe(404);
    expect((await call('GET', '/v1/couriers/aaaaaaaaaa/devices', w.admin)).status).toBe(404);
    expect((await call('DELETE', `/v1/couriers/${c.id}/devices/aaaaaaaaaa`, w.admin)).status).toBe(404);
    expect((await call('POST', `/v1/couriers/${c.id}/pairings`, w.acme)).status).toBe(403);
    expect((await call('POST', `/v1/couriers/${c.id}/pairings`, c.credential)).status).toBe(403);
    expect((await call('GET', `/v1/couriers/${c.id}/devices`, undefined, undefined, newAddress())).status).toBe(401);
    const badName = await redeem(await pair(c.id), '');
    expect(badName.status).toBe(422);
    expect(badName.body.errors).toEqual([expect.objectContaining({ path: 'name' })]);

    await w.services.couriers.suspend(c.id, new Date(), 'test');
    const suspended = await call('POST', `/v1/couriers/${c.id}/pairings`, w.admin);
    expect(suspended.status).toBe(409);
    expect(suspended.cacheControl).toBe('no-store');
    await w.services.couriers.revoke(c.id, new Date());
    expect((await call('POST', `/v1/couriers/${c.id}/pairings`, w.admin)).status).toBe(409);
  });

  it("revoking the courier refuses every device of it (403), and an unused code of it no longer pairs", async () => {
    const c = await courier();
    const d = await paired(c.id);
    const code = await pair(c.id);
    const t = await token();
    expect(await scan(d.credential, t)).toBe(200);
    await w.services.couriers.revoke(c.id, new Date());
    const from = newAddress();
    expect((await call('GET', `/v1/scan/${t}?purpose=delivery`, d.credential, undefined, from)).status).toBe(403);
    expect((await call('GET', '/v1/courier-devices/current', d.credential, undefined, from)).status).toBe(403);
    expect((await redeem(code, 'Pixel 7', from)).status).toBe(401);
  });

  it("a device revokes itself (the app's log-out); a courier's own credential cannot", async () => {
    const c = await courier();
    const d = await paired(c.id);
    const other = await paired(c.id, 'Spare');
    const own = await call('DELETE', '/v1/courier-devices/current', c.credential);
    expect(own.status).toBe(409);
    expect(own.body.detail).toMatch(/courier's own credential/);

    const out = await call('DELETE', '/v1/courier-devices/current', d.credential);
    expect(out.status).toBe(204);
    expect(out.cacheControl).toBe('no-store');
    expect((await call('GET', '/v1/courier-devices/current', d.credential, undefined, newAddress())).status).toBe(401);
    expect((await call('GET', '/v1/courier-devices/current', other.credential)).status).toBe(200);
    const records = await w.t.query("SELECT actor, detail FROM audit_log WHERE action = 'device_revoke' AND actor = ?", `courier:${c.id}`);
    expect(records.map((r) => JSON.parse(String(r.detail)))).toEqual([{ courier: c.id, device: d.id }]);
  });

  it('a device of a suspended courier still logs itself out: refused everything else, its credential is dead after reinstatement', async () => {
    const c = await courier();
    const d = await paired(c.id);
    await w.services.couriers.suspend(c.id, new Date(), 'test');
    expect((await call('GET', '/v1/courier-devices/current', d.credential)).status).toBe(403);
    expect((await call('DELETE', '/v1/courier-devices/current', d.credential)).status).toBe(204);
    await w.services.couriers.reinstate(c.id);
    expect((await call('GET', '/v1/courier-devices/current', d.credential, undefined, newAddress())).status).toBe(401);
  });

  it('no audit record holds a pairing code or a credential', async () => {
    expect(secrets.length).toBeGreaterThan(10);
    const rows = await w.t.query('SELECT * FROM audit_log');
    const text = JSON.stringify(rows);
    // The code as shown and as normalised, and each credential's secret part alone.
    expectAbsent(text, [...secrets, ...secrets.map((s) => s.replace('-', '')), ...secrets.filter((s) => s.startsWith('wb')).map((s) => s.slice(15))], 'audit log');
    expect(rows.some((r) => r.action === 'device_pair')).toBe(true);
  });
});

describe('pairing codes by default', () => {
  it('come from the operator only: an admin key is refused (403, audited), so it cannot make itself a courier', async () => {
    const w = await startApiWorld(STORE_BACKENDS[0]![1], ENV_OPERATOR_ONLY);
    try {
      const { courier } = await w.services.couriers.add({ carrier: 'ZT', name: 'courier by default', outlet: 'HZ-XH01', routes: [], device: 'HH-0' }, new Date());
      const r = await fetch(`${w.running.url}/v1/couriers/${courier.id}/pairings`, { method: 'POST', headers: { authorization: `Bearer ${w.admin}` } });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { detail: string }).detail).toMatch(/waybill couriers pair/);
      expect(await w.t.query("SELECT outcome FROM audit_log WHERE action = 'pairing_issue'")).toEqual([{ outcome: 'refused' }]);
      expect(await w.t.query('SELECT count(*) AS n FROM courier_pairings')).toEqual([{ n: 0 }]);
    } finally {
      await stopApiWorld(w);
    }
  });
});
