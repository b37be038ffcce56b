// Webhook upkeep on both databases, through the command line: a master-key rotation re-wraps the sealed
// webhook secrets (current and previous) and `keys retire` refuses while one still needs the old key; the
// purge sweep (`waybill purge` and `serve`'s minute sweep) deletes delivered and given-up outbox rows
// older than WAYBILL_WEBHOOK_KEEP_DAYS and keeps everything else.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli';
import { EXIT, type Io } from '../../src/cli/io';
import { serveCommand } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { DAY_MS } from '../../src/time';
import { seal, type KeyRing } from '../../src/vault/sealing';
import { sealedWebhookSecrets, signingSecrets } from '../../src/webhooks/webhooks';
import { openServices } from '../../src/wiring';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const tokenKey = randomBytes(32).toString('base64');

describe.each(STORE_BACKENDS)('%s webhook upkeep', (_name, backend) => {
  let t: TestDatabase;
  let dir: string;
  let base: Record<string, string>;

  beforeAll(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-hook-upkeep-'));
    base = {
      WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
      ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
      WAYBILL_TOKEN_KEY: tokenKey,
      WAYBILL_LOG_LEVEL: 'silent',
      WAYBILL_WEBHOOK_NETWORKS: '127.0.0.1/32',
    };
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const withK1 = () => ({ ...base, WAYBILL_MASTER_KEY: k1.toString('base64'), WAYBILL_MASTER_KEY_ID: 'k1' });
  const withK2 = (previous = true) => ({ ...base, WAYBILL_MASTER_KEY: k2.toString('base64'), WAYBILL_MASTER_KEY_ID: 'k2', ...(previous ? { WAYBILL_PREVIOUS_MASTER_KEYS: `k1:${k1.toString('base64')}` } : {}) });
  const run = async (env: Record<string, string>, ...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
    const code = await main(argv, io, env);
    return { code, out, err: err.join('\n') };
  };
  const keyIds = async (id: string) => (await t.query('SELECT key_id, prev_key_id FROM webhook_endpoints WHERE id = ?', id))[0];

  it('keys rotate re-wraps the sealed webhook secrets; keys retire refuses while one still needs the key', async () => {
    const added = await run(withK1(), 'webhooks', 'add', '--admin', '--url', 'http://127.0.0.1:9/hooks');
    expect(added.code).toBe(EXIT.ok);
    const id = /added webhook (\S+)/.exec(added.err)![1]!;
    const rotated = await run(withK1(), 'webhooks', 'rotate-secret', id);
    expect(rotated.code).toBe(EXIT.ok);
    const [first, second] = [added.out[0]!, rotated.out[0]!];
    expect(await keyIds(id)).toEqual({ key_id: 'k1', prev_key_id: 'k1' });
    const before = (await t.query('SELECT sealed, prev_sealed FROM webhook_endpoints WHERE id = ?', id))[0];

    // k2 is active now, nothing re-wrapped yet: k1 may not go.
    const refused = await run(withK2(), 'keys', 'retire', 'k1');
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.err).toMatch(/2 webhook secret\(s\) still use k1; run: waybill keys rotate/);

    const rotate = await run(withK2(), 'keys', 'rotate');
    expect(rotate.code).toBe(EXIT.ok);
    expect(rotate.err).toMatch(/active master key k2; re-wrapped 1 data key/);
    expect(await keyIds(id)).toEqual({ key_id: 'k2', prev_key_id: 'k2' });
    // Only the data keys are re-wrapped: the sealed secrets are the same bytes.
    expect((await t.query('SELECT sealed, prev_sealed FROM webhook_endpoints WHERE id = ?', id))[0]).toEqual(before);
    expect((await run(withK2(), 'keys', 'retire', 'k1')).code).toBe(EXIT.ok);

    // Without k1 both secrets still open and sign, and the CLI can rotate again.
    const onlyK2: KeyRing = { activeKeyId: 'k2', keys: new Map([['k2', k2]]) };
    const endpoint = (await t.stores.webhooks.getEndpoint(id))!;
    expect(signingSecrets(endpoint, onlyK2, new Date())).toEqual([second, first]);
    expect((await run(withK2(false), 'webhooks', 'rotate-secret', id)).code).toBe(EXIT.ok);
    expect((await run(withK2(false), 'webhooks', 'remove', id)).code).toBe(EXIT.ok);
  });

  it('re-wrapping never overwrites a secret rotated meanwhile', async () => {
    const ring: KeyRing = { activeKeyId: 'k1', keys: new Map([['k1', k1]]) };
    const id = '11111111-2222-4333-8444-555555555555';
    await t.stores.webhooks.addEndpoint({ id, client: 'acme', url: 'http://127.0.0.1:9/x', events: null, createdAt: new Date().toISOString(), secret: seal(Buffer.from('whsec_old'), ring, `webhook:${id}`) });
    const stale = (await t.stores.webhooks.getEndpoint(id))!;
    const ring2: KeyRing = { activeKeyId: 'k2', keys: new Map([['k1', k1], ['k2', k2]]) };
    const fresh = seal(Buffer.from('whsec_new'), ring2, `webhook:${id}`);
    expect(await t.stores.webhooks.rotateSecret(id, fresh, seal(Buffer.from('whsec_old'), ring2, `webhook:${id}`), new Date(Date.now() + DAY_MS).toISOString())).toBe(true);
    expect(await t.stores.webhooks.replaceSealed(id, stale, stale.secret, undefined)).toBe(false);
    expect(signingSecrets((await t.stores.webhooks.getEndpoint(id))!, ring2, new Date())).toEqual(['whsec_new', 'whsec_old']);
    expect(await sealedWebhookSecrets(t.stores.webhooks).rewrap(ring2, 10)).toBe(0);
    expect(await t.stores.webhooks.removeEndpoint(id)).toBe(true);
  });

  it('deletes finished outbox rows older than WAYBILL_WEBHOOK_KEEP_DAYS in waybill purge and the serve sweep', async () => {
    const added = await run(withK2(false), 'webhooks', 'add', '--admin', '--url', 'http://127.0.0.1:9/hooks', '--events', 'alert.raised');
    const endpointId = /added webhook (\S+)/.exec(added.err)![1]!;
    for (let i = 0; i < 6; i++) await t.stores.store.recordAlert({ at: new Date().toISOString(), kind: 'relay_unavailable', detail: `upkeep ${i}` });
    // No sending in this test: the endpoint is disabled (its pending events are kept for it).
    await t.exec(`UPDATE webhook_endpoints SET disabled_at = '${new Date().toISOString()}', disabled_reason = 'test' WHERE id = '${endpointId}'`);
    const ids = (await t.query('SELECT id FROM webhook_outbox WHERE endpoint_id = ? ORDER BY id', endpointId)).map((r) => String(r.id));
    expect(ids).toHaveLength(6);
    const ago = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();
    const set = (id: string, columns: string) => t.exec(`UPDATE webhook_outbox SET ${columns} WHERE id = '${id}'`);
    const [deliveredOld, givenUpOld, deliveredSixDays, pendingOld, deliveredYesterday, givenUpSixDays] = ids as [string, string, string, string, string, string];
    await set(deliveredOld, `created_at = '${ago(9)}', delivered_at = '${ago(8)}'`);
    await set(givenUpOld, `created_at = '${ago(9)}', given_up_at = '${ago(8)}'`);
    await set(deliveredSixDays, `created_at = '${ago(6)}', delivered_at = '${ago(6)}'`);
    await set(pendingOld, `created_at = '${ago(30)}', next_attempt_at = '${ago(30)}'`);
    await set(deliveredYesterday, `created_at = '${ago(1)}', delivered_at = '${ago(1)}'`);
    await set(givenUpSixDays, `created_at = '${ago(7)}', given_up_at = '${ago(6)}'`);
    const left = async () => new Set((await t.query('SELECT id FROM webhook_outbox WHERE endpoint_id = ?', endpointId)).map((r) => String(r.id)));

    // `waybill purge`, default 7 days: the two finished 8 days ago go.
    const purged = await run(withK2(false), 'purge');
    expect(purged.code).toBe(EXIT.ok);
    expect(purged.err).toMatch(/deleted 2 finished webhook event\(s\)/);
    expect(await left()).toEqual(new Set([deliveredSixDays, pendingOld, deliveredYesterday, givenUpSixDays]));

    // The serve sweep (it runs at start-up, then every minute).
    await set(deliveredYesterday, `delivered_at = '${ago(7.5)}'`);
    const services = await openServices(loadConfig(withK2(false)), () => {});
    const running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    await running.shutdown();
    await services.close();
    expect(await left()).toEqual(new Set([deliveredSixDays, pendingOld, givenUpSixDays]));

    // A shorter keep: WAYBILL_WEBHOOK_KEEP_DAYS=5. Pending events stay, however old.
    expect((await run({ ...withK2(false), WAYBILL_WEBHOOK_KEEP_DAYS: '5' }, 'purge')).err).toMatch(/deleted 2 finished webhook event\(s\)/);
    expect(await left()).toEqual(new Set([pendingOld]));
    expect((await run(withK2(false), 'webhooks', 'remove', endpointId)).code).toBe(EXIT.ok);
  });
});
