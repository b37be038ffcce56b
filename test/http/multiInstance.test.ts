// Two real service instances (separate processes) on one PostgreSQL database, hammered at once: what
// one instance does, the other must see, with the database, not process memory, keeping them honest.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStores, type Stores } from '../../src/store/openStores';
import { startServiceProcess, type ServiceProcess } from '../support/serviceProcess';
import { pgTestDatabaseUrl } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(180_000);


/** Two `waybill serve` processes on one fresh database, sharing the keys as they share it. */
async function startTwoInstances(extraEnv: Record<string, string>): Promise<{ url: string; tokenKey: Buffer; instances: ServiceProcess[]; dirs: string[] }> {
  const url = await pgTestDatabaseUrl();
  const env = {
    DATABASE_URL: url,
    WAYBILL_MASTER_KEY: randomBytes(32).toString('base64'),
    WAYBILL_TOKEN_KEY: randomBytes(32).toString('base64'),
    WAYBILL_LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  const dirs = [0, 1].map((n) => fs.mkdtempSync(path.join(os.tmpdir(), `waybill-instance-${n}-`)));
  const instances = await Promise.all(dirs.map((dir) => startServiceProcess({ ...env, WAYBILL_DATA_DIR: dir })));
  return { url, tokenKey: Buffer.from(env.WAYBILL_TOKEN_KEY, 'base64'), instances, dirs };
}

async function stopAll(instances: ServiceProcess[], dirs: string[]): Promise<(number | null)[]> {
  const codes = await Promise.all(instances.map((i) => i.stop()));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  return codes;
}

describe('two service instances on one PostgreSQL', () => {
  let instances: ServiceProcess[] = [];
  let stores: Stores;
  let key: string;
  let dirs: string[] = [];

  beforeAll(async () => {
    let url: string;
    let tokenKey: Buffer;
    ({ url, tokenKey, instances, dirs } = await startTwoInstances({
      // 300 slots with two-digit extensions: dense enough that racing instances often draw the same one.
      WAYBILL_RELAY_NUMBERS: '+8617000001234/2,+8617000001235/2,+8617000001236/2',
      WAYBILL_API_RATE_PER_SECOND: '10000',
      WAYBILL_RELAY_CLIENT_SHARE: '1', // one client takes 200 of the 300 slots here: no fair-share limit
    }));
    // With the instances' token key, which binds the key's row as theirs do.
    stores = await openStores({ backend: 'postgres', url }, undefined, tokenKey);
    key = (await stores.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
  });

  afterAll(async () => {
    const codes = await stopAll(instances, dirs);
    await stores?.close();
    expect(codes).toEqual([0, 0]); // both drained and stopped cleanly
  });

  const create = (instance: ServiceProcess, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${instance.url}/v1/waybills`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('answers concurrent creates with one Idempotency-Key across both instances with one waybill', async () => {
    const body = { ...ZT, orderId: 'MI-IDEMPOTENT-1' };
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => create(instances[i % 2]!, body, { 'idempotency-key': 'mi-key-0000001' })));
    const texts = await Promise.all(responses.map((r) => r.text()));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(201));
    expect(new Set(texts).size).toBe(1); // byte for byte the first answer
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(11);
    const { id } = JSON.parse(texts[0]!) as { id: string };
    expect((await stores.store.findWaybillByClientOrder('acme', 'MI-IDEMPOTENT-1'))?.id).toBe(id);
    const rows = await stores.relay.forWaybill(id);
    expect(rows).toHaveLength(2); // one waybill's recipient and sender, bound once
  });

  it('binds 200 relay numbers from 100 concurrent creates across both instances without a duplicate, and the audit chain verifies', async () => {
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => create(instances[i % 2]!, { ...ZT, orderId: `MI-RELAY-${i}` })));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(201));
    const created = (await Promise.all(responses.map((r) => r.json()))) as { id: string; waybillNo: string; relay: Record<string, string> }[];
    expect(new Set(created.map((c) => c.waybillNo)).size).toBe(100);
    const bindings = (await Promise.all(created.map((c) => stores.relay.forWaybill(c.id)))).flat();
    expect(bindings).toHaveLength(200);
    expect(new Set(bindings.map((b) => `${b.number}/${b.ext}`)).size).toBe(200);
    // What the labels print matches what the store holds: every waybill got both relay numbers.
    for (const c of created) expect(Object.keys(c.relay).sort()).toEqual(['recipient', 'sender']);
    expect((await stores.relay.utilisation([{ e164: '+8617000001234', region: 'CN', extLength: 2 }], new Date()))[0]!.live).toBeGreaterThan(0);

    const verified = await stores.audit.verify();
    expect(verified).toMatchObject({ ok: true });
    expect(verified.count).toBeGreaterThanOrEqual(101);
  });
});

describe('a key’s request budget with two instances on one PostgreSQL', () => {
  it('is one budget: a burst spread over both instances gets the rate, not twice it', async () => {
    const { url, tokenKey, instances, dirs } = await startTwoInstances({ WAYBILL_API_RATE_PER_SECOND: '5' });
    const stores = await openStores({ backend: 'postgres', url }, undefined, tokenKey);
    try {
      const key = (await stores.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => fetch(`${instances[i % 2]!.url}/v1/waybills/ZT000000000000`, { headers: { authorization: `Bearer ${key}` } })),
      );
      const elapsed = (performance.now() - started) / 1000;
      const served = answers.filter((r) => r.status === 404).length; // no such waybill, but the request got through
      const limited = answers.filter((r) => r.status === 429);
      expect(served + limited.length).toBe(20);
      expect(served).toBeGreaterThanOrEqual(5);
      expect(served).toBeLessThanOrEqual(5 + Math.floor(elapsed * 5)); // per-instance budgets would let 10 through
      expect(Number(limited[0]!.headers.get('retry-after'))).toBe(1);
    } finally {
      await stores.close();
      expect(await stopAll(instances, dirs)).toEqual([0, 0]);
    }
  });
});
