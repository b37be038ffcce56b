// Events over the API and the shell, on both databases: the state machine's 409 with the current state
// and the allowed events, courier custody (scan for pickup → pick up → deliver; others refused and
// counted; hand-over; outlet assignment), the per-courier limit and the closing burst that suspends.

import { EXIT, main } from '../../src/cli';
import { STORE_BACKENDS } from '../support/storeBackends';
import { requestBurst } from '../support/requestBurst';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);


type World = ApiWorld;

let seq = 0;

describe.each(STORE_BACKENDS)('%s waybill events', (_name, backend) => {
  const startWorld = (extra: Record<string, string> = {}) => startApiWorld(backend, extra);
  const stopWorld = stopApiWorld;

  const call = (w: World, method: string, route: string, key: string, body?: unknown) =>
    fetch(`${w.running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const post = async (w: World, waybillNo: string, key: string, body: unknown) => {
    const res = await call(w, 'POST', `/v1/waybills/${waybillNo}/events`, key, body);
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
  };
  /** A waybill on paper (a JSON create, then its first label), with the token its QR carries. */
  const printedWaybill = async (w: World) => {
    const created = (await (await call(w, 'POST', '/v1/waybills', w.acme, { ...ZT, orderId: `EV-${process.pid}-${++seq}` })).json()) as { id: string; waybillNo: string; qr: string };
    expect((await call(w, 'GET', `/v1/waybills/${created.id}/label?format=pdf`, w.acme)).status).toBe(200);
    return { waybillNo: created.waybillNo, token: created.qr.split('/').pop()! };
  };
  const courier = async (w: World, outlet = 'HZ-XH01') => {
    const { courier: c, credential } = await w.services.couriers.add({ carrier: 'ZT', name: '王师傅', outlet, routes: [], device: 'HH-1' }, new Date());
    return { id: c.id, key: credential };
  };
  const scan = (w: World, token: string, key: string, purpose: string) => call(w, 'GET', `/v1/scan/${token}?purpose=${purpose}`, key);

  describe('with default limits', () => {
    let w: World;
    beforeAll(async () => (w = await startWorld()));
    afterAll(() => stopWorld(w));

    it('refuses an event the state does not allow: 409 invalid_transition with the current state and the allowed events', async () => {
      const { waybillNo } = await printedWaybill(w);
      const refused = await post(w, waybillNo, w.admin, { type: 'delivered' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ type: 'https://waybill.example/problems/invalid_transition', currentStatus: 'printed', allowedEvents: ['assigned', 'picked_up', 'cancelled'] });
      expect((await post(w, waybillNo, w.acme, { type: 'cancelled' })).status).toBe(201);
      expect((await post(w, waybillNo, w.acme, { type: 'cancelled' })).body).toMatchObject({ currentStatus: 'cancelled', allowedEvents: [] });
      // Each refusal is in the audit trail, as a success would be.
      const refusals = (await w.services.audit.forWaybill(waybillNo)).filter((r) => r.action === 'refuse');
      expect(refusals.map((r) => [r.outcome, r.detail?.event])).toEqual([['invalid_transition', 'delivered'], ['invalid_transition', 'cancelled']]);
      const doc = (await (await fetch(`${w.running.url}/openapi.json`)).json()) as { components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
      expect(Object.keys(doc.components.schemas.TransitionProblem!.properties!)).toEqual(expect.arrayContaining(['currentStatus', 'allowedEvents']));
    });

    it('lets the courier who scanned for pickup pick up and deliver; another courier is refused 403 and counted', async () => {
      const { waybillNo, token } = await printedWaybill(w);
      const holder = await courier(w);
      const other = await courier(w);
      expect((await scan(w, token, holder.key, 'delivery')).status).toBe(200);
      expect((await post(w, waybillNo, holder.key, { type: 'picked_up' })).status).toBe(403); // a delivery scan is not a pickup
      expect((await scan(w, token, holder.key, 'pickup')).status).toBe(200);
      expect((await post(w, waybillNo, other.key, { type: 'picked_up' })).status).toBe(403);
      expect((await post(w, waybillNo, holder.key, { type: 'picked_up' })).status).toBe(201);
      const stolen = await post(w, waybillNo, other.key, { type: 'delivered' });
      expect(stolen).toMatchObject({ status: 403, body: { type: 'https://waybill.example/problems/forbidden' } });
      expect(stolen.body.currentStatus).toBeUndefined(); // a courier without custody learns nothing of the state
      expect((await post(w, waybillNo, holder.key, { type: 'delivered' })).body).toMatchObject({ status: 'delivered' });
      expect(await w.t.query('SELECT outcome, type FROM event_attempts WHERE courier_id = ? ORDER BY id', other.id)).toEqual([
        { outcome: 'forbidden', type: 'picked_up' },
        { outcome: 'forbidden', type: 'delivered' },
      ]);
      const refusals = (await w.services.audit.forWaybill(waybillNo)).filter((r) => r.action === 'refuse').map((r) => `${r.actor}:${r.outcome}`);
      expect(refusals).toEqual([`courier:${holder.id}:forbidden`, `courier:${other.id}:forbidden`, `courier:${other.id}:forbidden`]);
    });

    it('passes custody by a hand-over from the holding courier, and lets an admin assign a pickup to an outlet', async () => {
      const { waybillNo } = await printedWaybill(w);
      const a = await courier(w, 'HZ-A');
      const b = await courier(w, 'HZ-B');
      expect((await post(w, waybillNo, a.key, { type: 'picked_up' })).status).toBe(403);
      expect((await post(w, waybillNo, w.acme, { type: 'assigned', outlet: 'HZ-A' })).status).toBe(403); // admins assign
      expect((await post(w, waybillNo, w.admin, { type: 'assigned', outlet: 'HZ-A' })).status).toBe(201);
      expect((await post(w, waybillNo, a.key, { type: 'picked_up' })).status).toBe(201);
      expect((await post(w, waybillNo, b.key, { type: 'handed_over', to: b.id })).status).toBe(403); // only the holder hands over
      expect((await post(w, waybillNo, a.key, { type: 'handed_over', to: 'aaaaaaaaaa' })).status).toBe(422);
      expect((await post(w, waybillNo, a.key, { type: 'handed_over', to: b.id })).body).toMatchObject({ status: 'picked_up' });
      expect((await post(w, waybillNo, a.key, { type: 'delivered' })).status).toBe(403);
      expect((await post(w, waybillNo, b.key, { type: 'delivered' })).status).toBe(201);
      expect((await post(w, waybillNo, b.key, { type: 'returned' })).body).toMatchObject({ status: 'returned' }); // a return after delivery
    });

    it('lets only admins correct a state, with a reason kept off the audit trail', async () => {
      const { waybillNo } = await printedWaybill(w);
      const correction = { type: 'correction', status: 'cancelled', reason: 'duplicate order' };
      expect((await post(w, waybillNo, w.acme, correction)).status).toBe(403);
      // A warehouse key trying to correct a state is audited: the insider's attempt is seen.
      expect((await w.services.audit.forWaybill(waybillNo)).filter((r) => r.action === 'refuse').map((r) => [r.outcome, r.detail])).toEqual([['forbidden', { event: 'correction', role: 'warehouse' }]]);
      expect((await post(w, waybillNo, w.admin, { ...correction, reason: '' })).status).toBe(422);
      expect((await post(w, waybillNo, w.admin, correction)).body).toMatchObject({ status: 'cancelled' });
      const [record] = (await w.services.audit.forWaybill(waybillNo)).filter((r) => r.action === 'correct');
      expect(record).toMatchObject({ outcome: 'cancelled', detail: { from: 'printed' } });
      expect(JSON.stringify(record)).not.toContain('duplicate order');
      // Back from cancelled to a live state: the waybill opens again (scans, paper), so it alerts.
      const alerts = () => w.services.store.listAlerts({ kind: 'waybill_reopened', limit: 10 });
      expect(await alerts()).toEqual([]);
      expect((await post(w, waybillNo, w.admin, { type: 'correction', status: 'printed', reason: 'cancelled by mistake' })).body).toMatchObject({ status: 'printed' });
      const [reopened] = await alerts();
      expect(reopened).toMatchObject({ kind: 'waybill_reopened', detail: expect.stringMatching(new RegExp(`^waybill ${waybillNo} corrected from cancelled to printed by admin:`)) });
      expect(reopened!.detail).not.toContain('by mistake');
    });

    it('refuses from the shell too: exit 65 naming the state and the allowed events; corrects with --correct and --reason', async () => {
      const { waybillNo } = await printedWaybill(w);
      const run = async (...argv: string[]) => {
        const lines: string[] = [];
        return { code: await main(argv, (l) => lines.push(l), w.env), out: lines.join('\n') };
      };
      const refused = await run('event', waybillNo, 'delivered');
      expect(refused.code).toBe(EXIT.badInput);
      expect(refused.out).toMatch(/printed waybill takes no delivered event; allowed now: assigned, picked_up, cancelled/);
      expect((await run('assign', waybillNo, '--outlet', 'HZ-A')).code).toBe(EXIT.ok);
      expect((await run('event', waybillNo, '--correct', 'delivered')).code).toBe(EXIT.badInput); // a reason is required
      const corrected = await run('event', waybillNo, '--correct', 'delivered', '--reason', 'signed on paper');
      expect(corrected).toMatchObject({ code: EXIT.ok, out: expect.stringMatching(/: delivered;/) });
      expect((await run('event', waybillNo, 'picked_up')).code).toBe(EXIT.badInput);
    });
  });

  describe('with tight courier limits', () => {
    let w: World;
    beforeAll(async () => (w = await startWorld({ WAYBILL_COURIER_EVENTS_PER_MINUTE: '4', WAYBILL_COURIER_CLOSE_BURST: '3' })));
    afterAll(() => stopWorld(w));

    it('limits a courier’s events per minute: 429 with Retry-After', async () => {
      const { waybillNo } = await printedWaybill(w);
      const c = await courier(w);
      for (let i = 0; i < 4; i++) expect((await post(w, waybillNo, c.key, { type: 'picked_up' })).status).toBe(403);
      const limited = await post(w, waybillNo, c.key, { type: 'picked_up' });
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThan(0);
    });

    it('holds the per-minute limit when a courier posts many events at once', async () => {
      const { waybillNo } = await printedWaybill(w);
      const c = await courier(w);
      // Refused for custody (403) but counted, up to the limit of 4; the rest 429, however the burst is read.
      const event = { method: 'POST', path: `/v1/waybills/${waybillNo}/events`, headers: { Authorization: `Bearer ${c.key}` }, body: { type: 'picked_up' } };
      const statuses = await requestBurst(w.running.url, Array(8).fill(event));
      expect(statuses.filter((s) => s === 403)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    });

    it('suspends a courier after a burst of closing events, with an alert and an audit record; it is refused from then on', async () => {
      const waybills = [await printedWaybill(w), await printedWaybill(w), await printedWaybill(w), await printedWaybill(w)];
      const c = await courier(w);
      for (const { waybillNo } of waybills.slice(0, 3)) expect((await post(w, waybillNo, c.key, { type: 'delivered' })).status).toBe(403);
      const burst = await post(w, waybills[3]!.waybillNo, c.key, { type: 'delivered' });
      expect(burst).toMatchObject({ status: 403, body: { type: 'https://waybill.example/problems/suspended' } });
      expect((await w.services.couriers.get(c.id))!.suspendedAt).toBeDefined();
      expect(await w.t.query('SELECT kind, detail FROM alerts WHERE courier_id = ?', c.id)).toEqual([{ kind: 'courier_suspended', detail: 'too many closing events in a minute' }]);
      const suspensions = await w.t.query("SELECT actor, outcome, detail FROM audit_log WHERE action = 'suspend'");
      expect(suspensions.map((r) => ({ ...r, detail: JSON.parse(String(r.detail)) }))).toEqual([
        { actor: 'system', outcome: 'suspended', detail: { courier: c.id, reason: 'too many closing events in a minute' } },
      ]);
      expect(await w.services.audit.verify()).toMatchObject({ ok: true });
      expect((await post(w, waybills[0]!.waybillNo, c.key, { type: 'picked_up' })).status).toBe(403);
    });
  });
});
