// Webhook endpoints over the real API and from the shell, on both databases: the secret shown once (the
// create and rotate answers, the CLI's only stdout) and never in a list; a warehouse key confined to its
// client (another client's endpoint is a 404); field checks and the network policy as 422s naming the
// field; rotation (both secrets sign), removal, redelivery; audit records without URL or secret. Every
// API answer is also checked against the API document.

import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { EXIT, type Io } from '../../src/cli/io';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { webhookCommand } from '../../src/cli/webhookCommands';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { ContractRecorder, contractFetch, contractViolations, type ApiDocument } from '../support/contract';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'order.json'), 'utf8')) as Record<string, unknown>;
let seq = 0;
const order = () => ({ ...SAMPLE, orderId: `WH-${process.pid}-${++seq}` });

/** The README's check: one v1 entry made with `secret` over "<t>.<raw body>". */
function verify(header: string, rawBody: string, secret: string): boolean {
  const parts = header.split(',').map((p) => p.split('='));
  const t = parts.find(([k]) => k === 't')?.[1] ?? '';
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return parts.some(([k, v]) => k === 'v1' && v!.length === 64 && timingSafeEqual(Buffer.from(v!, 'hex'), expected));
}

async function until(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Received {
  eventId: string;
  signature: string;
  body: string;
}
interface View {
  id: string;
  client: string | null;
  url: string;
  events: string[] | null;
  status: string;
  secret?: string;
  previousSecretExpiresAt?: string;
}

describe.each(STORE_BACKENDS)('%s webhook endpoints: API and CLI', (_name, backend) => {
  let t: TestDatabase;
  let dir: string;
  let services: Services;
  let running: RunningService;
  let keys: Record<'admin' | 'acme' | 'acmePrinter' | 'other', string>;
  let receiver: http.Server;
  let url: string;
  const received: Received[] = [];
  const recorder = new ContractRecorder();
  const fetchRecorded = contractFetch(recorder);

  beforeAll(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-hooks-api-'));
    const env = {
      WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
      ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
      WAYBILL_WEBHOOK_NETWORKS: '127.0.0.1/32',
      WAYBILL_WEBHOOK_POLL_MS: '50',
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    const add = async (name: string, role: 'admin' | 'warehouse' | 'printer', client?: string) => (await services.apiKeys.add({ name, role, ...(client ? { client } : {}) }, new Date())).credential;
    keys = { admin: await add('ops', 'admin'), acme: await add('acme wms', 'warehouse', 'acme'), acmePrinter: await add('acme line', 'printer', 'acme'), other: await add('other wms', 'warehouse', 'other') };
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ eventId: String(req.headers['waybill-event-id']), signature: String(req.headers['waybill-signature']), body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/waybill`;
  });
  afterAll(async () => {
    await running?.shutdown();
    await services?.close();
    await t?.close();
    receiver?.closeAllConnections();
    await new Promise((r) => receiver?.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, route: string, key: string | undefined, body?: unknown) => {
    const res = await fetchRecorded(`${running.url}${route}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const register = async (key: string, body: Record<string, unknown>) => {
    const r = await call('POST', '/v1/webhooks', key, body);
    expect(r.status).toBe(201);
    return r;
  };
  const list = async (key: string) => {
    const r = await call('GET', '/v1/webhooks', key);
    expect(r.status).toBe(200);
    return r;
  };
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
    const code = await webhookCommand(args, services, io);
    return { code, out, err };
  };

  it('shows the secret in the create answer only, never in a list', async () => {
    const r = await register(keys.acme, { url, events: ['waybill.created'] });
    const created = r.body as unknown as View;
    expect(created).toMatchObject({ client: 'acme', url, events: ['waybill.created'], status: 'active', secret: expect.stringMatching(/^whsec_/) });
    expect(r.headers.get('location')).toBe(`/v1/webhooks/${created.id}`);
    expect(r.headers.get('cache-control')).toBe('no-store');
    for (const key of [keys.acme, keys.admin]) {
      const l = await list(key);
      expect((l.body.webhooks as View[]).map((w) => w.id)).toContain(created.id);
      expect(l.text).not.toContain(created.secret);
      expect(l.text).not.toContain('"secret"');
    }
    // The other client sees none of acme's.
    expect((await list(keys.other)).body.webhooks).toEqual([]);
    expect((await call('DELETE', `/v1/webhooks/${created.id}`, keys.acme)).status).toBe(204);
  });

  it("confines a warehouse key to its client: another client's endpoint is a 404, naming another client a 422", async () => {
    const acme = (await register(keys.acme, { url })).body as unknown as View;
    // An admin registers for a client, or (no client) an admin endpoint.
    const forAcme = (await register(keys.admin, { url, client: 'acme' })).body as unknown as View;
    expect(forAcme.client).toBe('acme');
    const admin = (await register(keys.admin, { url, events: ['alert.raised'] })).body as unknown as View;
    expect(admin.client).toBeNull();
    for (const [method, route] of [
      ['DELETE', `/v1/webhooks/${acme.id}`],
      ['POST', `/v1/webhooks/${acme.id}/rotate-secret`],
      ['DELETE', `/v1/webhooks/${admin.id}`],
      ['DELETE', '/v1/webhooks/not-an-id'],
    ] as const)
      expect({ route, status: (await call(method, route, keys.other)).status }).toEqual({ route, status: 404 });
    const foreign = await call('POST', '/v1/webhooks', keys.other, { url, client: 'acme' });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors).toEqual([{ path: 'client', message: expect.any(String) }]);
    // Roles: a printer key may not manage webhooks; no credential is a 401.
    expect((await call('GET', '/v1/webhooks', keys.acmePrinter)).status).toBe(403);
    expect((await call('POST', '/v1/webhooks', undefined, { url })).status).toBe(401);
    // A body that is not JSON in UTF-8 is refused as on every route (415, 400), never read as no body.
    const raw = (type: string, body: Buffer | string) => fetchRecorded(`${running.url}/v1/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${keys.admin}`, 'content-type': type }, body });
    expect((await raw('text/plain', JSON.stringify({ url }))).status).toBe(415);
    expect((await raw('application/json', Buffer.concat([Buffer.from('{"url":"'), Buffer.from([0xff]), Buffer.from('"}')]))).status).toBe(400);
    for (const e of [acme, forAcme, admin]) expect((await call('DELETE', `/v1/webhooks/${e.id}`, keys.admin)).status).toBe(204);
  });

  it('checks the fields and the network policy, as 422s naming the field without quoting it', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'url'],
      [{ url: 'ftp://127.0.0.1/x' }, 'url'],
      [{ url: 'http://user:pw@127.0.0.1/x' }, 'url'],
      // No URL at all: the url check's issue, never a 500.
      [{ url: 'not a url' }, 'url'],
      [{ url: 'http://127.0.0.1:99999/x' }, 'url'],
      [{ url: 'http://[zz]/' }, 'url'],
      [{ url, events: [] }, 'events'],
      [{ url, events: ['waybill.teleported'] }, 'events[0]'],
      [{ url, events: ['alert.raised'] }, 'events'],
      [{ url, extra: 1 }, ''],
      [{ url: 'http://10.20.30.40/hooks' }, 'url'],
      [{ url: 'http://169.254.169.254/latest/meta-data' }, 'url'],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', '/v1/webhooks', keys.acme, body);
      expect({ body, status: r.status }).toEqual({ body, status: 422 });
      const errors = r.body.errors as { path: string; message: string }[];
      expect({ body, paths: errors.map((e) => e.path) }).toEqual({ body, paths: expect.arrayContaining([field]) });
      if (typeof body.url === 'string') expect(r.text).not.toContain(body.url);
    }
    const refused = await call('POST', '/v1/webhooks', keys.acme, { url: 'http://10.20.30.40/hooks' });
    expect(refused.body.errors).toEqual([{ path: 'url', message: expect.stringMatching(/private.*WAYBILL_WEBHOOK_NETWORKS/) }]);
    expect((await list(keys.acme)).body.webhooks).toEqual([]);
  });

  it('rotates the secret (both sign for a day), redelivers an event, removes the endpoint with its events', async () => {
    const created = (await register(keys.acme, { url, events: ['waybill.created'] })).body as unknown as View;
    const first = created.secret!;
    // A rotation takes nothing: a body that asks for something (a longer overlap) is refused, not ignored.
    const asking = await call('POST', `/v1/webhooks/${created.id}/rotate-secret`, keys.acme, { previousSecretHours: 72 });
    expect([asking.status, asking.body.errors]).toEqual([422, [{ path: '', message: 'takes no properties' }]]);
    expect((await list(keys.acme)).body.webhooks).toEqual([expect.not.objectContaining({ previousSecretExpiresAt: expect.anything() })]);
    expect((await call('POST', `/v1/webhooks/${created.id}/rotate-secret`, keys.acme, [])).status).toBe(422);
    const rotated = await call('POST', `/v1/webhooks/${created.id}/rotate-secret`, keys.acme, {}); // {} is no body
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ id: created.id, secret: expect.stringMatching(/^whsec_/), previousSecretExpiresAt: expect.any(String) });
    const second = rotated.body.secret as string;
    expect(second).not.toBe(first);
    const hours = (Date.parse(rotated.body.previousSecretExpiresAt as string) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    expect((await list(keys.acme)).body.webhooks).toEqual([expect.objectContaining({ id: created.id, previousSecretExpiresAt: rotated.body.previousSecretExpiresAt })]);

    received.length = 0;
    const waybill = await call('POST', '/v1/waybills', keys.acme, order());
    expect(waybill.status).toBe(201);
    await until(() => received.length >= 1);
    const event = received[0]!;
    expect(JSON.parse(event.body)).toMatchObject({ id: event.eventId, type: 'waybill.created', data: { waybillId: waybill.body.id, client: 'acme' } });
    expect(event.signature.match(/v1=/g)).toHaveLength(2);
    expect(verify(event.signature, event.body, first)).toBe(true);
    expect(verify(event.signature, event.body, second)).toBe(true);
    await until(async () => (await services.webhooks.getEvent(event.eventId))?.deliveredAt !== undefined);

    // Redelivery: another client's event is a 404 like an unknown one; acme's is sent again, same id.
    expect((await call('POST', `/v1/webhook-events/${event.eventId}/redeliver`, keys.other)).status).toBe(404);
    expect((await call('POST', '/v1/webhook-events/00000000-0000-4000-8000-000000000000/redeliver', keys.acme)).status).toBe(404);
    const again = await call('POST', `/v1/webhook-events/${event.eventId}/redeliver`, keys.acme);
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: event.eventId, endpoint: created.id, status: 'scheduled' });
    await until(() => received.length >= 2);
    expect(received[1]!.eventId).toBe(event.eventId);
    expect(verify(received[1]!.signature, received[1]!.body, second)).toBe(true);

    expect((await call('DELETE', `/v1/webhooks/${created.id}`, keys.acme)).status).toBe(204);
    expect((await call('DELETE', `/v1/webhooks/${created.id}`, keys.acme)).status).toBe(404);
    expect(await services.webhooks.getEvent(event.eventId)).toBeUndefined();
    expect((await list(keys.acme)).body.webhooks).toEqual([]);
  });

  it('the CLI: add prints the secret alone on stdout, list --json, rotate-secret, redeliver, remove', async () => {
    const added = await cli('add', '--client', 'acme', '--url', url, '--events', 'waybill.created,waybill.printed');
    expect(added.code).toBe(EXIT.ok);
    expect(added.out).toEqual([expect.stringMatching(/^whsec_\S+$/)]);
    const secret = added.out[0]!;
    const id = /added webhook (\S+)/.exec(added.err.join('\n'))![1]!;

    const listed = await cli('list', '--json');
    expect(listed.code).toBe(EXIT.ok);
    const rows = JSON.parse(listed.out.join('\n')) as Record<string, string>[];
    expect(rows).toEqual([{ id, client: 'acme', url, events: 'waybill.created,waybill.printed', status: 'active', created: expect.any(String) }]);
    const table = await cli('list');
    expect(table.out[0]).toBe('id\tclient\turl\tevents\tstatus\tcreated');
    expect([...listed.out, ...listed.err, ...table.out, ...table.err].join('\n')).not.toContain(secret);
    // The API sees the CLI's endpoint (the same store).
    expect(((await list(keys.acme)).body.webhooks as View[]).map((w) => w.id)).toEqual([id]);

    const rotated = await cli('rotate-secret', id);
    expect(rotated.code).toBe(EXIT.ok);
    expect(rotated.out).toEqual([expect.stringMatching(/^whsec_\S+$/)]);
    expect(rotated.out[0]).not.toBe(secret);

    received.length = 0;
    expect((await call('POST', '/v1/waybills', keys.acme, order())).status).toBe(201);
    await until(async () => received.length >= 1 && (await services.webhooks.getEvent(received[0]!.eventId))?.deliveredAt !== undefined);
    const redelivered = await cli('redeliver', received[0]!.eventId);
    expect(redelivered).toMatchObject({ code: EXIT.ok, out: [] });
    await until(() => received.length >= 2);
    expect(received[1]!.eventId).toBe(received[0]!.eventId);

    expect(await cli('redeliver', '00000000-0000-4000-8000-000000000000')).toMatchObject({ code: EXIT.failure, out: [] });
    expect(await cli('rotate-secret', '00000000-0000-4000-8000-000000000000')).toMatchObject({ code: EXIT.failure, out: [] });
    expect(await cli('remove', id)).toMatchObject({ code: EXIT.ok, out: [] });
    expect(await cli('remove', id)).toMatchObject({ code: EXIT.failure, out: [] });

    // Usage and input errors: exit 64 for a bad command line, the field named for bad input.
    expect((await cli('frobnicate')).code).toBe(EXIT.usage);
    await expect(cli('add', '--url', url)).rejects.toThrow(/--client ID/);
    await expect(cli('add', '--client', 'acme', '--url', 'http://10.20.30.40/x')).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: ['url'] }] });
    await expect(cli('add', '--client', 'acme', '--url', url, '--events', 'courier.suspended')).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: ['events'] }] });
    const admin = await cli('add', '--admin', '--url', url, '--events', 'courier.suspended');
    expect(admin.code).toBe(EXIT.ok);
    expect(JSON.parse((await cli('list', '--json')).out[0]!)).toEqual([expect.objectContaining({ client: '*', events: 'courier.suspended' })]);
    const adminId = /added webhook (\S+)/.exec(admin.err.join('\n'))![1]!;
    expect((await cli('remove', adminId)).code).toBe(EXIT.ok);
  });

  it('audits adds, removals, rotations and redeliveries without a URL or a secret', async () => {
    const rows = (await t.query("SELECT action, actor, detail FROM audit_log WHERE action LIKE 'webhook_%' ORDER BY seq")) as { action: string; actor: string; detail: string }[];
    expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['webhook_add', 'webhook_remove', 'webhook_rotate', 'webhook_redeliver']));
    for (const r of rows) {
      expect(r.detail).not.toMatch(/whsec_|127\.0\.0\.1|hooks\/waybill|http/);
      expect(Object.keys(JSON.parse(r.detail) as object).sort()).toEqual(r.action === 'webhook_redeliver' ? ['endpoint', 'event'] : ['client', 'endpoint']);
    }
    // Both ways in: API keys and the command line.
    expect(rows.some((r) => r.actor.startsWith('cli'))).toBe(true);
    expect(rows.some((r) => !r.actor.startsWith('cli'))).toBe(true);
  });

  it('every API answer of these tests keeps the API document', async () => {
    const doc = JSON.parse((await call('GET', '/openapi.json', undefined)).text) as ApiDocument;
    expect(contractViolations(doc, recorder.exchanges)).toEqual([]);
  });
});
