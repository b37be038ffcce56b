// The contract test: a real server on an ephemeral port, a scenario over every endpoint (successes and
// the problem answers), and every answer checked against GET /openapi.json — status documented for the
// operation, media type documented for that status, JSON bodies valid against the documented schema
// (test/support/contract.ts). Documented GET operations without parameters that the scenario does not
// name (new resources) are called too, so a new list endpoint is covered the day it is documented.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { printerCommand } from '../../src/cli/printerCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import Ajv2020 from 'ajv/dist/2020';
import { ContractRecorder, contractFetch, contractViolations, routeOf, type ApiDocument } from '../support/contract';
import { closedPort, fakePrinter, type FakePrinter } from '../support/fakePrinter';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'order.json'), 'utf8')) as Record<string, unknown>;
type Doc = ApiDocument;

let dir: string;
let services: Services;
let running: RunningService;
let line: FakePrinter;
let deadPort: number;
// A webhook receiver on loopback (listed in WAYBILL_WEBHOOK_NETWORKS): the event ids it got.
let hookReceiver: http.Server;
let hookUrl: string;
const hookEvents: string[] = [];
const hookBodies: string[] = [];
const recorder = new ContractRecorder();
const keys: Record<string, string> = {};
let seq = 0;
const order = (over: Record<string, unknown> = {}) => ({ ...SAMPLE, orderId: `C-${process.pid}-${++seq}`, ...over });

async function credential(...args: string[]): Promise<string> {
  const lines: string[] = [];
  expect(await apiKeyCommand(['create', ...args], services, (l) => lines.push(l))).toBe(0);
  return /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
}

