// A waybill's row rewritten in the database opens nothing: its number, order, carrier, client and QR
// token are sealed with its data, and every place that opens the seal (a courier's scan, a label, the
// waybill view) checks the row against it. Through the real API on both databases: a token hash moved to
// another waybill, a waybill moved to another client or carrier are answered as unknown, with an alert
// and an audit record naming ids only. A parcel's state (status, holder, purge, after-sales) carries a
// binding the service writes with it: a delivered parcel made live again, given to another courier,
// opened to the carrier or kept past its purge in the database opens for nobody, and no event is decided
// on such a state.

import { STORE_BACKENDS } from '../support/storeBackends';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

let seq = 0;

describe.each(STORE_BACKENDS)('%s waybill rows rewritten outside the service', (_name, backend) => {
  let w: ApiWorld;
  beforeAll(async () => (w = await startApiWorld(backend)));
  afterAll(() => stopApiWorld(w));

  const call = (method: string, route: string, key: string, body?: unknown) =>
    fetch(`${w.running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const created = async () => {
    const c = (await (await call('POST', '/v1/waybills', w.acme, { ...ZT, orderId: `RW-${process.pid}-${++seq}` })).json()) as { id: string; waybillNo: string; qr: string };
    return { ...c, token: c.qr.split('/').pop()! };
  };
  const tamperAlerts = async () => (await w.services.store.listAlerts({ kind: 'waybill_tampered', limit: 50 })).map((a) => a.detail);
  const stateRewritten = (id: string) => `waybill ${id}: its row was changed outside the service (its state lacks the binding the service writes with it); refused`;
  const courier = async (name: string) => {
    const { courier: c, credential } = await w.services.couriers.add({ carrier: 'ZT', name, outlet: 'HZ-01', routes: [], device: 'HH-1' }, new Date());
    return { id: c.id, key: credential };
  };
  const scan = (key: string, token: string, purpose = 'delivery') => call('GET', `/v1/scan/${token}?purpose=${purpose}`, key);
  const post = (key: string, waybillNo: string, event: Record<string, string>) => call('POST', `/v1/waybills/${waybillNo}/events`, key, event);
  /** A parcel on paper (its first label) that `holder` picked up (a pickup scan, then its event). */
  const pickedUp = async (holder: { key: string }) => {
    const p = await created();
    expect((await call('GET', `/v1/waybills/${p.id}/label?format=pdf`, w.acme)).status).toBe(200);
    expect((await scan(holder.key, p.token, 'pickup')).status).toBe(200);
    expect((await post(holder.key, p.waybillNo, { type: 'picked_up' })).status).toBe(201);
    return p;
  };
  const state = async (id: string) => (await w.t.query('SELECT status, custodian, purge_after, after_sales FROM waybills WHERE id = ?', id))[0]!;
  // A flag is written as a comparison, which is 1/0 on SQLite and true/false on PostgreSQL.
  const putBack = (id: string, row: Record<string, unknown>) =>
    w.t.exec(`UPDATE waybills SET status = '${row.status}', custodian = ${row.custodian === null ? 'NULL' : `'${row.custodian}'`}, purge_after = '${row.purge_after}', after_sales = ${row.after_sales ? '(1 = 1)' : '(1 = 0)'} WHERE id = '${id}'`);

  it("refuses a scan whose token's row was given to another waybill, as an unknown token", async () => {
    const { credential: courier } = await w.services.couriers.add({ carrier: 'ZT', name: 'courier one', outlet: 'HZ-01', routes: [], device: 'HH-1' }, new Date());
    const mine = await created();
    const victim = await created();
    const scan = (token: string) => call('GET', `/v1/scan/${token}?purpose=delivery`, courier);
    expect((await scan(mine.token)).status).toBe(200);
    // The insider moves the hash of a token on paper they hold to the waybill they want to open.
    const [{ hash }] = (await w.t.query('SELECT token_hash AS hash FROM waybills WHERE id = ?', mine.id)) as [{ hash: string }];
    await w.t.exec(`UPDATE waybills SET token_hash = 'moved-away' WHERE id = '${mine.id}'`);
    await w.t.exec(`UPDATE waybills SET token_hash = '${hash}' WHERE id = '${victim.id}'`);
    const refused = await scan(mine.token);
    expect([refused.status, ((await refused.json()) as { detail: string }).detail]).toEqual([404, 'unknown token']);
    expect(await tamperAlerts()).toContain(`waybill ${victim.id}: its row was changed outside the service (it no longer matches its seal); refused`);
    const records = await w.t.query("SELECT actor, detail FROM audit_log WHERE outcome = 'record_tampered'");
    expect(records).toEqual([{ actor: expect.stringMatching(/^courier:/), detail: JSON.stringify({ waybill: victim.id }) }]);
  });

  it('refuses the view and the label of a waybill moved to another client or carrier, to the new client and the old', async () => {
    const globex = (await w.services.apiKeys.add({ name: 'globex wms', role: 'warehouse', client: 'globex' }, new Date())).credential;
    const moved = await created();
    expect((await call('GET', `/v1/waybills/${moved.id}`, w.acme)).status).toBe(200);
    await w.t.exec(`UPDATE waybills SET client_id = 'globex' WHERE id = '${moved.id}'`);
    for (const key of [globex, w.acme]) {
      expect((await call('GET', `/v1/waybills/${moved.id}`, key)).status).toBe(404);
      expect((await call('GET', `/v1/waybills/${moved.id}/label?format=pdf`, key)).status).toBe(404);
    }
    await w.t.exec(`UPDATE waybills SET client_id = 'acme', carrier = 'SF' WHERE id = '${moved.id}'`);
    expect((await call('GET', `/v1/waybills/${moved.id}/label?format=pdf`, w.acme)).status).toBe(404);
    await w.t.exec(`UPDATE waybills SET carrier = 'ZT' WHERE id = '${moved.id}'`);
    expect((await call('GET', `/v1/waybills/${moved.id}/label?format=pdf`, w.acme)).status).toBe(200);
    expect((await tamperAlerts()).filter((a) => a.startsWith(`waybill ${moved.id}:`))).toHaveLength(1);
    expect((await w.t.query("SELECT actor FROM audit_log WHERE outcome = 'record_tampered' AND detail = ?", JSON.stringify({ waybill: moved.id })))).toHaveLength(3); // globex's view and label, acme's label of the SF carrier (acme no longer sees the globex row)
  });

  it('opens a delivered parcel for nobody once its holder, status, after-sales or purge is rewritten; put back as the service left it, for its holder again', async () => {
    const holder = await courier('courier holder');
    const other = await courier('courier other');
    const p = await pickedUp(holder);
    expect((await post(holder.key, p.waybillNo, { type: 'delivered' })).status).toBe(201);
    expect((await scan(other.key, p.token)).status).toBe(403); // delivered: for its holder only
    const delivered = await state(p.id);
    const refusedToAll = async () => {
      for (const c of [other, holder]) {
        const refused = await scan(c.key, p.token);
        expect([refused.status, ((await refused.json()) as { detail: string }).detail]).toEqual([404, 'unknown token']);
      }
    };

    await w.t.exec(`UPDATE waybills SET custodian = '${other.id}' WHERE id = '${p.id}'`); // given to a colluding courier
    await refusedToAll();
    await w.t.exec(`UPDATE waybills SET status = 'picked_up' WHERE id = '${p.id}'`); // and made live again
    await refusedToAll();
    await putBack(p.id, delivered);
    expect((await scan(holder.key, p.token)).status).toBe(200);

    await w.t.exec(`UPDATE waybills SET after_sales = NOT after_sales WHERE id = '${p.id}'`); // opened to every courier of the carrier
    await refusedToAll();
    await putBack(p.id, delivered);
    await w.t.exec(`UPDATE waybills SET purge_after = '2099-01-01T00:00:00.000Z' WHERE id = '${p.id}'`); // kept past its purge
    await refusedToAll();
    await putBack(p.id, delivered);
    expect((await scan(holder.key, p.token)).status).toBe(200);
    // An after-sales event row written in the database opens nothing either: what opens is the bound state.
    await w.t.exec(`INSERT INTO waybill_events (waybill_id, type, at, actor) VALUES ('${p.id}', 'after_sales', '${new Date().toISOString()}', 'system')`);
    expect((await scan(other.key, p.token)).status).toBe(403);

    // Every refusal is on record with its courier; the alert is raised once an hour per waybill and process.
    expect((await tamperAlerts()).filter((a) => a.startsWith(`waybill ${p.id}:`))).toEqual([stateRewritten(p.id)]);
    const records = await w.t.query("SELECT actor FROM audit_log WHERE outcome = 'record_tampered' AND detail = ?", JSON.stringify({ waybill: p.id }));
    expect(records.length).toBeGreaterThanOrEqual(8);
  });

  it('decides no event on a rewritten state, so the service never binds it as its own', async () => {
    const holder = await courier('courier holder two');
    const other = await courier('courier other two');
    const p = await pickedUp(holder);
    await w.t.exec(`UPDATE waybills SET custodian = '${other.id}' WHERE id = '${p.id}'`);
    const refused = await post(other.key, p.waybillNo, { type: 'delivered' });
    expect(refused.status).toBe(404);
    expect((await post(w.admin, p.waybillNo, { type: 'correction', status: 'delivered', reason: 'test' })).status).toBe(404);
    expect(await state(p.id)).toMatchObject({ status: 'picked_up', custodian: other.id }); // as the insider left it, still refused
    expect((await scan(other.key, p.token)).status).toBe(404);
    expect(await tamperAlerts()).toContain(stateRewritten(p.id));
  });

  it('prints no label of a cancelled waybill made printed again in the database', async () => {
    const p = await created();
    expect((await post(w.acme, p.waybillNo, { type: 'cancelled' })).status).toBe(201);
    expect((await call('GET', `/v1/waybills/${p.id}/label?format=pdf`, w.acme)).status).toBe(409);
    await w.t.exec(`UPDATE waybills SET status = 'printed' WHERE id = '${p.id}'`);
    expect((await call('GET', `/v1/waybills/${p.id}/label?format=pdf`, w.acme)).status).toBe(404);
    expect((await call('GET', `/v1/waybills/${p.id}`, w.acme)).status).toBe(404);
    expect(await tamperAlerts()).toContain(stateRewritten(p.id));
  });

  it("refuses only states written outside the service: one corrected back to created while a courier held it prints again", async () => {
    const holder = await courier('courier holder three');
    const p = await pickedUp(holder);
    expect((await post(w.admin, p.waybillNo, { type: 'correction', status: 'created', reason: 'test' })).status).toBe(201);
    expect((await call('GET', `/v1/waybills/${p.id}/label?format=pdf`, w.acme)).status).toBe(200);
    expect(await state(p.id)).toMatchObject({ status: 'printed', custodian: holder.id });
    expect((await scan(holder.key, p.token)).status).toBe(200);
    expect(await tamperAlerts()).not.toContain(stateRewritten(p.id));
  });
});
