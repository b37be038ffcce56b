// A database insider cannot make a credential: every credential row is bound, under a key the database
// never holds, to what it grants (role, client, station, carrier, outlet, routes, courier) and to its
// state. A row written, moved, revived or released in the database opens nothing, and says so in an alert
// and in the audit log. The service's own suspensions and reinstatements keep working.

import type { RowCheck } from '../../src/auth/credentials';
import type { Stores } from '../../src/store/openStores';
import { STORE_BACKENDS } from '../support/storeBackends';

const AT = new Date('2026-11-23T10:00:00.000Z');
const LIMITS = { unknownPerMinute: 0, unknownPerHour: 100, bindingsPerHour: 100, bindingsPerDay: 100 };

/** The same secret under another id: what a tamperer who copied a row would present. */
const withId = (credential: string, id: string) => credential.replace(/^(wb[a-z])_[a-z2-7]{10}_/, `$1_${id}_`);

/** What `waybill audit rows` reports of a kind: how many rows it checked and the rewritten ones' ids, sorted. */
const found = (check: RowCheck) => ({ checked: check.checked, rewritten: [...check.rewritten].sort(), more: check.more });

/** The credential_tampered alerts' texts, sorted; the audit chain still verifies. */
async function tamperRecords(stores: Stores): Promise<{ alerts: string[] }> {
  expect(await stores.audit.verify()).toMatchObject({ ok: true });
  return { alerts: (await stores.store.listAlerts({ kind: 'credential_tampered', limit: 50 })).map((a) => a.detail).sort() };
}