const fetchRecorded = contractFetch(recorder);
function call(method: string, route: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return fetchRecorded(`${running.url}${route}`, { method, headers, ...(body !== undefined ? { body } : {}) });
}
async function expectStatus(res: Promise<Response>, status: number): Promise<Response> {
  const r = await res;
  expect({ status: r.status, url: r.url }).toMatchObject({ status });
  return r;
}
const json = async <T = Record<string, unknown>>(res: Promise<Response>, status: number) => (await (await expectStatus(res, status)).json()) as T;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-contract-'));
  const config = loadConfig({
    WAYBILL_DATA_DIR: dir,
    WAYBILL_RELAY_NUMBERS: '+8617000000001',
    WAYBILL_BATCH_MAX_ORDERS: '5',
    WAYBILL_SCAN_PER_MINUTE: '4',
    WAYBILL_HARVEST_UNKNOWN_PER_HOUR: '2',
    WAYBILL_PRINTER_RETRY_BACKOFF_MS: '5',
    WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32',
    WAYBILL_WEBHOOK_NETWORKS: '127.0.0.1/32',
    WAYBILL_WEBHOOK_POLL_MS: '50',
    WAYBILL_COURIER_PAIRING_BY_API: 'true',
  });
  services = await openServices(config, () => {});
  running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
  keys.acme = await credential('--role', 'warehouse', '--name', 'acme wms', '--client', 'acme');
  keys.admin = await credential('--role', 'admin', '--name', 'ops');
  keys.courier = await credential('--role', 'courier', '--name', 'courier a', '--carrier', 'ZT', '--outlet', 'HZ-XH01', '--device', 'HH-1');
  keys.hasty = await credential('--role', 'courier', '--name', 'courier b', '--carrier', 'ZT', '--outlet', 'HZ-XH01', '--device', 'HH-2');
  keys.harvester = await credential('--role', 'courier', '--name', 'courier c', '--carrier', 'ZT', '--outlet', 'HZ-XH01', '--device', 'HH-3');
  keys.pbx = await credential('--role', 'telephony', '--name', 'pbx-1');
  line = await fakePrinter();
  hookReceiver = http.createServer((req, res) => {
    hookEvents.push(String(req.headers['waybill-event-id']));
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => (hookBodies.push(body), res.writeHead(204).end()));
  });
  await new Promise<void>((resolve) => hookReceiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hookReceiver.address() as net.AddressInfo).port}/hooks`;
  // A port nobody listens on: the "dead" printer refuses every connection.
  deadPort = await closedPort();
  for (const [name, port] of [['acme-line-1', line.port], ['acme-dead', deadPort]] as const)
    expect(await printerCommand(['add', name, '--host', '127.0.0.1', '--port', String(port), '--language', 'zpl', '--client', 'acme'], services, () => {})).toBe(0);
});

afterAll(async () => {
  await line?.off().catch(() => undefined);
  hookReceiver?.closeAllConnections();
  hookReceiver?.close();
  await running?.shutdown();
  await services?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every answer of a scenario over every endpoint keeps the API document', async () => {
  const doc = await json<Doc>(call('GET', '/openapi.json'), 200);

  // Service endpoints.
  await expectStatus(call('GET', '/healthz'), 200);
  await expectStatus(call('GET', '/readyz'), 200);
  await expectStatus(call('GET', '/metrics'), 200);
  await expectStatus(call('GET', '/docs'), 200);
  await expectStatus(call('GET', '/w/q7Zt2VxK9mPbR4nL8cYdWf'), 200);

  // Create: JSON, PDF, and the problems.
  const created = await json<{ id: string; waybillNo: string; relay: { recipient?: string }; qr: string }>(call('POST', '/v1/waybills', { key: keys.acme, body: order() }), 201);
  const pdf = await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: order(), headers: { accept: 'application/pdf' } }), 201);
  expect(pdf.headers.get('content-type')).toBe('application/pdf');
  await expectStatus(call('POST', '/v1/waybills?format=zpl', { key: keys.acme, body: order() }), 201);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: { ...SAMPLE, orderId: (await json<{ orderId: string }>(call('GET', `/v1/waybills/${created.id}`, { key: keys.acme }), 200)).orderId } }), 409);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: order({ recipient: { ...(SAMPLE.recipient as object), phone: '12' } }) }), 422);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: '{"orderId":', headers: { 'content-type': 'application/json' } }), 400);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: 'orderId=1', headers: { 'content-type': 'text/plain' } }), 415);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: order(), headers: { accept: 'image/gif' } }), 406);
  await expectStatus(call('POST', '/v1/waybills', { body: order() }), 401);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.courier, body: order() }), 403);

  // Read, labels, events.
  await expectStatus(call('GET', `/v1/waybills/${created.waybillNo}`, { key: keys.admin }), 200);
  await expectStatus(call('GET', '/v1/waybills/00000000-0000-4000-8000-000000000000', { key: keys.acme }), 404);
  await expectStatus(call('GET', `/v1/waybills/${created.id}/label`, { key: keys.acme }), 200);
  await expectStatus(call('GET', `/v1/waybills/${created.id}/label?format=json`, { key: keys.acme }), 200);
  await expectStatus(call('GET', `/v1/waybills/${created.id}/label?copies=nonsense`, { key: keys.acme }), 422);
  const doomed = await json<{ id: string; waybillNo: string; qr: string }>(call('POST', '/v1/waybills', { key: keys.acme, body: order() }), 201);
  await expectStatus(call('POST', `/v1/waybills/${doomed.id}/events`, { key: keys.acme, body: { type: 'cancelled' } }), 201);
  await expectStatus(call('POST', `/v1/waybills/${doomed.id}/events`, { key: keys.acme, body: { type: 'cancelled' } }), 409);
  await expectStatus(call('POST', `/v1/waybills/${doomed.id}/events`, { key: keys.acme, body: { type: 'teleported' } }), 422);
  await expectStatus(call('POST', `/v1/waybills/${doomed.id}/events`, { key: keys.acme, body: { type: 'delivered' } }), 403);
  await expectStatus(call('GET', `/v1/waybills/${doomed.id}/label`, { key: keys.acme }), 409);

  // Batches and previews.
  await expectStatus(call('POST', '/v1/batches', { key: keys.acme, body: { orders: [order(), order({ carrier: 'XX' })] } }), 422);
  await expectStatus(call('POST', '/v1/batches', { key: keys.acme, body: { orders: Array.from({ length: 6 }, () => order()) } }), 413);
  const batch = await expectStatus(call('POST', '/v1/batches', { key: keys.acme, body: { orders: [order(), order()] } }), 201);
  // Resources other parts add (batch resources, event history): exercised when the service has them.
  const batchLink = /^<([^>]+)>; rel="batch"/.exec(batch.headers.get('link') ?? '')?.[1];
  if (batchLink) await expectStatus(call('GET', batchLink, { key: keys.acme }), 200);
  if (batchLink) await expectStatus(call('GET', '/v1/batches/00000000-0000-4000-8000-000000000000', { key: keys.acme }), 404);
  await call('GET', `/v1/waybills/${created.id}/events`, { key: keys.acme });
  await expectStatus(call('POST', '/v1/batches?format=json', { key: keys.acme, body: [order(), order()] }), 201);
  await expectStatus(call('POST', '/v1/batches', { key: keys.acme, body: `${JSON.stringify(order())}\n${JSON.stringify(order())}\n`, headers: { 'content-type': 'application/x-ndjson' } }), 201);
  await expectStatus(call('POST', '/v1/previews?format=json', { key: keys.acme, body: order() }), 200);
  await expectStatus(call('POST', '/v1/previews', { key: keys.acme, body: { orders: [order(), order()] } }), 200);
  await expectStatus(call('POST', '/v1/previews', { key: keys.acme, body: { orders: [order({ parcel: { weightKg: -1 } })] } }), 422);

  // Printers and print jobs: a live printer, a dead one (502, kept job, retry).
  await expectStatus(call('GET', '/v1/printers', { key: keys.acme }), 200);
  const sent = await json<{ job: string }>(call('POST', `/v1/waybills/${created.id}/print`, { key: keys.acme, body: { printer: 'acme-line-1' } }), 200);
  await expectStatus(call('GET', `/v1/print-jobs/${sent.job}`, { key: keys.acme }), 200);
  const failed = await json<{ job: string }>(call('POST', `/v1/waybills/${created.id}/print`, { key: keys.acme, body: { printer: 'acme-dead' } }), 502);
  await expectStatus(call('GET', `/v1/print-jobs/${failed.job}`, { key: keys.acme }), 200);
  await expectStatus(call('POST', `/v1/print-jobs/${failed.job}/retry`, { key: keys.acme }), 502);
  await expectStatus(call('GET', '/v1/print-jobs/00000000-0000-4000-8000-000000000000', { key: keys.acme }), 404);
  await expectStatus(call('POST', `/v1/waybills/${created.id}/print`, { key: keys.acme, body: { printer: 'nobody' } }), 422);

  // Scan: 200, 400, 401, 404, 410, 403 (harvest suspension), 429 (per-minute limit).
  const token = created.qr.split('/').pop()!;
  await expectStatus(call('GET', `/v1/scan/${token}?purpose=delivery`, { key: keys.courier }), 200);
  await expectStatus(call('GET', `/v1/scan/${token}`, { key: keys.courier }), 400);
  await expectStatus(call('GET', `/v1/scan/${token}?purpose=delivery`), 401);
  await expectStatus(call('GET', '/v1/scan/AAAAAAAAAAAAAAAAAAAAAA?purpose=delivery', { key: keys.harvester }), 404);
  await expectStatus(call('GET', '/v1/scan/BBBBBBBBBBBBBBBBBBBBBB?purpose=delivery', { key: keys.harvester }), 404);
  await expectStatus(call('GET', `/v1/scan/${token}?purpose=delivery`, { key: keys.harvester }), 403);
  let limited = 0;
  for (let i = 0; i < 8 && limited === 0; i++) if ((await call('GET', `/v1/scan/${token}?purpose=pickup`, { key: keys.hasty })).status === 429) limited++;
  expect(limited).toBe(1);
  await expectStatus(call('GET', `/v1/scan/${doomed.qr.split('/').pop()!}?purpose=delivery`, { key: keys.courier }), 410);

  // Relay: resolve (bridge, reject, problems) and call receipts (201, 200 duplicate, 409, 422).
  const m = /^(\d{3}) (\d{4}) (\d{4}) 转 (\d+)$/.exec(created.relay.recipient ?? '');
  expect(m).not.toBeNull();
  const to = `+86${m![1]}${m![2]}${m![3]}`;
  const bridge = await json<{ action: string; bindingId: string }>(call('POST', '/v1/relay/resolve', { key: keys.pbx, body: { to, ext: m![4] } }), 200);
  expect(bridge.action).toBe('bridge');
  await expectStatus(call('POST', '/v1/relay/resolve', { key: keys.pbx, body: { to, ext: '9999' } }), 200);
  await expectStatus(call('POST', '/v1/relay/resolve', { key: keys.pbx, body: { to, ext: 'x' } }), 422);
  await expectStatus(call('POST', '/v1/relay/resolve', { key: 'wbt_nobody', body: { to, ext: '1' } }), 401);
  const receipt = { callId: `call-${process.pid}`, bindingId: bridge.bindingId, startedAt: '2026-05-05T09:12:03+08:00', endedAt: '2026-05-05T09:14:41+08:00' };
  await expectStatus(call('POST', '/v1/relay/calls', { key: keys.pbx, body: receipt }), 201);
  await expectStatus(call('POST', '/v1/relay/calls', { key: keys.pbx, body: receipt }), 200);
  await expectStatus(call('POST', '/v1/relay/calls', { key: keys.pbx, body: { ...receipt, releaseCause: 'busy' } }), 409);
  await expectStatus(call('POST', '/v1/relay/calls', { key: keys.pbx, body: { callId: '' } }), 422);

  // Webhooks: register (secret once), the problems, list, an event delivered and redelivered, rotation, removal.
  const hook = await json<{ id: string; secret: string }>(call('POST', '/v1/webhooks', { key: keys.acme, body: { url: hookUrl, events: ['waybill.created'] } }), 201);
  expect(hook.secret).toMatch(/^whsec_/);
  await expectStatus(call('POST', '/v1/webhooks', { key: keys.acme, body: { url: 'http://10.1.2.3/hooks' } }), 422);
  await expectStatus(call('POST', '/v1/webhooks', { key: keys.acme, body: '{"url":', headers: { 'content-type': 'application/json' } }), 400);
  await expectStatus(call('POST', '/v1/webhooks', { key: keys.courier, body: { url: hookUrl } }), 403);
  await expectStatus(call('POST', '/v1/webhooks', { body: { url: hookUrl } }), 401);
  await expectStatus(call('GET', '/v1/webhooks', { key: keys.acme }), 200);
  await expectStatus(call('GET', '/v1/webhooks', { key: keys.admin }), 200);
  await expectStatus(call('POST', '/v1/waybills', { key: keys.acme, body: order() }), 201);
  for (let i = 0; i < 400 && !(hookEvents[0] && (await services.webhooks.getEvent(hookEvents[0]))?.deliveredAt); i++) await new Promise((r) => setTimeout(r, 50));
  expect((await services.webhooks.getEvent(hookEvents[0]!))?.deliveredAt).toBeDefined();
  // The delivery keeps the document's `webhooks` entry for its type.
  const delivered = JSON.parse(hookBodies[0]!) as { type: string };
  const hookDoc = doc as unknown as { webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: { $ref: string } }> } } }>; components: { schemas: Record<string, unknown> } };
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  ajv.addSchema({ $id: 'https://contract.test/doc.json', components: hookDoc.components });
  const validate = ajv.compile({ $ref: `https://contract.test/doc.json${hookDoc.webhooks[delivered.type]!.post.requestBody.content['application/json']!.schema.$ref}` });
  expect({ valid: validate(delivered), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
  await expectStatus(call('POST', `/v1/webhook-events/${hookEvents[0]}/redeliver`, { key: keys.acme }), 202);
  await expectStatus(call('POST', '/v1/webhook-events/00000000-0000-4000-8000-000000000000/redeliver', { key: keys.acme }), 404);
  await expectStatus(call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { key: keys.acme }), 200);
  await expectStatus(call('DELETE', `/v1/webhooks/${hook.id}`, { key: keys.acme }), 204);
  await expectStatus(call('DELETE', `/v1/webhooks/${hook.id}`, { key: keys.acme }), 404);
  await expectStatus(call('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { key: keys.admin }), 404);

  // Parcel stations: an arrival (its pickup code, again: the same), verify (match, no match), the problems.
  keys.station = await credential('--role', 'station', '--name', 'station desk', '--station', 'hz-xh-0012');
  const parcel = await json<{ id: string; waybillNo: string; qr: string }>(call('POST', '/v1/waybills', { key: keys.acme, body: order() }), 201);
  await expectStatus(call('GET', `/v1/waybills/${parcel.id}/label?format=pdf`, { key: keys.acme }), 200);
  await expectStatus(call('POST', '/v1/stations/arrivals', { key: keys.station, body: { code: parcel.qr } }), 409); // not picked up yet
  await expectStatus(call('POST', `/v1/waybills/${parcel.waybillNo}/events`, { key: keys.admin, body: { type: 'picked_up' } }), 201);
  await expectStatus(call('POST', `/v1/waybills/${parcel.waybillNo}/arrivals`, { key: keys.station, body: {} }), 403); // by number: off by default
  const arrival = await json<{ pickupCode: string }>(call('POST', '/v1/stations/arrivals', { key: keys.station, body: { code: parcel.qr, shelf: 3, tier: 2 } }), 201);
  await expectStatus(call('POST', '/v1/stations/arrivals', { key: keys.station, body: { code: parcel.qr } }), 200);
  await expectStatus(call('POST', '/v1/stations/arrivals', { key: keys.station, body: { code: parcel.qr, tier: 12 } }), 422);
  await expectStatus(call('POST', '/v1/stations/arrivals', { key: keys.station, body: { code: 'https://scan.example.com/w/q7Zt2VxK9mPbR4nL8cYdWf' } }), 404);
  await expectStatus(call('POST', '/v1/stations/arrivals', { key: keys.acme, body: { code: parcel.qr } }), 403);
  await expectStatus(call('POST', '/v1/stations/arrivals', { body: { code: parcel.qr } }), 401);
  await expectStatus(call('POST', `/v1/waybills/${parcel.waybillNo}/arrivals`, {}), 401);
  // The alerts (admins): a page, a refused role, a bad parameter.
  const alerts = await json<{ items: { kind: string }[]; next: string | null }>(call('GET', '/v1/alerts?limit=5', { key: keys.admin }), 200);
  expect(alerts.items.map((a) => a.kind)).toContain('courier_suspended'); // the harvesting courier above
  await expectStatus(call('GET', '/v1/alerts', { key: keys.acme }), 403);
  await expectStatus(call('GET', '/v1/alerts?cursor=abc', { key: keys.admin }), 422);
  const phone = String((SAMPLE.recipient as { phone: string }).phone).replace(/[^0-9]/g, '').slice(-4);
  expect(await json<{ station: string }>(call('GET', '/v1/stations/current', { key: keys.station }), 200)).toEqual({ station: expect.any(String) });
  await expectStatus(call('GET', '/v1/stations/current', { key: keys.acme }), 403);
  await expectStatus(call('GET', '/v1/stations/current'), 401);
  expect((await json<{ match: boolean }>(call('POST', '/v1/stations/verify', { key: keys.station, body: { pickupCode: arrival.pickupCode, phoneLast4: phone } }), 200)).match).toBe(true);
  expect((await json<{ match: boolean }>(call('POST', '/v1/stations/verify', { key: keys.station, body: { waybillNo: parcel.waybillNo, phoneLast4: phone === '0000' ? '1111' : '0000' } }), 200)).match).toBe(false);
  await expectStatus(call('POST', '/v1/stations/verify', { key: keys.station, body: { phoneLast4: phone } }), 422);
  await expectStatus(call('POST', '/v1/stations/verify', { key: keys.station, body: '{"x":', headers: { 'content-type': 'application/json' } }), 400);
  await expectStatus(call('POST', '/v1/stations/verify', { key: keys.station, body: 'x', headers: { 'content-type': 'text/plain' } }), 415);
  await expectStatus(call('POST', '/v1/stations/verify', { key: keys.acme, body: { pickupCode: arrival.pickupCode, phoneLast4: phone } }), 403);
  await expectStatus(call('POST', '/v1/stations/verify', { body: { pickupCode: arrival.pickupCode, phoneLast4: phone } }), 401);
  await expectStatus(call('POST', `/v1/waybills/${parcel.waybillNo}/events`, { key: keys.station, body: { type: 'delivered' } }), 201);

  // Courier devices: a pairing code (admin), redeemed by a phone without a credential, the device's scan,
  // whoami and log-out, the device list and an admin revocation, and the problems.
  const rider = await credential('--role', 'courier', '--name', 'courier d', '--carrier', 'ZT', '--outlet', 'HZ-XH01', '--device', 'HH-4');
  const riderId = /^wbc_([a-z2-7]{10})_/.exec(rider)![1]!;
  const pairDevice = async (name: string) => {
    const pairing = await json<{ code: string }>(call('POST', `/v1/couriers/${riderId}/pairings`, { key: keys.admin }), 201);
    return json<{ credential: string; device: { id: string } }>(call('POST', '/v1/courier-devices', { body: { code: pairing.code, name } }), 201);
  };
  const used = await json<{ code: string }>(call('POST', `/v1/couriers/${riderId}/pairings`, { key: keys.admin }), 201);
  await expectStatus(call('POST', '/v1/courier-devices', { body: { code: used.code, name: '' } }), 422);
  await expectStatus(call('POST', '/v1/courier-devices', { body: '{"code":', headers: { 'content-type': 'application/json' } }), 400);
  await expectStatus(call('POST', '/v1/courier-devices', { body: 'code', headers: { 'content-type': 'text/plain' } }), 415);
  await expectStatus(call('POST', '/v1/courier-devices', { body: { code: used.code, name: 'Pixel 7' } }), 201);
  await expectStatus(call('POST', '/v1/courier-devices', { body: { code: used.code, name: 'Pixel 7' } }), 401);
  const handheld = await pairDevice('Pixel 7');
  await expectStatus(call('GET', `/v1/scan/${token}?purpose=delivery`, { key: handheld.credential }), 200);
  await expectStatus(call('GET', '/v1/courier-devices/current', { key: handheld.credential }), 200);
  await expectStatus(call('GET', '/v1/courier-devices/current', { key: rider }), 200);
  await expectStatus(call('GET', '/v1/courier-devices/current', { key: keys.acme }), 403);
  await expectStatus(call('DELETE', '/v1/courier-devices/current', { key: rider }), 409);
  await expectStatus(call('DELETE', '/v1/courier-devices/current', { key: handheld.credential }), 204);
  await expectStatus(call('DELETE', '/v1/courier-devices/current', { key: handheld.credential }), 401);
  await expectStatus(call('GET', `/v1/couriers/${riderId}/devices`, { key: keys.admin }), 200);
  await expectStatus(call('GET', '/v1/couriers/aaaaaaaaaa/devices', { key: keys.admin }), 404);
  await expectStatus(call('GET', `/v1/couriers/${riderId}/devices`, { key: keys.acme }), 403);
  await expectStatus(call('DELETE', `/v1/couriers/${riderId}/devices/${handheld.device.id}`, { key: keys.admin }), 204);
  await expectStatus(call('DELETE', `/v1/couriers/${riderId}/devices/aaaaaaaaaa`, { key: keys.admin }), 404);
  await expectStatus(call('POST', '/v1/couriers/aaaaaaaaaa/pairings', { key: keys.admin }), 404);
  await expectStatus(call('POST', `/v1/couriers/${/^wbc_([a-z2-7]{10})_/.exec(keys.harvester!)![1]}/pairings`, { key: keys.admin }), 409); // suspended above
  await expectStatus(call('POST', `/v1/couriers/${riderId}/pairings`), 401);

  // Whatever else is documented as a plain GET (new list resources): called as an admin and a warehouse.
  const seen = new Set(recorder.exchanges.map((e) => `${e.method} ${routeOf(doc, e.path)}`));
  for (const [route, methods] of Object.entries(doc.paths))
    if (methods.get && !route.includes('{') && !seen.has(`GET ${route}`)) {
      await call('GET', route, { key: keys.admin });
      await call('GET', route, { key: keys.acme });
    }

  expect(contractViolations(doc, recorder.exchanges)).toEqual([]);

  // Every documented operation was exercised, except those listed here with the reason.
  const exercised = new Set(recorder.exchanges.map((e) => `${e.method.toLowerCase()} ${routeOf(doc, e.path)}`));
  const missing = Object.entries(doc.paths).flatMap(([route, methods]) => Object.keys(methods).map((m) => `${m} ${route}`)).filter((op) => !exercised.has(op));
  if (missing.length) console.warn(`operations the contract scenario does not exercise yet: ${missing.join(', ')}`);
  for (const op of ['post /v1/waybills', 'get /v1/waybills/{id}', 'get /v1/waybills/{id}/label', 'post /v1/waybills/{id}/events', 'post /v1/waybills/{id}/print', 'post /v1/batches', 'post /v1/previews', 'get /v1/printers', 'get /v1/print-jobs/{job}', 'post /v1/print-jobs/{job}/retry', 'get /v1/scan/{token}', 'post /v1/relay/resolve', 'post /v1/relay/calls', 'post /v1/webhooks', 'get /v1/webhooks', 'delete /v1/webhooks/{id}', 'post /v1/webhooks/{id}/rotate-secret', 'post /v1/webhook-events/{eventId}/redeliver', 'post /v1/waybills/{no}/arrivals', 'post /v1/stations/arrivals', 'get /v1/alerts', 'post /v1/stations/verify', 'get /v1/stations/current', 'post /v1/couriers/{id}/pairings', 'get /v1/couriers/{id}/devices', 'delete /v1/couriers/{id}/devices/{deviceId}', 'post /v1/courier-devices', 'get /v1/courier-devices/current', 'delete /v1/courier-devices/current'])
    expect(exercised).toContain(op);
});

test('every operation documents its bodies with examples, and every /v1 operation its client errors', async () => {
  const doc = await json<Doc>(call('GET', '/openapi.json'), 200);
  const gaps: string[] = [];
  for (const [route, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const where = `${method.toUpperCase()} ${route}`;
      for (const [media, m] of Object.entries(op.requestBody?.content ?? {})) if (m.example === undefined) gaps.push(`${where}: request ${media} has no example`);
      const ok = Object.entries(op.responses).filter(([s]) => /^2/.test(s));
      if (!ok.length) gaps.push(`${where}: no success answer`);
      for (const [status, r] of Object.entries(op.responses)) {
        const described = Object.entries(r.content ?? {}).filter(([media]) => /json|html|text\/plain/.test(media));
        for (const [media, m] of described) if (m.example === undefined && m.examples === undefined) gaps.push(`${where} ${status}: ${media} has no example`);
      }
      if (route.startsWith('/v1/') && !Object.keys(op.responses).some((s) => /^4/.test(s))) gaps.push(`${where}: no 4xx answer`);
      if (['post', 'put', 'patch'].includes(method) && !op.requestBody && !/retry|rotate|redeliver|pairings/.test(route)) gaps.push(`${where}: no request body documented`);
    }
  expect(gaps).toEqual([]);
});

test('/docs renders the reference from a renderer served here: no other host, a strict CSP, a long-cached bundle', async () => {
  const page = await call('GET', '/docs');
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/https?:|unsafe-inline|unsafe-eval|\*/);
  const html = await page.text();
  // Every URL the page names is on this origin: no CDN, no outside host.
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(urls.length).toBeGreaterThanOrEqual(3);
  for (const u of urls) expect(u).toMatch(/^\/(?!\/)/);
  expect(html).not.toMatch(/https?:\/\//);
  for (const u of urls.filter((u) => u.endsWith('.js') || u.endsWith('.css'))) {
    const asset = await call('GET', u);
    expect({ u, status: asset.status }).toEqual({ u, status: 200 });
    expect(asset.headers.get('content-type')).toMatch(u.endsWith('.js') ? /^(text|application)\/javascript/ : /^text\/css/);
    if (u.startsWith('/docs/assets/')) expect(asset.headers.get('cache-control')).toMatch(/max-age=\d{6,}/);
  }
  const bundle = await (await call('GET', '/docs/assets/swagger-ui-bundle.js')).text();
  expect(bundle).toContain('SwaggerUIBundle');
  const init = await (await call('GET', '/docs/init.js')).text();
  expect(init).toContain("url: '/openapi.json'");
  expect(init).toContain('validatorUrl: null');
  // Only the renderer's own files are served, nothing else of the package.
  expect((await call('GET', '/docs/assets/index.html')).status).toBe(404);
  expect((await call('GET', '/docs/assets/package.json')).status).toBe(404);
});

test('the contract check finds an undocumented status, a wrong media type, a missing field and an extra one', async () => {
  const doc = await json<Doc>(call('GET', '/openapi.json'), 200);
  const answer = (status: number, mediaType: string, body: unknown) => ({ method: 'GET', path: '/v1/printers', status, mediaType, body: Buffer.from(JSON.stringify(body)) });
  const found = contractViolations(doc, [
    answer(200, 'application/json', { printers: [] }),
    answer(418, 'application/json', {}),
    answer(200, 'text/csv', {}),
    answer(200, 'application/json', { printers: [{ name: 'x', language: 'zpl' }] }),
    answer(200, 'application/json', { printers: [], secret: 'x' }),
    { ...answer(200, 'application/json', {}), path: '/v2/nothing' },
  ]);
  expect(found).toEqual([
    expect.stringContaining('status 418 is not documented'),
    expect.stringContaining('media type text/csv is not documented'),
    expect.stringMatching(/\/printers\/0 required .*dpi/),
    expect.stringContaining('additionalProperties'),
    expect.stringContaining('no such operation'),
  ]);
});
