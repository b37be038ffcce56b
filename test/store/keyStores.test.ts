import { RateBuckets } from '../../src/http/rateLimit';
import { STORE_BACKENDS } from '../support/storeBackends';

const AT = new Date('2026-11-23T10:00:00.000Z');
const sealed = { keyId: 'k1', wrappedKey: Buffer.from([1, 2]), ciphertext: Buffer.from([3, 4]) };

describe.each(STORE_BACKENDS)('%s API keys, telephony clients, idempotency keys and request budgets', (_name, backend) => {
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
    await expect(t.stores.telephony.add('bad\nname', AT)).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: ['name'], message: expect.stringMatching(/^must be 1–40 letters/) }] });
    await t.close();
  });

  it('lets one instance claim an idempotency key; the others wait for its answer or are refused', async () => {
    const t = await backend.open();
    const instances = [t.stores, await t.reopen(), await t.reopen()];
    const stale = new Date(AT.getTime() - 60_000);
    const claims = await Promise.all(instances.map((s) => s.idempotency.claim('acme', 'key-00000001', 'h1', AT, stale)));
    expect(claims.map((c) => c.state).sort()).toEqual(['claimed', 'pending', 'pending']);
    await instances[0]!.idempotency.complete({ client: 'acme', key: 'key-00000001', at: AT.toISOString(), response: { status: 201, contentType: 'application/pdf', location: '/v1/waybills/x', warnings: ['courier copy: parcel.contents has 1 character(s) the font cannot draw'], sealed } });
    expect(await instances[2]!.idempotency.claim('acme', 'key-00000001', 'h1', AT, stale)).toEqual({
      state: 'done',
      response: { status: 201, contentType: 'application/pdf', location: '/v1/waybills/x', warnings: ['courier copy: parcel.contents has 1 character(s) the font cannot draw'], sealed },
    });
    // Another request with the key is refused, and from then on the key replays nothing.
    expect(await instances[1]!.idempotency.claim('acme', 'key-00000001', 'h2', AT, stale)).toEqual({ state: 'mismatch' });
    expect(await instances[2]!.idempotency.claim('acme', 'key-00000001', 'h1', AT, stale)).toEqual({ state: 'mismatch' });
    // A pending claim whose instance died is taken over by exactly one of the others.
    await instances[0]!.idempotency.claim('acme', 'key-00000002', 'h1', AT, stale);
    const later = new Date(AT.getTime() + 120_000);
    const takeovers = await Promise.all(instances.slice(1).map((s) => s.idempotency.claim('acme', 'key-00000002', 'h1', later, new Date(later.getTime() - 60_000))));
    expect(takeovers.map((c) => c.state).sort()).toEqual(['claimed', 'pending']);
    await instances[1]!.idempotency.abandon('acme', 'key-00000002');
    expect((await instances[2]!.idempotency.claim('acme', 'key-00000002', 'h3', later, stale)).state).toBe('claimed');
    expect(await t.stores.idempotency.expire(new Date(AT.getTime() + 1))).toBe(1);
    // Any number are forgotten, a chunk at a time; keys made after the cut stay.
    for (let i = 0; i < 5; i++) await t.stores.idempotency.claim('acme', `old-key-${i}`, 'h', AT, stale);
    await t.stores.idempotency.claim('acme', 'new-key-0', 'h', later, stale);
    expect(await t.stores.idempotency.expire(new Date(AT.getTime() + 1), 2)).toBe(5);
    expect((await t.stores.idempotency.claim('acme', 'new-key-0', 'h2', later, stale)).state).toBe('mismatch');
    await t.close();
  });

  it('shares each credential’s request budget between instances: a burst of at most the rate, then a wait, refilled with time', async () => {
    const t = await backend.open();
    const instances = [t.stores, await t.reopen(), await t.reopen()];
    const started = performance.now();
    const waits = await Promise.all(Array.from({ length: 9 }, (_, i) => instances[i % 3]!.rateBuckets.take('warehouse:k1', 3)));
    const elapsed = (performance.now() - started) / 1000;
    const taken = waits.filter((w) => w === 0).length;
    // Three tokens to start with, and one more for each third of a second the burst took (none, unless the machine stalls).
    expect(taken).toBeGreaterThanOrEqual(3);
    expect(taken).toBeLessThanOrEqual(3 + Math.floor(elapsed * 3));
    for (const w of waits.filter((w) => w > 0)) expect(w).toBeLessThanOrEqual(1 / 3);
    expect(await instances[1]!.rateBuckets.take('warehouse:k2', 3)).toBe(0); // another credential, its own budget
    await new Promise((r) => setTimeout(r, 400));
    expect(await instances[2]!.rateBuckets.take('warehouse:k1', 3)).toBe(0);
    await t.close();
  });

  it('lets a process that a credential keeps busy draw a few tokens at a time, never beyond the shared bucket', async () => {
    const t = await backend.open();
    let draws = 0;
    let clock = 0; // this test's processes' clock: frozen, so nothing drawn ahead is dropped unless the test moves it
    const processes = [t.stores, await t.reopen()].map(
      (s) => new RateBuckets({ draw: (...a) => (draws++, s.rateBuckets.repo.draw(...a)), deleteIdle: (...a) => s.rateBuckets.repo.deleteIdle(...a) }, () => clock),
    );
    // Two processes take turns at 30 requests each from a budget of 80 a second: each draws 1, 2, 4, then 8 at a time.
    for (let i = 0; i < 60; i++) expect(await processes[i % 2]!.take('warehouse:busy', 80)).toBe(0);
    expect(draws).toBe(12);

    // A bucket of 20 that both keep drawing from: no more requests pass than the bucket held and refilled.
    const started = performance.now();
    const waits: number[] = [];
    for (let i = 0; i < 60; i++) waits.push(await processes[i % 2]!.take('warehouse:small', 80, 20));
    const taken = waits.filter((w) => w === 0).length;
    expect(taken).toBeLessThanOrEqual(20 + Math.floor(((performance.now() - started) / 1000) * 80));
    expect(waits.filter((w) => w > 0).length).toBeGreaterThan(0);

    // Tokens drawn ahead and not spent within 100 ms are dropped: the next request draws again.
    draws = 0;
    clock += 100;
    expect(await processes[0]!.take('warehouse:busy', 80)).toBe(0);
    expect(draws).toBe(1);
    // A small budget (under 20 a second) is drawn one token at a time, however busy.
    draws = 0;
    for (let i = 0; i < 3; i++) await processes[0]!.take('warehouse:slow', 15);
    expect(draws).toBe(3);
    await t.close();
  });

  it('forgets buckets idle for longer than they take to refill, which changes no budget', async () => {
    const t = await backend.open();
    // Two addresses that emptied their buckets two hours ago, and one emptied just now.
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    await t.exec(`INSERT INTO api_rate_buckets (bucket, tokens, at_ms, allowed) VALUES ('authfail:a1', 0, ${twoHoursAgo}, 0), ('authfail:a2', 0, ${twoHoursAgo}, 0)`);
    for (let i = 0; i < 2; i++) await t.stores.rateBuckets.take('authfail:a3', 1 / 60, 2);
    expect(await t.stores.rateBuckets.take('authfail:a3', 1 / 60, 2)).toBeGreaterThan(0);
    expect(await t.stores.rateBuckets.forgetFull(3600)).toBe(2);
    expect((await t.query('SELECT bucket FROM api_rate_buckets ORDER BY bucket')).map((r) => r.bucket)).toEqual(['authfail:a3']);
    // A forgotten bucket draws as the full one it was; the one in use is still empty.
    expect(await t.stores.rateBuckets.take('authfail:a1', 1 / 60, 2)).toBe(0);
    expect(await t.stores.rateBuckets.take('authfail:a3', 1 / 60, 2)).toBeGreaterThan(0);
    await t.close();
  });
});