describe.each(STORE_BACKENDS)('%s credential rows changed outside the service', (_name, backend) => {
  it('refuses an API key row copied as an admin key, moved to another client, or revived after its revocation', async () => {
    const t = await backend.open();
    const { key, credential } = await t.stores.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, AT);
    // A copy of the row (hash and binding too) under a new id, as an admin key.
    await t.exec(`INSERT INTO api_keys (id, name, role, client_id, secret_hash, created_at, binding)
      SELECT 'forgedkey2', 'ops', 'admin', NULL, secret_hash, created_at, binding FROM api_keys WHERE id = '${key.id}'`);
    // Found by the walk over every live key before anyone presents it.
    expect(found(await t.stores.apiKeys.checkRows())).toEqual({ checked: 2, rewritten: ['forgedkey2'], more: 0 });
    expect(await t.stores.apiKeys.authenticate(withId(credential, 'forgedkey2'))).toBeUndefined();
    expect(await t.stores.apiKeys.authenticate(credential)).toEqual(key);

    await t.exec(`UPDATE api_keys SET client_id = 'globex' WHERE id = '${key.id}'`);
    expect(await t.stores.apiKeys.authenticate(credential)).toBeUndefined();
    await t.exec(`UPDATE api_keys SET client_id = 'acme' WHERE id = '${key.id}'`);
    expect(await t.stores.apiKeys.authenticate(credential)).toEqual(key);

    await t.stores.apiKeys.revoke(key.id, AT);
    expect(found(await t.stores.apiKeys.checkRows())).toEqual({ checked: 1, rewritten: ['forgedkey2'], more: 0 }); // a revoked key opens nothing, bound or not
    await t.exec(`UPDATE api_keys SET revoked_at = NULL WHERE id = '${key.id}'`);
    expect(await t.stores.apiKeys.authenticate(credential)).toBeUndefined();
    expect(found(await t.stores.apiKeys.checkRows())).toEqual({ checked: 2, rewritten: [key.id, 'forgedkey2'].sort(), more: 0 });

    // One alert and one audit record per credential (an hour apart at most), naming ids only.
    expect(await t.stores.apiKeys.authenticate(credential)).toBeUndefined();
    const { alerts } = await tamperRecords(t.stores);
    expect(alerts).toEqual([
      `api key ${key.id}: its row was changed outside the service; the credential is refused`,
      'api key forgedkey2: its row was changed outside the service; the credential is refused',
    ].sort());
    expect(await t.query("SELECT detail FROM audit_log WHERE outcome = 'credential_tampered' ORDER BY seq")).toEqual([
      { detail: JSON.stringify({ credential: 'api key', id: 'forgedkey2' }) },
      { detail: JSON.stringify({ credential: 'api key', id: key.id }) },
    ]);
    await t.close();
  });

  it('refuses a courier whose carrier or routes were changed, or whose suspension or revocation was lifted in the database, and its devices with it', async () => {
    const t = await backend.open();
    const { courier, credential } = await t.stores.couriers.add({ carrier: 'ZT', name: 'courier one', outlet: 'HZ-01', routes: ['310106'], device: 'HH-1' }, AT);
    const { code } = await t.stores.couriers.pair(courier.id, AT);
    const paired = (await t.stores.couriers.redeem(code, 'phone one', AT))!;
    const authenticated = async (c: string) => (await t.stores.couriers.authenticate(c, AT))?.id;
    expect(await authenticated(credential)).toBe(courier.id);
    expect(await authenticated(paired.credential)).toBe(courier.id);

    await t.exec(`UPDATE couriers SET carrier = 'SF' WHERE id = '${courier.id}'`);
    expect(await authenticated(credential)).toBeUndefined();
    expect(await authenticated(paired.credential)).toBeUndefined();
    await t.exec(`UPDATE couriers SET carrier = 'ZT', routes = '[]' WHERE id = '${courier.id}'`);
    expect(await authenticated(credential)).toBeUndefined();
    await t.exec(`UPDATE couriers SET routes = '["310106"]' WHERE id = '${courier.id}'`);
    expect(await authenticated(credential)).toBe(courier.id);

    // The service suspends and reinstates as before; a suspension lifted in the database opens nothing,
    // and cannot be made good by a reinstatement either.
    expect(await t.stores.couriers.suspend(courier.id, AT, 'too many distinct waybills')).toBe(true);
    expect((await t.stores.couriers.authenticate(credential, AT))?.suspendedAt).toBe(AT.toISOString());
    expect(await t.stores.couriers.reinstate(courier.id)).toBe(true);
    expect(await authenticated(credential)).toBe(courier.id);
    await t.stores.couriers.suspend(courier.id, AT, 'too many distinct waybills');
    await t.exec(`UPDATE couriers SET suspended_at = NULL, suspend_reason = NULL WHERE id = '${courier.id}'`);
    expect(await authenticated(credential)).toBeUndefined();
    expect(await authenticated(paired.credential)).toBeUndefined();
    await expect(t.stores.couriers.reinstate(courier.id)).rejects.toMatchObject({ code: 'conflict' });

    const second = await t.stores.couriers.add({ carrier: 'ZT', name: 'courier two', outlet: 'HZ-01', routes: [], device: 'HH-2' }, AT);
    await t.stores.couriers.revoke(second.courier.id, AT);
    await t.exec(`UPDATE couriers SET revoked_at = NULL WHERE id = '${second.courier.id}'`);
    expect(await authenticated(second.credential)).toBeUndefined();

    // A device moved to another courier opens nothing either.
    const third = await t.stores.couriers.add({ carrier: 'ZT', name: 'courier three', outlet: 'HZ-02', routes: [], device: 'HH-3' }, AT);
    const thirdDevice = (await t.stores.couriers.redeem((await t.stores.couriers.pair(third.courier.id, AT)).code, 'phone three', AT))!;
    expect(await authenticated(thirdDevice.credential)).toBe(third.courier.id);
    const fourth = await t.stores.couriers.add({ carrier: 'ZT', name: 'courier four', outlet: 'HZ-02', routes: [], device: 'HH-4' }, AT);
    await t.exec(`UPDATE courier_devices SET courier_id = '${fourth.courier.id}' WHERE id = '${thirdDevice.device.id}'`);
    expect(await authenticated(thirdDevice.credential)).toBeUndefined();

    // The walk finds the same rows, kind by kind; the first courier's device is as the service left it
    // (it is refused through its courier).
    const rows = await t.stores.couriers.checkRows();
    expect(found(rows.couriers)).toEqual({ checked: 4, rewritten: [courier.id, second.courier.id].sort(), more: 0 });
    expect(found(rows.devices)).toEqual({ checked: 2, rewritten: [thirdDevice.device.id], more: 0 });
    expect((await tamperRecords(t.stores)).alerts).toEqual(
      [`courier ${courier.id}`, `courier ${second.courier.id}`, `device ${thirdDevice.device.id}`].map((who) => `${who}: its row was changed outside the service; the credential is refused`).sort(),
    );
    await t.close();
  });

  it('refuses a telephony client whose suspension was lifted in the database', async () => {
    const t = await backend.open();
    const { client, credential } = await t.stores.telephony.add('pbx-1', AT);
    const suspend = () => t.stores.telephony.countAnswer(client.id, AT, undefined, LIMITS);
    expect(await suspend()).toMatchObject({ suspended: true });
    expect((await t.stores.telephony.authenticate(credential))?.suspendedAt).toBe(AT.toISOString());
    expect(await t.stores.telephony.reinstate(client.id)).toBe(true);
    expect(await t.stores.telephony.authenticate(credential)).toEqual(client);

    await suspend();
    expect(found(await t.stores.telephony.checkRows())).toEqual({ checked: 1, rewritten: [], more: 0 }); // suspended by the service
    await t.exec(`UPDATE telephony_clients SET suspended_at = NULL, suspend_reason = NULL WHERE id = '${client.id}'`);
    expect(found(await t.stores.telephony.checkRows())).toEqual({ checked: 1, rewritten: [client.id], more: 0 });
    expect(await t.stores.telephony.authenticate(credential)).toBeUndefined();
    await expect(t.stores.telephony.reinstate(client.id)).rejects.toMatchObject({ code: 'conflict' });
    expect((await tamperRecords(t.stores)).alerts).toEqual([`telephony client ${client.id}: its row was changed outside the service; the credential is refused`]);
    await t.close();
  });
});
