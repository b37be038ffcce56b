// What a client types is never trusted to be text a database keeps: on both databases (PostgreSQL refuses
// a NUL in text and answered 500), a NUL, a CR LF, a bidi override or a lone surrogate in a webhook URL,
// a printer name or a scan purpose is the caller's mistake (4xx naming the field, never the value), and
// the relay routes read a body only as JSON in UTF-8, and only after the credential.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { AgentMessage } from '../../src/agent/agentProtocol';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(60_000);

const HOSTILE = ['\u0000', '\r\nX-Evil: 1', '\u202e', '\ud800'];

describe.each(STORE_BACKENDS)('%s: control characters are refused, not stored', (_name, backend) => {
  let t: TestDatabase;
  let dir: string;
  let services: Services;
  let running: RunningService;
  let acme: string;
  let courier: string;
  let pbx: string;

  beforeAll(async () => {
    t = await backend.open();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-controls-'));
    const env = {
      WAYBILL_DATA_DIR: t.location.backend === 'sqlite' ? path.dirname(t.location.file) : dir,
      ...(t.location.backend === 'postgres' ? { DATABASE_URL: t.location.url } : {}),
      WAYBILL_WEBHOOK_NETWORKS: '127.0.0.1/32',
      WAYBILL_RELAY_NUMBERS: '+8617000001234/4',
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
    acme = (await services.apiKeys.add({ name: 'acme wms', role: 'warehouse', client: 'acme' }, new Date())).credential;
    courier = (await services.couriers.add({ carrier: 'ZT', name: '王师傅', outlet: 'HZ-XH01', routes: [], device: 'HH-1' }, new Date())).credential;
    pbx = (await services.telephony.add('pbx', new Date())).credential;
  });
  afterAll(async () => {
    await running.shutdown();
    await services.close();
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, route: string, key: string | undefined, body?: string, type = 'application/json') => {
    const res = await fetch(`${running.url}${route}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  it('refuses them in a webhook URL (422 at url) and stores no endpoint', async () => {
    for (const bad of HOSTILE) {
      const res = await call('POST', '/v1/webhooks', acme, JSON.stringify({ url: `http://127.0.0.1:9/hook${bad}` }));
      expect(res.status).toBe(422);
      expect(JSON.parse(res.text)).toMatchObject({ errors: [expect.objectContaining({ path: 'url' })] });
      expect(res.text).not.toContain('X-Evil');
    }
    expect(await services.webhooks.listEndpoints('acme')).toEqual([]);
  });

  it('refuses them in a printer name (422 at printer)', async () => {
    const created = JSON.parse((await call('POST', '/v1/waybills', acme, JSON.stringify({ ...ZT, orderId: `CC-${process.pid}` }))).text) as { id: string };
    for (const bad of HOSTILE) {
      const res = await call('POST', `/v1/waybills/${created.id}/print`, acme, JSON.stringify({ printer: `dock${bad}` }));
      expect([res.status, JSON.parse(res.text).errors?.[0]?.path]).toEqual([422, 'printer']);
    }
  });

  it('answers a scan purpose holding a NUL with 400, as any purpose off the list', async () => {
    expect((await call('GET', '/v1/scan/abc?purpose=pickup%00', courier)).status).toBe(400);
  });

  it('reads a relay body only after the credential, only as JSON in UTF-8', async () => {
    const resolve = JSON.stringify({ to: '+8617000001234', ext: '1234' });
    expect((await call('POST', '/v1/relay/resolve', undefined, '{bad')).status).toBe(401);
    expect((await call('POST', '/v1/relay/resolve', pbx, resolve, 'text/plain')).status).toBe(415);
    expect((await call('POST', '/v1/relay/resolve', pbx, '{bad')).status).toBe(400);
    const notUtf8 = await fetch(`${running.url}/v1/relay/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pbx}`, 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"callId":"c1","releaseCause":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    });
    expect(notUtf8.status).toBe(400);
  });
});

it("refuses a print agent's acknowledgement whose error text holds a control character", () => {
  const ack = { type: 'ack', jobId: '5d8c7b3e-2a41-4c55-9e0f-7a6b1c2d3e4f', status: 'failed' };
  expect(AgentMessage.safeParse({ ...ack, error: 'paper jam' }).success).toBe(true);
  for (const bad of HOSTILE) expect(AgentMessage.safeParse({ ...ack, error: `paper jam${bad}` }).success).toBe(false);
});
