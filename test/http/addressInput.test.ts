// The warehouse API with the address forms order systems send, on a real server: a one-line address
// is split into canonical divisions (and reported with its code), a division field holding a street
// or an ambiguous line is a 422 naming the field path, in single creates and batches, never quoting it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { expectAbsent } from '../support/expectAbsent';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'orders.json'), 'utf8'))[0] as Record<string, any>;

let dir: string;
let services: Services;
let running: RunningService;
let key: string;
let seq = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-address-api-'));
  services = await openServices(loadConfig({ WAYBILL_DATA_DIR: dir }), () => {});
  running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough());
  const lines: string[] = [];
  await apiKeyCommand(['create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'], services, (l) => lines.push(l));
  key = /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
});

afterAll(async () => {
  await running.shutdown();
  await services.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const withRecipientAddress = (address: unknown) => ({ ...SAMPLE, orderId: `ADDR-${++seq}`, routingCode: undefined, recipient: { ...SAMPLE.recipient, address } });

function post(route: string, body: unknown) {
  return fetch(`${running.url}${route}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
}

describe('address input over the API', () => {
  it('takes a one-line address and answers with the canonical divisions and their code', async () => {
    const res = await post('/v1/waybills', withRecipientAddress('北京北京市朝阳区建国路93号万达广场8号楼2105室'));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { recipient: unknown; copies: { copy: string; fields: Record<string, string> }[] };
    expect(body.recipient).toEqual({ area: '北京市 朝阳区', areaCode: '110105' });
    expect(body.copies.find((c) => c.copy === 'courier')!.fields.routingCode).toBe('北京 朝阳区');
    expectAbsent(JSON.stringify(body), ['建国路', '2105'], 'the answer');
  });

  it('refuses a street in the district field with 422 and the field path, without quoting it', async () => {
    const res = await post('/v1/waybills', withRecipientAddress({ ...SAMPLE.recipient.address, district: '西湖区文三路90号5幢2单元1102室' }));
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(JSON.parse(text).errors).toEqual([{ index: 0, path: 'recipient.address.district', message: expect.stringMatching(/only the division name/) }]);
    expectAbsent(text, ['文三路', '1102', '西湖区'], 'the answer');
  });

  it('refuses an ambiguous line in a batch, naming the order index and path', async () => {
    const res = await post('/v1/batches', { orders: [withRecipientAddress('浙江省杭州市西湖区文三路90号'), withRecipientAddress('鼓楼区中山路1号501室')] });
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(JSON.parse(text).errors).toEqual([{ index: 1, path: 'recipient.address', message: expect.stringMatching(/several places/) }]);
    expectAbsent(text, ['中山路', '501'], 'the answer');
  });
});
