import { STORE_BACKENDS } from '../support/storeBackends';

const AT = new Date('2026-11-23T10:00:00.000Z');
const sealed = { keyId: 'k1', wrappedKey: Buffer.from([1, 2]), ciphertext: Buffer.from([3, 4]) };

describe.each(STORE_BACKENDS)('%s API keys, telephony clients and idempotency keys', (_name, backend) => {
  it('authenticates API keys until revoked, on every instance', async () => {
    const t = await backend.open();
    const other = await t.reopen();
    const { key, credential } = await t.stores.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, AT);
    expect(await other.apiKeys.authenticate(credential)).toEqual(key);
    expect(await other.apiKeys.authenticate(credential.slice(0, -1) + (credential.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await other.apiKeys.list()).toEqual([key]);
    expect(await other.apiKeys.revoke(key.id, AT)).toBe(true);
    expect(await other.apiKeys.revoke('nosuchid22', AT)).toBe(false);
    expect(await t.stores.apiKeys.authenticate(credential)).toBeUndefined();
    await t.close();
  });

  it('authenticates telephony clients by their own credential only', async () => {
    const t = await backend.open();
    const { client, credential } = await t.stores.telephony.add('pbx-1', AT);
    expect(await (await t.reopen()).telephony.authenticate(credential)).toEqual(client);
    expect(await t.stores.telephony.authenticate(undefined)).toBeUndefined();
    expect(await t.stores.telephony.authenticate(credential.replace('wbt_', 'wbk_'))).toBeUndefined();
    await expect(t.stores.telephony.add('bad\nname', AT)).rejects.toThrow(/name must be/);
    await t.close();
  });

  it('lets one instance claim an idempotency key; the others wait for its answer or are refused', async () => {
    const t = await backend.open();
    const instances = [t.stores, await t.reopen(), await t.reopen()];
    const stale = new Date(AT.getTime() - 60_000);
    const claims = await Promise.all(instances.map((s) => s.idempotency.claim('acme', 'key-00000001', 'h1', AT, stale)));
    expect(claims.map((c) => c.state).sort()).toEqual(['claimed', 'pending', 'pending']);
    expect(await instances[1]!.idempotency.claim('acme', 'key-00000001', 'h2', AT, stale)).toEqual({ state: 'mismatch' });
    await instances[0]!.idempotency.complete('acme', 'key-00000001', { status: 201, contentType: 'application/json', location: '/v1/waybills/x', sealed }, AT);
    expect(await instances[2]!.idempotency.claim('acme', 'key-00000001', 'h1', AT, stale)).toEqual({
      state: 'done',
      response: { status: 201, contentType: 'application/json', location: '/v1/waybills/x', sealed },
    });
    // A pending claim whose instance died is taken over by exactly one of the others.
    await instances[0]!.idempotency.claim('acme', 'key-00000002', 'h1', AT, stale);
    const later = new Date(AT.getTime() + 120_000);
    const takeovers = await Promise.all(instances.slice(1).map((s) => s.idempotency.claim('acme', 'key-00000002', 'h1', later, new Date(later.getTime() - 60_000))));
    expect(takeovers.map((c) => c.state).sort()).toEqual(['claimed', 'pending']);
    await instances[1]!.idempotency.abandon('acme', 'key-00000002');
    expect((await instances[2]!.idempotency.claim('acme', 'key-00000002', 'h3', later, stale)).state).toBe('claimed');
    expect(await t.stores.idempotency.expire(new Date(AT.getTime() + 1))).toBe(1);
    await t.close();
  });
});
