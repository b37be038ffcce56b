// Parcel-station handoff over a real server, on both databases: station keys from the shell, arrivals
// by the parcel's QR code (by number only where configured) with pickup codes (format, per-station per-day uniqueness, the waybill.arrived outbox row without
// personal data), verify (match, no match alike for wrong digits / unknown waybill / another station),
// its limits per station and per waybill with audit records free of digits, the suspension of a station
// sweeping digits across parcels, and `delivered` after a match.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { stationCommand } from '../../src/cli/stationCommands';
import { PICKUP_CODE } from '../../src/stations/station';
import { suspensionsLifted } from '../../src/stations/stationStore';
import { openServices, type Services } from '../../src/wiring';
import { requestBurst } from '../support/requestBurst';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

const PHONE = '13962584017';
const RIGHT = '4017';
let seq = 0;

describe.each(STORE_BACKENDS)('%s parcel stations', (_name, backend) => {
  let t: TestDatabase;
  let dir: string;
  let services: Services;
  let running: RunningService;
  let admin: string;
  let acme: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-stations-'));
    env = {
      WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
      ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
      WAYBILL_WEBHOOK_NETWORKS: '127.0.0.1/32',
      WAYBILL_API_RATE_PER_SECOND: '1000',
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    admin = (await services.apiKeys.add({ name: 'ops', role: 'admin' }, new Date())).credential;
    acme = (await services.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
  });
  afterAll(async () => {
    await running.shutdown();
    await services.close();
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A station key made the way an operator makes one: `waybill keys create --role station`. */
  async function stationKey(station: string): Promise<string> {
    const out: string[] = [];
    expect(await apiKeyCommand(['create', '--role', 'station', '--name', `desk ${station}`, '--station', station], services, (l) => out.push(l))).toBe(0);
    return /^(wbk_\S+)$/m.exec(out.join('\n'))![1]!;
  }
  const call = (method: string, route: string, key: string | undefined, body?: unknown) =>
    fetch(`${running.url}${route}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const answer = async (res: Promise<Response>) => {
    const r = await res;
    return { status: r.status, type: r.headers.get('content-type'), retryAfter: r.headers.get('retry-after'), body: (await r.json()) as Record<string, unknown> };
  };
  /** The text of each waybill's QR code (the scan URL), as a station's scanner reads it off the parcel. */
  const qrOf = new Map<string, string>();
  /** A waybill created (its QR code kept), on paper. */
  async function printed(extra: Record<string, unknown> = {}): Promise<{ id: string; waybillNo: string; qr: string; pieces?: { waybillNo: string }[] }> {
    const order = { ...ZT, orderId: `ST-${process.pid}-${++seq}`, recipient: { ...(ZT.recipient as object), phone: PHONE }, ...extra };
    const created = (await (await call('POST', '/v1/waybills', acme, order)).json()) as { id: string; waybillNo: string; qr: string; pieces?: { waybillNo: string }[] };
    qrOf.set(created.waybillNo, created.qr);
    expect((await call('GET', `/v1/waybills/${created.id}/label?format=pdf`, acme)).status).toBe(200);
    return created;
  }
  /** A waybill in a courier's hands (an admin posts the pickup), with a known recipient phone. */
  async function pickedUp(): Promise<string> {
    const { waybillNo } = await printed();
    expect((await call('POST', `/v1/waybills/${waybillNo}/events`, admin, { type: 'picked_up' })).status).toBe(201);
    return waybillNo;
  }
  /** The parcel arrives: the station scans its QR code. */
  const arrive = (key: string, waybillNo: string, body: Record<string, unknown> = {}) => answer(call('POST', '/v1/stations/arrivals', key, { code: qrOf.get(waybillNo) ?? waybillNo, ...body }));
  const verify = (key: string, body: unknown) => answer(call('POST', '/v1/stations/verify', key, body));

  it('issues shelf-tier-sequence pickup codes unique per station and day; the same parcel again keeps its code', async () => {
    const stationA = `hz-a-${seq}`;
    const a = await stationKey(stationA);
    const b = await stationKey(`hz-b-${seq}`);
    const nos = [await pickedUp(), await pickedUp(), await pickedUp()];
    const first = await arrive(a, nos[0]!, { shelf: 3, tier: 2 });
    expect(first).toMatchObject({ status: 201, body: { waybillNo: nos[0], pickupCode: '3-2-0001' } });
    const codes = [first.body.pickupCode, (await arrive(a, nos[1]!)).body.pickupCode, (await arrive(a, nos[2]!, { shelf: 3, tier: 2 })).body.pickupCode];
    expect(codes).toEqual(['3-2-0001', '1-1-0002', '3-2-0003']);
    for (const c of codes) expect(c).toMatch(PICKUP_CODE);
    expect(new Set(codes).size).toBe(3);
    expect(await arrive(a, nos[0]!)).toMatchObject({ status: 200, body: { pickupCode: '3-2-0001', arrivedAt: first.body.arrivedAt } });
    // Another station counts on its own; it cannot take a parcel that is at a station already.
    const elsewhere = await pickedUp();
    expect((await arrive(b, elsewhere)).body.pickupCode).toBe('1-1-0001');
    expect(await arrive(b, nos[1]!)).toMatchObject({ status: 409, body: { type: 'https://waybill.example/problems/conflict' } });
    const rows = await t.query('SELECT pickup_code, day FROM station_arrivals WHERE station_id = ? ORDER BY seq', stationA);
    expect(rows.map((r) => r.pickup_code)).toEqual(codes);
    // The status stays picked_up (an annotation); the event names the station.
    const w = (await services.store.findWaybillByNo(nos[0]!))!;
    expect(w).toMatchObject({ status: 'picked_up', custodian: `station:${stationA}` });
    expect((await services.store.eventsOf(w.id)).map((e) => e.type)).toEqual(['picked_up', 'arrived']);
  });

  it("never gives a code out again while the station holds a parcel under it from an earlier day; a code finds the parcel held under it", async () => {
    const station = `hz-c-${seq}`;
    const c = await stationKey(station);
    const older = await pickedUp();
    expect((await arrive(c, older)).body.pickupCode).toBe('1-1-0001');
    // That was yesterday (the day is the station's; moved back by hand, as the clock cannot be).
    await t.exec(`UPDATE station_arrivals SET day = '2000-01-01' WHERE station_id = '${station}'`);
    const today = await pickedUp();
    expect((await arrive(c, today)).body.pickupCode).toBe('1-1-0002'); // 0001 is still on the shelf
    expect(await verify(c, { pickupCode: '1-1-0001', phoneLast4: RIGHT })).toMatchObject({ status: 200, body: { match: true } });
    const olderId = (await services.store.findWaybillByNo(older))!.id;
    expect(await t.query("SELECT waybill_id FROM station_verifications WHERE station_id = ? AND outcome = 'match'", station)).toEqual([{ waybill_id: olderId }]);
    // Handed over, its code is free again, and finds no parcel.
    expect((await call('POST', `/v1/waybills/${older}/events`, c, { type: 'delivered' })).status).toBe(201);
    expect((await arrive(c, await pickedUp())).body.pickupCode).toBe('1-1-0003');
    expect(await verify(c, { pickupCode: '1-1-0001', phoneLast4: RIGHT })).toMatchObject({ status: 200, body: { match: false } });
  });

  it('moves custody from the courier to the station: the courier can no longer close the waybill', async () => {
    const a = await stationKey(`hz-c-${seq}`);
    const created = await printed();
    const { credential } = await services.couriers.add({ carrier: 'ZT', name: '王师傅', outlet: 'HZ-XH01', routes: [], device: 'HH-1' }, new Date());
    expect((await call('GET', `/v1/scan/${created.qr.split('/').pop()}?purpose=pickup`, credential)).status).toBe(200);
    expect((await call('POST', `/v1/waybills/${created.waybillNo}/events`, credential, { type: 'picked_up' })).status).toBe(201);
    expect((await arrive(a, created.waybillNo)).status).toBe(201);
    expect((await call('POST', `/v1/waybills/${created.waybillNo}/events`, credential, { type: 'delivered' })).status).toBe(403);
  });

  it('takes a parcel only by the QR code on it; by number alone only where WAYBILL_STATION_ARRIVAL_BY_NUMBER=true', async () => {
    // A waybill number is no secret: by number alone a station could take any parcel out of a courier's
    // hands from afar, and the courier could no longer deliver it.
    const a = await stationKey(`hz-p-${seq}`);
    const created = await printed({ parcel: { ...(ZT.parcel as Record<string, unknown>), pieces: 2 } });
    expect((await call('POST', `/v1/waybills/${created.waybillNo}/events`, admin, { type: 'picked_up' })).status).toBe(201);
    const child = created.pieces![1]!.waybillNo;
    expect(child).not.toBe(created.waybillNo);
    for (const no of [created.waybillNo, child]) expect(await answer(call('POST', `/v1/waybills/${no}/arrivals`, a))).toMatchObject({ status: 403, body: { detail: expect.stringMatching(/QR code/) } });
    expect((await services.store.findWaybillByNo(created.waybillNo))!.custodian ?? 'no one').not.toMatch(/^station:/);
    // The token alone (a scanner set to strip the URL) is the QR code too.
    const token = created.qr.split('/').pop()!;
    expect(await answer(call('POST', '/v1/stations/arrivals', a, { code: ` ${token} ` }))).toMatchObject({ status: 201, body: { waybillNo: created.waybillNo } });

    // A deployment whose station scanners read only barcodes: by number, and a child number resolves to its master.
    const byNumber = await openServices(loadConfig({ ...env, WAYBILL_STATION_ARRIVAL_BY_NUMBER: 'true' }), () => {});
    const second = await serveCommand(['--port', '0'], byNumber, () => {}, new PassThrough());
    try {
      const other = await printed({ parcel: { ...(ZT.parcel as Record<string, unknown>), pieces: 2 } });
      expect((await call('POST', `/v1/waybills/${other.waybillNo}/events`, admin, { type: 'picked_up' })).status).toBe(201);
      const arrived = await fetch(`${second.url}/v1/waybills/${other.pieces![1]!.waybillNo}/arrivals`, { method: 'POST', headers: { authorization: `Bearer ${a}` } });
      expect([arrived.status, ((await arrived.json()) as { waybillNo: string }).waybillNo]).toEqual([201, other.waybillNo]);
    } finally {
      await second.shutdown();
      await byNumber.close();
    }
  });

  it('refuses what is not in a courier’s hands, unknown codes, bad shelves and other roles', async () => {
    const a = await stationKey(`hz-r-${seq}`);
    const created = (await (await call('POST', '/v1/waybills', acme, { ...ZT, orderId: `ST-${process.pid}-${++seq}` })).json()) as { waybillNo: string; qr: string };
    qrOf.set(created.waybillNo, created.qr);
    expect(await arrive(a, created.waybillNo)).toMatchObject({ status: 409, body: { currentStatus: 'created' } });
    for (const code of ['https://scan.example.com/w/q7Zt2VxK9mPbR4nL8cYdWf', '99999999999999', 'https://scan.example.com/w/'])
      expect((await arrive(a, code)).status).toBe(404);
    expect((await answer(call('POST', '/v1/stations/arrivals', a, {}))).status).toBe(422);
    expect((await arrive(a, await pickedUp(), { tier: 12 })).status).toBe(422);
    expect((await arrive(acme, await pickedUp())).status).toBe(403);
    expect((await call('GET', `/v1/waybills/${created.waybillNo}`, a)).status).toBe(403); // a station reads no waybill
    // A station key needs its station; other keys take none.
    await expect(apiKeyCommand(['create', '--role', 'station', '--name', 'desk'], services, () => {})).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: ['station'] }] });
    await expect(apiKeyCommand(['create', '--role', 'warehouse', '--name', 'w', '--client', 'acme', '--station', 'hz-1'], services, () => {})).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('tells the client by a waybill.arrived outbox row with the station and the code, nothing personal', async () => {
    const hook = await answer(call('POST', '/v1/webhooks', admin, { url: 'http://127.0.0.1:9/arrivals', client: 'acme', events: ['waybill.arrived'] }));
    expect(hook.status).toBe(201);
    const station = `hz-w-${seq}`;
    const a = await stationKey(station);
    const no = await pickedUp();
    const { body } = await arrive(a, no, { shelf: 7, tier: 1 });
    const rows = (await t.query("SELECT payload FROM webhook_outbox WHERE type = 'waybill.arrived' AND endpoint_id = ?", hook.body.id)) as { payload: string }[];
    const payloads = rows.map((r) => JSON.parse(r.payload) as { data: Record<string, unknown> }).filter((p) => p.data.waybillNo === no);
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.data).toEqual({ waybillId: expect.any(String), waybillNo: no, orderId: expect.any(String), client: 'acme', carrier: 'ZT', status: 'picked_up', station, pickupCode: body.pickupCode });
    const text = JSON.stringify(payloads[0]);
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain(String((ZT.recipient as { name: string }).name));
    expect(text).not.toContain('文三路');
  });

  it('answers match for the right digits and the same no match for wrong digits, unknown waybills and another station', async () => {
    const a = await stationKey(`hz-v-${seq}`);
    const b = await stationKey(`hz-x-${seq}`);
    const no = await pickedUp();
    const { body: arrived } = await arrive(a, no);
    expect(await verify(a, { waybillNo: no, phoneLast4: RIGHT })).toMatchObject({ status: 200, body: { match: true } });
    expect(await verify(a, { pickupCode: arrived.pickupCode, phoneLast4: RIGHT })).toMatchObject({ status: 200, body: { match: true } });
    const wrong = await verify(a, { waybillNo: no, phoneLast4: '1234' });
    const unknown = await verify(a, { waybillNo: '99999999999998', phoneLast4: RIGHT });
    const unknownCode = await verify(a, { pickupCode: '9-9-9999', phoneLast4: RIGHT });
    const otherStation = await verify(b, { waybillNo: no, phoneLast4: RIGHT });
    const otherCode = await verify(b, { pickupCode: arrived.pickupCode, phoneLast4: RIGHT });
    for (const r of [unknown, unknownCode, otherStation, otherCode]) expect(r).toEqual(wrong);
    expect(wrong).toMatchObject({ status: 200, body: { match: false } });
    expect((await verify(a, { waybillNo: no, pickupCode: arrived.pickupCode, phoneLast4: RIGHT })).status).toBe(422);
    const bad = await verify(a, { waybillNo: no, phoneLast4: '40x7' });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).not.toContain('40x7');
    expect((await verify(acme, { waybillNo: no, phoneLast4: RIGHT })).status).toBe(403);

    const records = (await services.audit.forWaybill(no)).filter((r) => r.action === 'station_verify');
    expect(records.map((r) => r.outcome)).toEqual(['match', 'match', 'no_match', 'no_match']); // the last: another station, by number
    for (const r of records) {
      expect(r.detail?.station).toMatch(/^hz-[vx]-/);
      expect(JSON.stringify(r.detail ?? {})).not.toMatch(/4017|1234|phone/);
    }
  });

  it('lets a station post delivered only after a match; another station does not see the parcel', async () => {
    const stationA = `hz-d-${seq}`;
    const a = await stationKey(stationA);
    const b = await stationKey(`hz-e-${seq}`);
    const no = await pickedUp();
    await arrive(a, no);
    const early = await answer(call('POST', `/v1/waybills/${no}/events`, a, { type: 'delivered' }));
    expect(early).toMatchObject({ status: 403, body: { type: 'https://waybill.example/problems/forbidden' } });
    expect((await verify(a, { waybillNo: no, phoneLast4: '0000' })).body.match).toBe(false);
    expect((await call('POST', `/v1/waybills/${no}/events`, a, { type: 'delivered' })).status).toBe(403);
    expect((await verify(a, { waybillNo: no, phoneLast4: RIGHT })).body.match).toBe(true);
    expect((await call('POST', `/v1/waybills/${no}/events`, b, { type: 'delivered' })).status).toBe(404);
    expect((await call('POST', `/v1/waybills/${no}/events`, a, { type: 'returned' })).status).toBe(403); // stations only hand over
    expect(await answer(call('POST', `/v1/waybills/${no}/events`, a, { type: 'delivered' }))).toMatchObject({ status: 201, body: { status: 'delivered' } });
    const events = await services.store.eventsOf((await services.store.findWaybillByNo(no))!.id);
    expect(events.map((e) => e.type)).toEqual(['picked_up', 'arrived', 'delivered']);
    expect(events[2]!.actor).toMatch(/^station:/);
    const refused = (await services.audit.forWaybill(no)).filter((r) => r.action === 'refuse');
    // The other station's try too: answered as an unknown waybill, recorded under this one.
    expect(refused.map((r) => [r.outcome, r.detail])).toEqual([
      ['forbidden', { event: 'delivered' }],
      ['forbidden', { event: 'delivered' }],
      ['not_visible', { role: 'station' }],
      ['forbidden', { event: 'returned', role: 'station' }],
    ]);
  });

  it('limits a station per minute (429) and a waybill per day (locked: no match even for the right digits, audited and alerted)', async () => {
    const busy = await stationKey(`hz-l-${seq}`);
    const probe = `8888${String(seq).padStart(10, '0')}`;
    for (let i = 0; i < 30; i++) expect((await verify(busy, { waybillNo: probe, phoneLast4: RIGHT })).status).toBe(200);
    const limited = await verify(busy, { waybillNo: probe, phoneLast4: RIGHT });
    expect(limited).toMatchObject({ status: 429, body: { type: 'https://waybill.example/problems/limited' } });
    expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    expect((await services.audit.forWaybill(probe)).map((r) => r.outcome).slice(-2)).toEqual(['no_match', 'limited']);

    const a = await stationKey(`hz-m-${seq}`);
    const no = await pickedUp();
    await arrive(a, no);
    for (const digits of ['0001', '0002', '0003', '0004', '0005']) expect((await verify(a, { waybillNo: no, phoneLast4: digits })).body.match).toBe(false);
    expect((await verify(a, { waybillNo: no, phoneLast4: RIGHT })).body.match).toBe(false);
    const records = (await services.audit.forWaybill(no)).filter((r) => r.action === 'station_verify');
    expect(records.map((r) => r.outcome)).toEqual(['no_match', 'no_match', 'no_match', 'no_match', 'no_match', 'limited']);
    expect(records[5]!.detail).toMatchObject({ limit: 'waybill' });
    for (const r of records) expect(JSON.stringify(r.detail ?? {})).not.toMatch(/000[1-5]|4017/);
    const alerts = (await t.query("SELECT detail FROM alerts WHERE kind = 'station_verify_locked'")) as { detail: string }[];
    expect(alerts.filter((x) => x.detail.includes(no))).toHaveLength(1);
    expect((await call('POST', `/v1/waybills/${no}/events`, a, { type: 'delivered' })).status).toBe(403);
  });

  it('suspends a station guessing across parcels past WAYBILL_STATION_WRONG_PER_HOUR: every key refused, one alert, audited; the operator reinstates it', async () => {
    // Four wrong answers at each parcel stay under the per-waybill lock; the station's hour counts them all.
    const sweeping = await openServices(loadConfig({ ...env, WAYBILL_STATION_WRONG_PER_HOUR: '9' }), () => {});
    const second = await serveCommand(['--port', '0'], sweeping, () => {}, new PassThrough());
    try {
      const station = `hz-s-${seq}`;
      const [key, otherDesk] = [await stationKey(station), await stationKey(station)];
      const bystander = await stationKey(`hz-t-${seq}`);
      const nos = [await pickedUp(), await pickedUp(), await pickedUp()];
      for (const no of nos) await arrive(key, no);
      const at = (k: string, body: unknown) => answer(fetch(`${second.url}/v1/stations/verify`, { method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }));
      const answers = [];
      for (const no of nos) for (const digits of ['0001', '0002', '0003']) answers.push(await at(key, { waybillNo: no, phoneLast4: digits }));
      answers.push(await at(key, { pickupCode: '9-9-9999', phoneLast4: RIGHT })); // the 10th wrong answer in the hour
      expect(answers.slice(0, 9).map((a) => a.body.match)).toEqual(Array(9).fill(false));
      expect(answers[9]).toMatchObject({ status: 403, body: { type: 'https://waybill.example/problems/suspended' } });
      // Every key of the station, on every route, even with the right digits; another station is untouched.
      expect((await at(otherDesk, { waybillNo: nos[0], phoneLast4: RIGHT })).status).toBe(403);
      expect((await call('GET', '/v1/stations/current', otherDesk)).status).toBe(403);
      expect((await arrive(key, await pickedUp())).status).toBe(403);
      expect((await call('POST', `/v1/waybills/${nos[0]}/events`, key, { type: 'delivered' })).status).toBe(403);
      expect((await call('GET', '/v1/stations/current', bystander)).status).toBe(200);

      const alerts = (await t.query("SELECT detail FROM alerts WHERE kind = 'station_suspended'")) as { detail: string }[];
      expect(alerts.filter((x) => x.detail.includes(station))).toHaveLength(1);
      const audited = async (action: string) =>
        ((await t.query('SELECT actor, outcome, detail FROM audit_log WHERE action = ?', action)) as { actor: string; outcome: string; detail: string }[]).filter((r) => JSON.parse(r.detail).station === station);
      expect(await audited('suspend')).toEqual([expect.objectContaining({ actor: 'system', outcome: 'suspended' })]);

      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      expect(await stationCommand(['list'], services, io)).toBe(0);
      expect(out.find((l) => l.startsWith(`${station}\t`))).toMatch(/^\S+\t2\tsuspended /);
      // What `waybill audit rows` checks: the log's suspensions against the rows.
      const lifted = async () => {
        const check = await suspensionsLifted(services);
        return { suspended: check.checked, lifted: check.rewritten };
      };
      expect(await lifted()).toEqual({ suspended: 1, lifted: [] });
      // A database writer deletes the suspension: the station's keys open again, and the log still says
      // it is suspended, so the walk names it.
      await t.exec(`DELETE FROM station_suspensions WHERE station_id = '${station}'`);
      expect((await call('GET', '/v1/stations/current', key)).status).toBe(200);
      expect(await lifted()).toEqual({ suspended: 1, lifted: [station] });
      // The operator who decides to let it be puts the reinstatement on record.
      expect(await stationCommand(['reinstate', station], services, io)).toBe(0);
      expect(out.at(-1)).toBe(`station ${station}: its suspension was lifted outside the service; the reinstatement is now on record`);
      expect(await lifted()).toEqual({ suspended: 0, lifted: [] });
      expect(await audited('reinstate')).toEqual([expect.objectContaining({ actor: expect.stringMatching(/^cli:/), outcome: 'ok' })]);
    } finally {
      await second.shutdown();
      await sweeping.close();
    }
  });

  it('decides nothing of a burst after the answer that suspends the station: every request queued behind it is 403, right digits too', async () => {
    const sweeping = await openServices(loadConfig({ ...env, WAYBILL_STATION_WRONG_PER_HOUR: '9' }), () => {});
    const second = await serveCommand(['--port', '0'], sweeping, () => {}, new PassThrough());
    try {
      const station = `hz-q-${seq}`;
      const key = await stationKey(station);
      const no = await pickedUp();
      await arrive(key, no);
      const at = (body: unknown) => answer(fetch(`${second.url}/v1/stations/verify`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }));
      // Twelve wrong answers (unknown codes) and right ones between them, all at once: they take turns.
      const guesses = Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? { waybillNo: no, phoneLast4: RIGHT } : { pickupCode: `9-9-${String(9000 + i)}`, phoneLast4: RIGHT }));
      const burst = await Promise.all(guesses.map(at));
      expect(burst.filter((a) => a.status === 403).length).toBeGreaterThan(0);
      // Nothing was decided after the suspension: no verify record follows it, and every answer after it is 403.
      const trail = (await t.query('SELECT seq, action, detail FROM audit_log WHERE action IN (?, ?) ORDER BY seq', 'suspend', 'station_verify')) as { seq: number; action: string; detail: string }[];
      const mine = trail.filter((r) => JSON.parse(r.detail).station === station);
      const suspended = mine.findIndex((r) => r.action === 'suspend');
      expect(suspended).toBeGreaterThan(0);
      expect(mine.slice(suspended + 1)).toEqual([]);
      expect(burst.filter((a) => a.status === 200)).toHaveLength(suspended - 1); // the suspending answer itself is 403
      // The operator reinstates it: its key works again, and the log agrees with the rows.
      const said: string[] = [];
      expect(await stationCommand(['reinstate', station], services, { out: (l) => said.push(l), err: (l) => said.push(l) })).toBe(0);
      expect(said).toEqual([expect.stringMatching(new RegExp(`^reinstated station ${station} \\(was suspended at `))]);
      expect((await call('GET', '/v1/stations/current', key)).status).toBe(200);
      expect((await suspensionsLifted(services)).rewritten).toEqual([]);
    } finally {
      await second.shutdown();
      await sweeping.close();
    }
  });

  it('answers a second arrival scan of a parcel the station has handed over with 409, not "already here"', async () => {
    const station = `hz-h-${seq}`;
    const key = await stationKey(station);
    const no = await pickedUp();
    expect((await arrive(key, no)).status).toBe(201);
    expect(await verify(key, { waybillNo: no, phoneLast4: RIGHT })).toMatchObject({ body: { match: true } });
    expect((await call('POST', `/v1/waybills/${no}/events`, key, { type: 'delivered' })).status).toBe(201);
    expect((await arrive(key, no)).status).toBe(409);
  });

  it('meets a burst of guesses with the same locks: five wrong answers, then locked, one alert', async () => {
    const key = await stationKey(`hz-b-${seq}`);
    const no = await pickedUp();
    await arrive(key, no);
    const guesses = Array.from({ length: 12 }, (_, i) => ({
      method: 'POST',
      path: '/v1/stations/verify',
      headers: { Authorization: `Bearer ${key}` },
      body: { waybillNo: no, phoneLast4: String(1000 + i) },
    }));
    expect(await requestBurst(running.url, guesses)).toEqual(Array(12).fill(200));
    const outcomes = (await services.audit.forWaybill(no)).filter((r) => r.action === 'station_verify').map((r) => r.outcome);
    expect(outcomes).toEqual([...Array(5).fill('no_match'), ...Array(7).fill('limited')]);
    const alerts = (await t.query("SELECT detail FROM alerts WHERE kind = 'station_verify_locked'")) as { detail: string }[];
    expect(alerts.filter((x) => x.detail.includes(no))).toHaveLength(1);
  });
});
