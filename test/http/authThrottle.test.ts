// Failed authentication from one address is throttled (a token bucket in the database, so two instances
// draw from one budget), counted in /metrics and audited once per burst without the presented secret;
// valid credentials keep working. And a courier learns nothing from a token of another carrier: it is
// answered exactly as an unknown token and counted as one, while the audit record says why. On both
// databases, against real `waybill serve` instances on loopback.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { newCredentialId, parseCredential } from '../../src/auth/credentials';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { AUTH_THROTTLE_AUDIT_SECONDS, addressKey, authBucketsRefillSeconds } from '../../src/http/authThrottle';
import { openServices, type Services } from '../../src/wiring';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS, type StoreBackend, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

// 30 a minute is one token every 2 s: a burst of 6 sequential loopback requests stays well inside one.
const LIMIT = { WAYBILL_AUTH_FAILURES_PER_MINUTE: '30', WAYBILL_AUTH_FAILURE_BURST: '6' };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

interface World {
  t: TestDatabase;
  services: Services;
  urls: string[];
  logs: string[];
  acme: string;
  call(instance: number, method: string, route: string, opts?: { authorization?: string; body?: unknown; headers?: Record<string, string> }): Promise<Answer>;
  stop(): Promise<void>;
}

async function world(backend: StoreBackend, env: Record<string, string>, instances = 2): Promise<World> {
  const t = await backend.open();
  const dir = t.location.backend === 'sqlite' ? path.dirname(t.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-auth-'));
  const fullEnv = {
    WAYBILL_DATA_DIR: dir,
    WAYBILL_RELAY_NUMBERS: '+8617000001234',
    WAYBILL_LOG_LEVEL: 'info',
    ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
    ...env,
  };
  const logs: string[] = [];
  const running: { services: Services; running: RunningService }[] = [];
  for (let i = 0; i < instances; i++) {
    const services = await openServices(loadConfig(fullEnv), () => {});
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => logs.push(d.toString('utf8')));
    running.push({ services, running: await serveCommand(['--port', '0'], services, () => {}, stream) });
  }
  const services = running[0]!.services;
  const acme = (await services.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
  const urls = running.map((r) => r.running.url);
  return {
    t,
    services,
    urls,
    logs,
    acme,
    call: async (instance, method, route, opts = {}) => {
      const res = await fetch(`${urls[instance]}${route}`, {
        method,
        headers: {
          ...(opts.authorization ? { authorization: opts.authorization } : {}),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: text.startsWith('{') ? JSON.parse(text) : text };
    },
    stop: async () => {
      for (const r of running) {
        await r.running.shutdown();
        await r.services.close();
      }
      await t.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The value of each `name{kind="…"}` series, summed over the instances' /metrics. */
async function countsByKind(w: World, name: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const url of w.urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(new RegExp(`^${name}\\{kind="([a-z_]+)"\\} (\\d+)$`, 'gm'))) counts[m[1]!] = (counts[m[1]!] ?? 0) + Number(m[2]);
  }
  return counts;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secret = () => randomBytes(32).toString('base64url');
const auditRows = (w: World, action: string) =>
  w.t.query(`SELECT actor, outcome, waybill_no, detail FROM audit_log WHERE action = ? ORDER BY seq`, action) as Promise<{ actor: string; outcome: string; waybill_no: string | null; detail: string | null }[]>;

describe('the bucket key of a source address', () => {
  it('is the IPv4 address (also mapped into IPv6) or the IPv6 /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
    expect(addressKey('not an address')).toBe('unknown');
  });
});

describe("an address's buckets", () => {
  it('refill from empty in the longer of the burst at the allowed rate and the audit window', () => {
    expect(authBucketsRefillSeconds({ perMinute: 10, burst: 20 })).toBe(AUTH_THROTTLE_AUDIT_SECONDS);
    expect(authBucketsRefillSeconds({ perMinute: 1, burst: 20 })).toBe(1200);
  });
});

describe.each(STORE_BACKENDS)('%s failed authentication', (_name, backend) => {
  it('is throttled per address across two instances (429 + Retry-After), counted, audited once without the secret; valid credentials keep working', async () => {
    const w = await world(backend, LIMIT);
    try {
      const acmeId = w.acme.split('_')[1]!;
      const wrongSecret = secret();
      const bad = `wbk_${acmeId}_${wrongSecret}`;
      const token = '1' + randomBytes(16).toString('base64url');
      // One burst of every kind, alternating instances: the budget is the database's, not an instance's.
      const burst = [
        await w.call(0, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer ${bad}` }),
        await w.call(1, 'GET', '/v1/waybills/WB-1'),
        await w.call(0, 'GET', '/v1/waybills/WB-1', { authorization: 'Bearer not-a-credential' }),
        await w.call(1, 'GET', `/v1/scan/${token}?purpose=delivery`, { authorization: `Bearer wbc_${newCredentialId()}_${secret()}` }),
        await w.call(0, 'POST', '/v1/relay/resolve', { authorization: `Bearer wbt_${newCredentialId()}_${secret()}`, body: { to: '+8617000001234', ext: '0001' } }),
        await w.call(1, 'GET', '/v1/waybills/WB-1', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
      ];
      expect(burst.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 401]);
      const firstThrottled = Date.now();

      const throttled = [
        await w.call(0, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer ${bad}` }),
        await w.call(1, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer ${bad}` }),
        // X-Forwarded-For is not believed unless WAYBILL_TRUST_PROXY says so: no way out of the bucket.
        await w.call(1, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer ${bad}`, headers: { 'x-forwarded-for': '198.51.100.9' } }),
        await w.call(0, 'GET', `/v1/scan/${token}?purpose=delivery`),
      ];
      for (const a of throttled) {
        expect(a.status).toBe(429);
        expect(a.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(a.body).toMatchObject({ type: 'https://waybill.example/problems/limited', status: 429 });
        expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(a.headers.get('retry-after'))).toBeLessThanOrEqual(2);
      }

      // Only failures are held back: a valid key from the same address works during the penalty.
      const created = await w.call(1, 'POST', '/v1/waybills', { authorization: `Bearer ${w.acme}`, body: { ...ZT, orderId: `AUTH-${process.pid}` }, headers: { accept: 'application/json' } });
      expect(created.status).toBe(201);
      expect((await w.call(0, 'GET', `/v1/waybills/${created.body.id}`, { authorization: `Bearer ${w.acme}` })).status).toBe(200);

      expect(await countsByKind(w, 'waybill_auth_failures_total')).toEqual({ api_key: 4, courier: 1, telephony: 1, malformed: 2, missing: 2 });
      expect(await countsByKind(w, 'waybill_auth_throttled_total')).toEqual({ api_key: 3, courier: 0, telephony: 0, malformed: 0, missing: 1 });

      // The bucket lives in the store, where every instance draws from it.
      const buckets = await w.t.query(`SELECT bucket FROM api_rate_buckets WHERE bucket LIKE 'authfail%' ORDER BY bucket`);
      expect(buckets.map((b) => b.bucket)).toEqual(['authfail-audit:127.0.0.1', 'authfail:127.0.0.1']);

      // One audit record for the burst: the address, the kind and the public id part; never the secret.
      const audited = await auditRows(w, 'auth_throttle');
      expect(audited).toHaveLength(1);
      expect(audited[0]).toMatchObject({ actor: 'system', outcome: 'limited' });
      expect(JSON.parse(audited[0]!.detail!)).toEqual({ address: '127.0.0.1', kind: 'api_key', claimedCredential: `wbk_${acmeId}` });

      // After the Retry-After, a failure is answered 401 again; soon the next is throttled, still within the audit window.
      await sleep(firstThrottled + Number(throttled[0]!.headers.get('retry-after')) * 1000 + 300 - Date.now());
      expect((await w.call(1, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer ${bad}` })).status).toBe(401);
      const again: number[] = [];
      while (again.length < 4 && again[again.length - 1] !== 429) again.push((await w.call(0, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer ${bad}` })).status);
      expect(again[again.length - 1]).toBe(429); // (a slow machine may have refilled a second token meanwhile)
      expect(await auditRows(w, 'auth_throttle')).toHaveLength(1);
      expect((await w.services.audit.verify()).ok).toBe(true);

      const stored = (await w.t.rawBytes()).toString('latin1');
      for (const [where, text] of [['database', stored], ['service log', w.logs.join('')]] as const) {
        // The whole secret (base64url, so it may hold '_' itself: splitting on '_' would check a fragment).
        expectAbsent(text, [wrongSecret, bad, parseCredential(w.acme, 'wbk')!.secret], where);
      }
    } finally {
      await w.stop();
    }
  });

  it('believes X-Forwarded-For only from a trusted proxy: each forwarded client then has its own bucket', async () => {
    const w = await world(backend, { ...LIMIT, WAYBILL_AUTH_FAILURE_BURST: '2', WAYBILL_TRUST_PROXY: 'loopback' }, 1);
    try {
      const from = (client: string) => w.call(0, 'GET', '/v1/waybills/WB-1', { authorization: `Bearer wbk_${newCredentialId()}_${secret()}`, headers: { 'x-forwarded-for': client } });
      expect([(await from('203.0.113.7')).status, (await from('203.0.113.7')).status, (await from('203.0.113.7')).status]).toEqual([401, 401, 429]);
      expect((await from('203.0.113.8')).status).toBe(401);
      const audited = await auditRows(w, 'auth_throttle');
      expect(audited.map((r) => JSON.parse(r.detail!).address)).toEqual(['203.0.113.7']);
    } finally {
      await w.stop();
    }
  });
});

describe.each(STORE_BACKENDS)('%s scan of another carrier\'s token', (_name, backend) => {
  it('is answered byte for byte as an unknown token, counted as one (harvest detection), and audited with the reason', async () => {
    const w = await world(backend, { WAYBILL_HARVEST_UNKNOWN_PER_HOUR: '4' }, 1);
    try {
      const created = await w.call(0, 'POST', '/v1/waybills', { authorization: `Bearer ${w.acme}`, body: { ...ZT, orderId: `ORACLE-${process.pid}` }, headers: { accept: 'application/json' } });
      expect(created.status).toBe(201);
      const token = (created.body.qr as string).split('/').pop()!;
      expect((await w.call(0, 'GET', `/v1/waybills/${created.body.id}/label?format=pdf`, { authorization: `Bearer ${w.acme}` })).status).toBe(200);
      const add = async (carrier: 'ZT' | 'SF') => (await w.services.couriers.add({ carrier, name: '王师傅', outlet: 'HZ-XH01', routes: [], device: 'HH-1' }, new Date())).credential;
      const own = await add('ZT');
      const sf = await add('SF');
      const scan = (t: string, key: string) => w.call(0, 'GET', `/v1/scan/${t}?purpose=delivery`, { authorization: `Bearer ${key}` });

      const other = await scan(token, sf);
      const unknown = await scan('1' + randomBytes(16).toString('base64url'), sf);
      expect([other.status, unknown.status]).toEqual([404, 404]);
      const same = (a: Answer) => ({
        text: a.text.replace(a.body.requestId as string, '<request id>'),
        headers: [...a.headers].filter(([k]) => !['date', 'x-request-id'].includes(k)),
      });
      expect(same(other)).toEqual(same(unknown));
      expect(other.body).toMatchObject({ type: 'https://waybill.example/problems/not_found', title: 'not found', status: 404, detail: 'unknown token' });

      // Both count as unknown tokens: two more of either kind make four, and the courier is suspended.
      expect((await scan(token, sf)).status).toBe(404);
      expect((await scan('1' + randomBytes(16).toString('base64url'), sf)).status).toBe(404);
      expect((await scan(token, sf)).body.type).toMatch(/suspended$/);
      const alerts = await w.t.query(`SELECT detail FROM alerts`);
      expect(alerts).toEqual([{ detail: 'too many unknown tokens' }]);
      const attempts = await w.t.query(`SELECT outcome, waybill_id FROM scan_attempts ORDER BY at`);
      expect(attempts).toEqual(Array(4).fill({ outcome: 'unknown', waybill_id: null }));

      // The audit record still says why, and which waybill it was.
      const refusals = await auditRows(w, 'refuse');
      expect(refusals.slice(0, 4).map((r) => [r.outcome, r.waybill_no, r.detail && JSON.parse(r.detail)])).toEqual([
        ['not_found', created.body.waybillNo, { reason: 'other_carrier' }],
        ['not_found', null, null],
        ['not_found', created.body.waybillNo, { reason: 'other_carrier' }],
        ['not_found', null, null],
      ]);

      expect((await scan(token, own)).status).toBe(200); // the token is real, for its own carrier
    } finally {
      await w.stop();
    }
  });
});
