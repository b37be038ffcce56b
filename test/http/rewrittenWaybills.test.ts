// A waybill's row rewritten in the database opens nothing: its number, order, carrier, client and QR
// token are sealed with its data, and every place that opens the seal (a courier's scan, a label, the
// waybill view) checks the row against it. Through the real API on both databases: a token hash moved to
// another waybill, a waybill moved to another client or carrier are answered as unknown, with an alert
// and an audit record naming ids only.

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
    expect((await tamperAlerts()).filter((a) => a.startsWith(`waybill ${moved.id}:`)).length).toBeGreaterThanOrEqual(2);
  });
});
