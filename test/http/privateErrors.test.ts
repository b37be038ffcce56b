// Over the HTTP API, a 422 names where the input is wrong, never what it holds: an unknown property whose
// name is personal data ({"欧阳晓岚13962584017": …}) comes back as "unknown property" at its object,
// and the key appears nowhere in the answer, for single orders, batches and relay call receipts alike.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';

jest.setTimeout(60_000);

const PERSONAL_KEY = '欧阳晓岚13962584017';
const SECRETS = ['欧阳', '晓岚', '13962584017', '1396', '4017', '\\u6b27'];

const ORDER = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'samples', 'orders.ndjson'), 'utf8').split('\n')[0]!) as Record<string, any>;

let dir: string;
let services: Services;
let running: RunningService;
let warehouse: string;
let telephony: string;

async function credential(...args: string[]): Promise<string> {
  const lines: string[] = [];
  expect(await apiKeyCommand(['create', ...args], services, (l) => lines.push(l))).toBe(0);
  return /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-private-errors-'));
  services = await openServices(loadConfig({ WAYBILL_DATA_DIR: dir, WAYBILL_RELAY_NUMBERS: '+8617000000001' }), () => {});
  running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
  warehouse = await credential('--role', 'warehouse', '--name', 'acme wms', '--client', 'acme');
  telephony = await credential('--role', 'telephony', '--name', 'pbx');
});

afterAll(async () => {
  await running.shutdown();
  await services.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Posts JSON, expects 422 and a body that holds no part of the key (not even JSON-escaped), and returns it. */
async function refused(route: string, key: string, body: unknown): Promise<{ errors: { path: string; message: string }[] }> {
  const res = await fetch(`${running.url}${route}`, {
    method: 'POST',
    // A request id of our own: a random one may hold "1396" or "4017" by chance.
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-request-id': 'private-errors' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(422);
  const text = await res.text();
  for (const secret of SECRETS) expect(text.includes(secret) ? `body holds ${secret}` : 'clean').toBe('clean');
  return JSON.parse(text) as { errors: { path: string; message: string }[] };
}

const withKey = (target: Record<string, unknown>) => ({ ...target, [PERSONAL_KEY]: 'x' });

describe('unknown properties over HTTP are reported by path, never by name', () => {
  it.each([
    ['the order', (o: any) => withKey(o), ''],
    ['the recipient', (o: any) => ({ ...o, recipient: withKey(o.recipient) }), 'recipient'],
    ['the recipient address', (o: any) => ({ ...o, recipient: { ...o.recipient, address: withKey(o.recipient.address) } }), 'recipient.address'],
  ])('POST /v1/waybills, in %s', async (_where, patch, path) => {
    const problem = await refused('/v1/waybills', warehouse, patch({ ...ORDER, orderId: `PE-${path}` }));
    expect(problem.errors).toEqual([expect.objectContaining({ path, message: 'unknown property' })]);
  });

  it('POST /v1/batches names the order index and the path', async () => {
    const bad = { ...ORDER, orderId: 'PE-batch-2', sender: withKey(ORDER.sender) };
    const problem = await refused('/v1/batches', warehouse, { orders: [{ ...ORDER, orderId: 'PE-batch-1' }, bad] });
    expect(problem.errors).toEqual([{ index: 1, path: 'sender', message: 'unknown property' }]);
  });

  it('POST /v1/relay/calls', async () => {
    const at = '2026-01-01T00:00:00.000Z';
    const problem = await refused('/v1/relay/calls', telephony, withKey({ callId: 'c-1', startedAt: at, answeredAt: at, endedAt: at }));
    expect(problem.errors).toEqual([{ path: '', message: 'unknown property' }]);
  });
});
