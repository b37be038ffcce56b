import { raceProcesses } from '../support/raceProcesses';
import { STORE_BACKENDS, TEST_TOKEN_KEY, type TestDatabase } from '../support/storeBackends';
import { lifeBinding } from '../../src/waybills/lifeBinding';
import { UniqueViolation } from '../../src/errors';
import { formatRelay, parseRelayPool, randomExtension, type RelayNumber } from '../../src/relay/relayPool';
import { CALL_RECEIPTS_KEPT_DAYS, RelayStore, type NewRelayBinding, type RelayRepository } from '../../src/relay/relayStore';

const DAY = 86_400_000;
const T0 = new Date('2026-11-23T10:00:00.000Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const isoAt = (days: number) => at(days).toISOString();

const sealed = (n: number) => ({ keyId: 'k1', wrappedKey: Buffer.from([1, n]), ciphertext: Buffer.from([2, n]) });
const request = (id: string, waybillId = 'w1', over: Partial<NewRelayBinding> = {}): NewRelayBinding => ({
  id,
  waybillId,
  party: 'recipient',
  callerPolicy: 'couriers',
  partyPhoneHashes: ['hash-a', 'hash-b'],
  sealed: sealed(1),
  validFrom: isoAt(0),
  expiresAt: isoAt(15),
  quarantineDays: 30,
  ...over,
});
const pool = (text: string): RelayNumber[] => parseRelayPool(text);

/**
 * The waybills the bindings here serve, live (as the service writes them, state bound) long after these
 * tests' times: a call goes through only while its waybill's life allows it (relayRepository.ts).
 */
async function liveWaybills(t: TestDatabase, ids: string[]): Promise<void> {
  const purgeAfter = '2099-01-01T00:00:00.000Z';
  for (const id of ids) {
    const life = lifeBinding(TEST_TOKEN_KEY, id, { status: 'printed', custodian: null, assignedOutlet: null, purgeAfter, afterSales: false });
    await t.query(
      `INSERT INTO waybills (id, waybill_no, carrier, order_id, created_at, token_hash, status, purge_after, key_id, wrapped_key, sealed, life_binding)
       VALUES (?, ?, 'ZT', ?, ?, ?, 'printed', ?, 'k1', ?, ?, ?) RETURNING id`,
      id, `ZT-${id}`, `SO-${id}`, isoAt(0), `token-${id}`, purgeAfter, Buffer.from([1]), Buffer.from([2]), life,
    );
  }
}

describe('relay pool', () => {
  it('parses numbers with the default or an explicit extension length, region from the number', () => {
    expect(parseRelayPool('+8617000001234, +8617000001235/3,+14155550100/1')).toEqual([
      { e164: '+8617000001234', region: 'CN', extLength: 4 },
      { e164: '+8617000001235', region: 'CN', extLength: 3 },
      { e164: '+14155550100', region: 'US', extLength: 1 },
    ]);
    expect(parseRelayPool('+86 170 0000 1234/2')).toEqual([{ e164: '+8617000001234', region: 'CN', extLength: 2 }]);
    expect(parseRelayPool('  ')).toEqual([]);
  });

  it.each([
    ['+8617000001234,+86123', /entry 2: is not a valid phone number/],
    ['+8617000001234/5', /entry 1: .*extension length .* 1 to 4/],
    ['+8617000001234/0', /entry 1: .*extension length/],
    ['+8617000001234/x', /entry 1: .*extension length/],
    ['+8617000001234/', /entry 1: .*extension length/],
    ['+8617000001234/2/3', /entry 1: .*more than one "\/"/],
    ['8617000001234', /entry 1: .*starting with "\+"/],
    ['+8617000001234,,+8617000001235', /entry 2: .*is empty/],
    ['+8617000001234,+8617000001235,+86 170 0000 1234/2', /entry 3: .*duplicates entry 1/],
    ['+80012345678', /entry 1: .*single region/],
  ])('refuses %p, naming the entry', (text, message) => {
    expect(() => parseRelayPool(text)).toThrow(message);
  });

  it('formats Chinese mobile numbers 3-4-4, other Chinese numbers nationally, others internationally', () => {
    expect(formatRelay('+8617000001234', '5678', 'zh')).toBe('170 0000 1234 转 5678');
    expect(formatRelay('+8617000001234', '0042', 'en')).toBe('170 0000 1234 ext. 0042');
    expect(formatRelay('+861012345678', '12', 'zh')).toBe('010 1234 5678 转 12');
    expect(formatRelay('+8675512345678', '7', 'zh')).toBe('0755 1234 5678 转 7');
    expect(formatRelay('+14155550100', '5678', 'en')).toBe('+1 415 555 0100 ext. 5678');
    expect(formatRelay('+14155550100', '5678', 'zh')).toBe('+1 415 555 0100 转 5678');
    expect(() => formatRelay('+14155550100', '12345', 'en')).toThrow(/1 to 4 digits/);
    expect(() => formatRelay('+86123', '1', 'en')).toThrow(/not a valid/);
  });

  it('draws extensions at random, keeping leading zeros', () => {
    const asked: number[] = [];
    expect(randomExtension(4, (max) => (asked.push(max), 42))).toBe('0042');
    expect(randomExtension(1, () => 7)).toBe('7');
    expect(asked).toEqual([10_000]);
    expect(() => randomExtension(5)).toThrow(/1 to 4 digits/);
    expect(() => randomExtension(2, () => 100)).toThrow(/outside 0\.\.99/);
    const draws = Array.from({ length: 500 }, () => randomExtension(4));
    expect(draws.every((d) => /^\d{4}$/.test(d))).toBe(true);
    expect(new Set(draws).size).toBeGreaterThan(450);
    const steps = draws.slice(1).filter((d, i) => Number(d) === Number(draws[i]) + 1).length;
    expect(steps).toBeLessThan(5);
  });
});

describe.each(STORE_BACKENDS)('%s relay store', (_name, backend) => {
  it('allocates random extensions, not sequential ones, and keeps every field', async () => {
    const t = await backend.open();
    await liveWaybills(t, ['w0']);
    const store = t.stores.relay;
    const bindings = [];
    for (let i = 0; i < 30; i++) bindings.push((await store.allocate(request(`b${i}`, `w${i}`), pool('+8617000001234'), T0))!);
    const exts = bindings.map((b) => b.ext);
    expect(new Set(exts).size).toBe(30);
    expect(exts.slice(1).filter((e, i) => Number(e) === Number(exts[i]) + 1).length).toBeLessThan(3);
    expect(exts.slice().sort()).not.toEqual(exts);

    const first = bindings[0]!;
    expect(first).toEqual({
      id: 'b0',
      number: '+8617000001234',
      ext: first.ext,
      waybillId: 'w0',
      party: 'recipient',
      callerPolicy: 'couriers',
      partyPhoneHashes: ['hash-a', 'hash-b'],
      sealed: sealed(1),
      validFrom: isoAt(0),
      expiresAt: isoAt(15),
      quarantineUntil: isoAt(45),
    });
    expect(await store.forWaybill('w0')).toEqual([first]);
    expect(await store.lookup('+8617000001234', first.ext, at(1))).toEqual({ binding: first, state: 'live' });
    await t.close();
  });

  it('hands out 200 distinct slots to 4 racing processes on a 200-slot pool, then reports it exhausted', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const relayPool = '+8617000001234/2,+8617000001235/2';
    const processes = 4;
    const each = 50;
    const results = (await raceProcesses({
      processes,
      env: (n) => ({ STORE_LOCATION: JSON.stringify(t.location), RELAY_TAG: `p${n}` }),
      setup: `
        const { openStores } = src('store/openStores.ts');
        const { parseRelayPool } = src('relay/relayPool.ts');
        const stores = await openStores(JSON.parse(process.env.STORE_LOCATION));
        const store = stores.relay;
        const pool = parseRelayPool(${JSON.stringify(relayPool)});
        const now = new Date(${JSON.stringify(T0.toISOString())});`,
      race: `
        const got = [];
        for (let i = 0; i < ${each}; i++) {
          const b = await store.allocate({
            id: process.env.RELAY_TAG + '-' + i, waybillId: process.env.RELAY_TAG + '-w' + i, party: 'recipient',
            callerPolicy: 'anyone', partyPhoneHashes: [], sealed: { keyId: 'k1', wrappedKey: Buffer.from([1]), ciphertext: Buffer.from([2]) },
            validFrom: now.toISOString(), expiresAt: ${JSON.stringify(isoAt(15))}, quarantineDays: 30 }, pool, now);
          got.push(b ? { at: Date.now(), number: b.number, ext: b.ext } : null);
          await new Promise((r) => setTimeout(r, 1)); // let the others in between, as a busy server would
        }
        await stores.close();
        return got;`,
    })) as ({ at: number; number: string; ext: string } | null)[][];
    for (const got of results) expect(got.filter((g) => g === null)).toEqual([]);
    const slots = results.flat().map((g) => `${g!.number}/${g!.ext}`);
    expect(slots).toHaveLength(200);
    expect(new Set(slots).size).toBe(200);
    // They really raced: every process allocated before any of them had finished.
    const spans = results.map((got) => got.map((g) => g!.at));
    expect(Math.max(...spans.map((s) => s[0]!))).toBeLessThan(Math.min(...spans.map((s) => s.at(-1)!)));

    expect(await t.query("SELECT count(*) AS n, count(DISTINCT number || '/' || ext) AS d FROM relay_bindings")).toEqual([{ n: 200, d: 200 }]);
    expect(await store.allocate(request('one-more'), pool(relayPool), T0)).toBeUndefined();
    expect(await store.utilisation(pool(relayPool), T0)).toEqual([
      { number: '+8617000001234', capacity: 100, live: 100, quarantined: 0 },
      { number: '+8617000001235', capacity: 100, live: 100, quarantined: 0 },
    ]);
    await t.close();
  });

  it('finds the last free slot of a nearly full pool', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const tiny = pool('+8617000001234/1,+8617000001235/1');
    // A random source stuck on 0 keeps drawing the taken extension "0": only the scan can find the rest.
    const stuck = () => 0;
    const exts = [];
    for (let i = 0; i < 20; i++) exts.push((await store.allocate(request(`b${i}`, `w${i}`), tiny, T0, stuck))!);
    expect(new Set(exts.map((b) => `${b.number}/${b.ext}`)).size).toBe(20);
    expect(await store.allocate(request('b20', 'w20'), tiny, T0, stuck)).toBeUndefined();
    await t.close();
  });

  it("binds a waybill's parties together, each on a slot of its own, even when their first tries meet", async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const parties = [request('r', 'w1'), request('s', 'w1', { party: 'sender', sealed: sealed(2) })];
    const [recipient, sender] = await store.allocateEach(parties, pool('+8617000001234,+8617000001235'), T0);
    expect([recipient!.id, recipient!.party, sender!.id, sender!.party]).toEqual(['r', 'recipient', 's', 'sender']);
    expect((await store.forWaybill('w1')).map((b) => [b.id, b.number, b.ext])).toEqual([
      ['r', recipient!.number, recipient!.ext],
      ['s', sender!.number, sender!.ext],
    ]);
    // A random source stuck on 0 gives both first tries the same slot: the first takes it, the second finds another.
    const tiny = pool('+8617000001236/1');
    const met = await store.allocateEach([request('a', 'w2'), request('b', 'w2', { party: 'sender' })], tiny, T0, undefined, () => 0);
    expect(met.map((b) => `${b!.id}:${b!.ext}`)).toEqual(['a:0', 'b:1']);
    // Nothing left for either: both say so, nothing is kept.
    const full = pool('+8617000001237/1');
    for (let i = 0; i < 10; i++) await store.allocate(request(`f${i}`, `wf${i}`), full, T0);
    expect(await store.allocateEach([request('x', 'w3'), request('y', 'w3', { party: 'sender' })], full, T0)).toEqual([undefined, undefined]);
    expect(await store.forWaybill('w3')).toEqual([]);
    // The second party's search fails after the first party was bound: the first binding goes too.
    const repo = (store as unknown as { repo: RelayRepository }).repo;
    const failing = new RelayStore(Object.assign(Object.create(repo) as RelayRepository, { countHeld: () => Promise.reject(new Error('database gone')) }));
    await expect(failing.allocateEach([request('c', 'w4'), request('d', 'w4', { party: 'sender' })], pool('+8617000001238/1'), T0, undefined, () => 0)).rejects.toThrow('database gone');
    expect(await store.forWaybill('w4')).toEqual([]);
    await t.close();
  });

  it('serves earlier requests first when the pool runs out, whatever their first tries hit', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const ten = pool('+8617000001239/1');
    for (let ext = 2; ext < 10; ext++) await store.allocate(request(`held${ext}`, `wh${ext}`), ten, T0, (max) => (max === 10 ? ext : 0));
    // Two slots free (0 and 1), three requests: the first two try a held extension, the third wins slot 0.
    const tries = [5, 5, 0];
    const random = (max: number) => (max === 10 ? (tries.shift() ?? 5) : 0);
    const got = await store.allocateEach([request('a', 'w1'), request('b', 'w2'), request('c', 'w3')], ten, T0, undefined, random);
    expect(got.map((b) => b?.id)).toEqual(['a', 'b', undefined]);
    expect(await store.forWaybill('w3')).toEqual([]);
    await t.close();
  });

  it('keeps ended slots in quarantine, then reuses them', async () => {
    const t = await backend.open();
    await liveWaybills(t, [...Array.from({ length: 10 }, (_, i) => `w${i}`), 'wx', 'wy', 'wz']);
    const store = t.stores.relay;
    const ten = pool('+8617000001234/1');
    const made = [];
    for (let i = 0; i < 10; i++) made.push((await store.allocate(request(`b${i}`, `w${i}`), ten, T0))!);
    expect(await store.allocate(request('x1', 'wx'), ten, T0)).toBeUndefined();

    // Delivered on day 1: quarantine runs to day 31; the others stay held until day 15 + 30.
    await store.end('w3', isoAt(1), 30);
    await store.end('w7', isoAt(1), 30);
    const freed = [made[3]!.ext, made[7]!.ext].sort();
    const later = { validFrom: isoAt(30), expiresAt: isoAt(60) };
    expect(await store.allocate(request('x1', 'wx', later), ten, new Date(at(31).getTime() - 1))).toBeUndefined();

    const reused = [(await store.allocate(request('x1', 'wx', later), ten, at(31)))!, (await store.allocate(request('x2', 'wy', later), ten, at(31)))!];
    expect(reused.map((b) => b.ext).sort()).toEqual(freed);
    expect(await store.allocate(request('x3', 'wz', later), ten, at(31))).toBeUndefined();
    // The label printed for w3 now reaches the new binding, never the old buyer.
    const now = await store.lookup('+8617000001234', made[3]!.ext, at(32));
    expect(now?.state).toBe('live');
    expect(['x1', 'x2']).toContain(now?.binding.id);
    expect((await store.forWaybill('w3'))[0]).toMatchObject({ id: 'b3', endedAt: isoAt(1) });
    await t.close();
  });

  it('takes over an expired slot after its quarantine and shreds what the old binding still held', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const ten = pool('+8617000001234/1');
    for (let i = 0; i < 10; i++) await store.allocate(request(`b${i}`, `w${i}`), ten, T0);
    // Nobody ran expireDue: the old bindings still hold their sealed numbers when the hold ends (day 45).
    const next = (await store.allocate(request('n1', 'wn', { validFrom: isoAt(45), expiresAt: isoAt(60) }), ten, at(45)))!;
    expect(next).toBeDefined();
    const old = (await t.query("SELECT id, sealed FROM relay_bindings WHERE ext = ? AND id <> 'n1'", next.ext))[0] as { id: string; sealed: Buffer | null };
    expect(old.sealed).toBeNull();
    expect((await store.forWaybill(`w${old.id.slice(1)}`))[0]!.sealed).toBeUndefined();
    expect((await store.lookup(next.number, next.ext, at(46)))?.binding.id).toBe('n1');
    await t.close();
  });

  it('looks up live, quarantined, and gone slots', async () => {
    const t = await backend.open();
    await liveWaybills(t, ['wa', 'wb']);
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    const a = (await store.allocate(request('a', 'wa'), one, T0))!;
    const b = (await store.allocate(request('b', 'wb'), one, T0))!;
    expect((await store.lookup(a.number, a.ext, at(1)))?.state).toBe('live');
    // A call follows its waybill's life as the service wrote it: none once that state was rewritten in
    // the database (here its purge moved later), none without the waybill's row.
    await t.exec("UPDATE waybills SET purge_after = '2099-06-01T00:00:00.000Z' WHERE id = 'wb'");
    expect((await store.lookup(b.number, b.ext, at(1)))?.state).toBe('quarantined');
    await t.exec("DELETE FROM waybills WHERE id = 'wb'");
    expect((await store.lookup(b.number, b.ext, at(1)))?.state).toBe('quarantined');
    await store.end('wa', isoAt(2), 10);
    expect(await store.lookup(a.number, a.ext, at(3))).toEqual({
      binding: { ...a, expiresAt: isoAt(2), endedAt: isoAt(2), quarantineUntil: isoAt(12), sealed: undefined },
      state: 'quarantined',
    });
    expect(await store.lookup(a.number, a.ext, at(12))).toBeUndefined();
    // Expired without an explicit end: quarantined from expiry (day 15) for 30 days.
    expect((await store.lookup(b.number, b.ext, at(15)))?.state).toBe('quarantined');
    expect((await store.lookup(b.number, b.ext, new Date(at(45).getTime() - 1)))?.state).toBe('quarantined');
    expect(await store.lookup(b.number, b.ext, at(45))).toBeUndefined();
    const unused = a.ext === '0000' || b.ext === '0000' ? '0001' : '0000';
    expect(await store.lookup(a.number, unused, at(1))).toBeUndefined();
    expect(await store.lookup('+8617000009999', a.ext, at(1))).toBeUndefined();
    await t.close();
  });

  it('extends live bindings and their hold, never shortens, never revives', async () => {
    const t = await backend.open();
    await liveWaybills(t, ['wa']);
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    const a = (await store.allocate(request('a', 'wa'), one, T0))!;
    const slotHold = async (id: string) => ((await t.query('SELECT held_until FROM relay_slots WHERE binding_id = ?', id))[0] as { held_until: string }).held_until;

    await store.extend('wa', isoAt(18), 30, at(14));
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(18), quarantineUntil: isoAt(48) });
    expect(await slotHold('a')).toBe(isoAt(48));
    expect((await store.lookup(a.number, a.ext, at(17)))?.state).toBe('live');

    await store.extend('wa', isoAt(16), 30, at(14)); // earlier: no change
    await store.extend('wa', isoAt(18), 5, at(14)); // shorter quarantine: no change
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(18), quarantineUntil: isoAt(48) });
    expect(await slotHold('a')).toBe(isoAt(48));

    await store.extend('wa', isoAt(40), 30, at(19)); // already expired: stays expired
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(18) });

    const b = (await store.allocate(request('b', 'wb'), one, T0))!;
    await store.end('wb', isoAt(1), 30);
    await store.extend('wb', isoAt(40), 30, at(2)); // ended: stays ended
    expect((await store.forWaybill('wb'))[0]).toMatchObject({ expiresAt: isoAt(1), quarantineUntil: isoAt(31), endedAt: isoAt(1) });
    expect(await slotHold(b.id)).toBe(isoAt(31));
    await t.close();
  });

  it('setExpiry moves live bindings earlier or later, quarantined from no earlier than now', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    const a = (await store.allocate(request('a', 'wa'), one, T0))!;
    await store.setExpiry('wa', isoAt(5), 30, at(2)); // delivered: after-sales window shorter than the 15 days
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(5), quarantineUntil: isoAt(35) });
    await store.setExpiry('wa', isoAt(8), 30, at(3));
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(8), quarantineUntil: isoAt(38) });
    await store.setExpiry('wa', isoAt(1), 30, at(4)); // already past: stops now, quarantined from now
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(1), quarantineUntil: isoAt(34) });
    expect((await store.lookup(a.number, a.ext, at(4)))?.state).toBe('quarantined');
    expect((await store.lookup(a.number, a.ext, new Date(at(34).getTime() - 1)))?.state).toBe('quarantined');
    await store.setExpiry('wa', isoAt(20), 30, at(5)); // no longer live: not revived
    expect((await store.forWaybill('wa'))[0]).toMatchObject({ expiresAt: isoAt(1) });
    await t.close();
  });

  it('ending a binding shreds the sealed real number', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    await store.allocate(request('r', 'w1'), one, T0);
    await store.allocate(request('s', 'w1', { party: 'sender', sealed: sealed(2) }), one, T0);
    await store.allocate(request('other', 'w2'), one, T0);
    await store.end('w1', isoAt(3), 30);
    const rows = await t.query('SELECT id, key_id, wrapped_key, sealed, ended_at, expires_at FROM relay_bindings ORDER BY id');
    expect(rows).toEqual([
      { id: 'other', key_id: 'k1', wrapped_key: sealed(1).wrappedKey, sealed: sealed(1).ciphertext, ended_at: null, expires_at: isoAt(15) },
      { id: 'r', key_id: null, wrapped_key: null, sealed: null, ended_at: isoAt(3), expires_at: isoAt(3) },
      { id: 's', key_id: null, wrapped_key: null, sealed: null, ended_at: isoAt(3), expires_at: isoAt(3) },
    ]);
    await store.end('w1', isoAt(5), 30); // again: the first end stands
    expect((await store.forWaybill('w1')).map((b) => b.endedAt)).toEqual([isoAt(3), isoAt(3)]);
    await t.close();
  });

  it('expireDue shreds every expired binding, a chunk at a time', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    for (let i = 0; i < 5; i++) await store.allocate(request(`e${i}`, `we${i}`, { expiresAt: isoAt(2) }), one, T0);
    await store.allocate(request('live', 'wl', { expiresAt: isoAt(9) }), one, T0);
    expect(await store.expireDue(at(3), 2)).toBe(5);
    for (let i = 0; i < 5; i++) expect((await store.forWaybill(`we${i}`))[0]!.sealed).toBeUndefined();
    expect((await store.forWaybill('wl'))[0]!.sealed).toEqual(sealed(1));
    await t.close();
  });

  it('expireDue shreds the real number of expired bindings only', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    await store.allocate(request('a', 'wa', { expiresAt: isoAt(2) }), one, T0);
    await store.allocate(request('b', 'wb', { expiresAt: isoAt(3) }), one, T0);
    await store.allocate(request('c', 'wc', { expiresAt: isoAt(9) }), one, T0);
    expect(await store.expireDue(at(1))).toBe(0);
    expect(await store.expireDue(at(3))).toBe(2);
    expect(await store.expireDue(at(3))).toBe(0);
    expect((await store.forWaybill('wa'))[0]!.sealed).toBeUndefined();
    expect((await store.forWaybill('wb'))[0]!.sealed).toBeUndefined();
    expect((await store.forWaybill('wc'))[0]!.sealed).toEqual(sealed(1));
    expect((await store.forWaybill('wa'))[0]!.endedAt).toBeUndefined();
    await t.close();
  });

  it('release removes the bindings and frees their slots at once', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const ten = pool('+8617000001234/1');
    for (let i = 0; i < 10; i++) await store.allocate(request(`b${i}`, `w${i}`), ten, T0);
    const gone = (await store.forWaybill('w4'))[0]!;
    await store.release(['b4', 'b5', 'unknown']);
    await store.release([]);
    expect(await store.forWaybill('w4')).toEqual([]);
    expect(await store.lookup(gone.number, gone.ext, T0)).toBeUndefined();
    expect(await store.utilisation(ten, T0)).toEqual([{ number: '+8617000001234', capacity: 10, live: 8, quarantined: 0 }]);
    expect(await store.allocate(request('n1', 'wn'), ten, T0)).toBeDefined();
    expect(await store.allocate(request('n2', 'wn'), ten, T0)).toBeDefined();
    expect(await store.allocate(request('n3', 'wn'), ten, T0)).toBeUndefined();
    await t.close();
  });

  it('counts capacity, live and quarantined slots per number', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const two = pool('+8617000001234/2,+14155550100/1');
    const us = pool('+14155550100/1');
    await store.allocate(request('live', 'w1', { expiresAt: isoAt(20) }), us, T0);
    await store.allocate(request('ended', 'w2', { expiresAt: isoAt(20) }), us, T0);
    await store.allocate(request('expired', 'w3', { expiresAt: isoAt(5) }), us, T0);
    await store.allocate(request('free-again', 'w4', { expiresAt: isoAt(1), quarantineDays: 2 }), us, T0);
    await store.end('w2', isoAt(6), 30);
    expect(await store.utilisation(two, at(10))).toEqual([
      { number: '+8617000001234', capacity: 100, live: 0, quarantined: 0 },
      { number: '+14155550100', capacity: 10, live: 1, quarantined: 2 },
    ]);
    await t.close();
  });

  it('records call receipts once: duplicate for the same content, conflict for different content', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const receipt = { callId: 'call-1', bindingId: 'b1', startedAt: '2026-11-24T09:00:00.000Z', answeredAt: '2026-11-24T09:00:05.000Z', endedAt: '2026-11-24T09:01:00.000Z', releaseCause: 'callee_hangup' };
    expect(await store.recordCall(receipt, '2026-11-24T09:01:01.000Z')).toBe('recorded');
    // A retried delivery: later, keys in another order, the same times written without milliseconds.
    const { releaseCause, ...rest } = receipt;
    expect(await store.recordCall({ releaseCause, ...rest, startedAt: '2026-11-24T09:00:00Z' }, '2026-11-24T09:05:00.000Z')).toBe('duplicate');
    expect(await store.recordCall({ ...receipt, endedAt: '2026-11-24T09:02:00.000Z' }, '2026-11-24T09:06:00.000Z')).toBe('conflict');
    expect(await store.recordCall({ callId: 'call-2' }, '2026-11-24T09:07:00.000Z')).toBe('recorded');
    expect(await t.query('SELECT call_id, binding_id, ended_at, release_cause, received_at FROM relay_calls ORDER BY call_id')).toEqual([
      { call_id: 'call-1', binding_id: 'b1', ended_at: '2026-11-24T09:01:00.000Z', release_cause: 'callee_hangup', received_at: '2026-11-24T09:01:01.000Z' },
      { call_id: 'call-2', binding_id: null, ended_at: null, release_cause: null, received_at: '2026-11-24T09:07:00.000Z' },
    ]);
    await expect(store.recordCall({ callId: '' }, '2026-11-24T09:07:00.000Z')).rejects.toThrow(/call id/);
    await t.close();
  });

  it('keeps a call receipt a week, to know a retry from a new receipt, then forgets it a chunk at a time', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const received: [string, string][] = [['old-1', '2026-11-20T09:00:00.000Z'], ['old-2', '2026-11-20T10:00:00.000Z'], ['old-3', '2026-11-24T08:59:59.000Z'], ['recent', '2026-11-24T09:00:01.000Z']];
    for (const [callId, receivedAt] of received) await store.recordCall({ callId }, receivedAt);
    // CALL_RECEIPTS_KEPT_DAYS after 2026-11-24T09:00Z; in chunks of 2, the last of which finds one.
    expect(await store.forgetOldCalls(new Date(Date.parse('2026-11-24T09:00:00.000Z') + CALL_RECEIPTS_KEPT_DAYS * 86_400_000), 2)).toBe(3);
    expect(await t.query('SELECT call_id FROM relay_calls')).toEqual([{ call_id: 'recent' }]);
    expect(await store.recordCall({ callId: 'recent' }, '2026-12-01T09:00:00.000Z')).toBe('duplicate');
    await t.close();
  });

  it('refuses bad requests and leaks no slot when the binding id is taken', async () => {
    const t = await backend.open();
    const store = t.stores.relay;
    const one = pool('+8617000001234');
    await store.allocate(request('dup', 'w1'), one, T0);
    await expect(store.allocate(request('dup', 'w2'), one, T0)).rejects.toBeInstanceOf(UniqueViolation);
    expect(await t.query('SELECT count(*) AS n FROM relay_slots')).toEqual([{ n: 1 }]);
    // Claimed together, a taken id keeps nothing of the others either.
    await expect(store.allocateEach([request('fresh', 'w2'), request('dup', 'w2', { party: 'sender' })], one, T0)).rejects.toBeInstanceOf(UniqueViolation);
    expect(await t.query('SELECT count(*) AS n FROM relay_slots')).toEqual([{ n: 1 }]);
    // A run's lease stored with the claim goes with it, and the run is not told it is stored.
    const lease = { record: { id: 'run-1', host: 'h', pid: 1, startedAt: isoAt(0), expiresAt: isoAt(1) }, stored: jest.fn() };
    await expect(store.allocateEach([request('dup', 'w2')], one, T0, lease)).rejects.toBeInstanceOf(UniqueViolation);
    expect(lease.stored).not.toHaveBeenCalled();
    expect(await t.query('SELECT count(*) AS n FROM print_leases')).toEqual([{ n: 0 }]);
    expect((await store.allocateEach([request('more', 'w2')], one, T0, lease))[0]).toBeDefined();
    expect(lease.stored).toHaveBeenCalledTimes(1);
    expect(await t.query('SELECT id FROM print_leases')).toEqual([{ id: 'run-1' }]);
    await expect(store.allocate(request('p', 'w3', { callerPolicy: 'parties', partyPhoneHashes: [] }), one, T0)).rejects.toThrow(/phone hashes/);
    await expect(store.allocate(request('e', 'w3', { expiresAt: isoAt(0) }), one, T0)).rejects.toThrow(/expire after/);
    await expect(store.allocate(request('e', 'w3', { validFrom: isoAt(-5), expiresAt: isoAt(-1) }), one, T0)).rejects.toThrow(/future/);
    await expect(store.allocate(request('e', 'w3', { quarantineDays: -1 }), one, T0)).rejects.toThrow(/quarantine/);
    await expect(store.allocate(request('e', 'w3', { validFrom: 'soon' }), one, T0)).rejects.toThrow(/validFrom/);
    expect(await store.allocate(request('e', 'w3'), [], T0)).toBeUndefined();
    await t.close();
  });
});
