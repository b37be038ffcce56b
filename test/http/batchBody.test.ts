// An NDJSON batch body is read as it arrives, through the real server: each line is parsed and validated
// then let go, so a bad line or one order too many is answered while the client is still uploading, and
// whatever way the bytes are cut into chunks, the orders come out whole. Content encodings, the byte
// order mark and CRLF line ends are taken as express's own parsers take them; bytes that are no UTF-8
// are refused; an upload cut off after whole lines prints nothing. A JSON batch is read by the same reader,
// parsed whole, and validated in turns, so other requests are served meanwhile.

import http from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import { jsonOrders } from '../../src/http/body';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { STORE_BACKENDS } from '../support/storeBackends';
import { SAMPLE_ORDERS } from '../support/samples';

jest.setTimeout(60_000);

const MAX_ORDERS = 20;
const sqlite = STORE_BACKENDS.find(([name]) => name === 'SQLite')![1];

let w: ApiWorld;
let seq = 0;

beforeAll(async () => {
  w = await startApiWorld(sqlite, { WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002', WAYBILL_BATCH_MAX_ORDERS: String(MAX_ORDERS), WAYBILL_LOG_LEVEL: 'silent' });
});

afterAll(async () => {
  await stopApiWorld(w);
});

/** `n` orders from the samples (Chinese names and addresses: characters of three UTF-8 bytes) with ids of their own. */
function orders(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({ ...SAMPLE_ORDERS[i % SAMPLE_ORDERS.length]!, orderId: `BB-${process.pid}-${++seq}` }));
}

const lines = (list: Record<string, unknown>[], end = '\n') => list.map((o) => JSON.stringify(o) + end).join('');

interface Answer {
  status: number;
  body: string;
}

/** A batch upload the test writes itself, piece by piece; `answer` settles when the response is complete. */
function upload(headers: Record<string, string> = {}, agent?: http.Agent): { req: http.ClientRequest; answer: Promise<Answer> } {
  const url = new URL('/v1/batches?template=cn-1ply-76x130', w.running.url);
  const req = http.request(url, {
    method: 'POST',
    agent,
    headers: { authorization: `Bearer ${w.acme}`, 'content-type': 'application/x-ndjson', ...headers },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { req, answer };
}

async function created(list: Record<string, unknown>[]): Promise<number> {
  let n = 0;
  for (const o of list) if (await w.services.store.findWaybillByClientOrder('acme', String(o.orderId))) n++;
  return n;
}

it('takes orders whole however the bytes are cut: lines and characters split across chunks, CRLF, a byte order mark', async () => {
  const list = orders(6);
  const bytes = Buffer.from(`\ufeff${lines(list.slice(0, 3), '\r\n')}\n${lines(list.slice(3))}`, 'utf8');
  const { req, answer } = upload();
  // Seven bytes at a time, each on a turn of its own: most of the three-byte characters are cut.
  for (let at = 0; at < bytes.length; at += 7) {
    req.write(bytes.subarray(at, at + 7));
    await new Promise((resolve) => setImmediate(resolve));
  }
  req.end();
  const { status } = await answer;
  expect(status).toBe(201);
  expect(await created(list)).toBe(list.length);
});

it('takes lines ended by CR alone (old Mac exports), as an order file does, and a CR LF cut between two pieces as one line end', async () => {
  const list = orders(4);
  const [o1, o2, o3, o4] = list.map((o) => JSON.stringify(o));
  const { req, answer } = upload();
  req.write(`${o1}\r${o2}\r`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  req.end(`\n${o3}\r${o4}\r`);
  expect((await answer).status).toBe(201);
  expect(await created(list)).toBe(4);
  // Lines are counted as the client wrote them: a CR LF is one line end, so the broken line is the second.
  const bad = orders(2).map((o) => JSON.stringify(o));
  const refused = upload();
  refused.req.write(`${bad[0]}\r`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  refused.req.end(`\n{"orderId": \r${bad[1]}\r`);
  const { status, body } = await refused.answer;
  expect([status, JSON.parse(body).detail]).toEqual([422, 'line 2 is not valid JSON']);
});

it('answers a line that is no JSON while the client is still uploading, naming the line', async () => {
  const list = orders(3);
  const { req, answer } = upload();
  req.write(lines(list.slice(0, 2)) + '{"orderId": \n');
  // The body is not finished: only a reader that goes line by line can answer now.
  const { status, body } = await answer;
  req.end(lines(list.slice(2)));
  expect(status).toBe(422);
  expect(JSON.parse(body)).toMatchObject({ detail: 'line 3 is not valid JSON' });
  expect(await created(list)).toBe(0);
});

it('answers one order too many with 413 before the upload ends, and the connection serves the next request', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const list = orders(MAX_ORDERS + 1);
    const { req, answer } = upload({}, agent);
    req.write(lines(list));
    const { status, body } = await answer;
    // The rest of the body still arrives and is read off.
    req.end(lines(orders(50)));
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ detail: `a batch holds at most ${MAX_ORDERS} orders` });
    expect(await created(list)).toBe(0);

    const next = upload({}, agent);
    const fine = orders(2);
    next.req.end(lines(fine));
    expect((await next.answer).status).toBe(201);
    expect(await created(fine)).toBe(2);
  } finally {
    agent.destroy();
  }
});

it('reads a gzip- or deflate-encoded body like a plain one, and refuses encodings it does not know', async () => {
  for (const encoding of ['gzip', 'deflate'] as const) {
    const list = orders(3);
    const { req, answer } = upload({ 'content-encoding': encoding });
    const plain = Buffer.from(lines(list));
    req.end(encoding === 'gzip' ? gzipSync(plain) : deflateSync(plain));
    expect((await answer).status).toBe(201);
    expect(await created(list)).toBe(3);
  }
  const broken = upload({ 'content-encoding': 'gzip' });
  broken.req.end(Buffer.from(lines(orders(1))));
  expect((await broken.answer).status).toBe(400);
  const unknown = upload({ 'content-encoding': 'zstd' });
  unknown.req.end(Buffer.from(lines(orders(1))));
  expect((await unknown.answer).status).toBe(415);
});

it('reads a JSON batch with the same reader: compressed, strict JSON, UTF-8 only', async () => {
  const json = { 'content-type': 'application/json' };
  const list = orders(3);
  const zipped = upload({ ...json, 'content-encoding': 'gzip' });
  zipped.req.end(gzipSync(Buffer.from(JSON.stringify({ orders: list }))));
  expect((await zipped.answer).status).toBe(201);
  expect(await created(list)).toBe(3);
  for (const [body, status] of [['"orders"', 400], ['{"orders": [', 400], ['', 422], [JSON.stringify(orders(MAX_ORDERS + 1)), 413]] as const) {
    const { req, answer } = upload(json);
    req.end(body);
    expect((await answer).status).toBe(status);
  }
  const text = Buffer.from(JSON.stringify(orders(1)));
  const bad = upload(json);
  bad.req.end(Buffer.concat([text.subarray(0, 30), Buffer.from([0xff]), text.subarray(30)]));
  const { status, body } = await bad.answer;
  expect(status).toBe(400);
  expect(JSON.parse(body)).toMatchObject({ detail: 'the body is not UTF-8 text' });
});

it('refuses bytes that are no UTF-8 text without quoting them', async () => {
  const list = orders(2);
  const text = Buffer.from(lines(list));
  const { req, answer } = upload();
  req.end(Buffer.concat([text.subarray(0, 40), Buffer.from([0xc0, 0xaf]), text.subarray(40)]));
  const { status, body } = await answer;
  expect(status).toBe(400);
  expect(JSON.parse(body)).toMatchObject({ detail: 'the body is not UTF-8 text' });
  expect(await created(list)).toBe(0);
});

it('prints nothing of an upload cut off after whole lines', async () => {
  const list = orders(3);
  const text = lines(list);
  const { req, answer } = upload({ 'content-length': String(Buffer.byteLength(text) + 1000) });
  answer.catch(() => undefined);
  req.write(text);
  await new Promise((resolve) => setTimeout(resolve, 200));
  req.destroy();
  // The service notices the cut; whatever it had read is dropped.
  const health = await fetch(`${w.running.url}/healthz`);
  expect(health.status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await created(list)).toBe(0);
});

it('validates a long JSON batch in turns of the event loop, so other requests are served meanwhile', async () => {
  const list = orders(1000);
  let validated: number | undefined;
  let servedMeanwhile = false;
  const validating = jsonOrders({ orders: list }, 10_000, false).then((valid) => (validated = valid.length));
  setImmediate(() => (servedMeanwhile = validated === undefined));
  await validating;
  expect(validated).toBe(1000);
  expect(servedMeanwhile).toBe(true);
});

it('refuses a batch that repeats an order id as its own mistake (422 naming the order), and an id that has a waybill as a conflict (409)', async () => {
  const [first, second] = orders(2);
  const { req, answer } = upload();
  req.end(lines([first!, second!, { ...second!, carrier: 'SF' }]));
  const repeated = await answer;
  expect(repeated.status).toBe(422);
  expect(JSON.parse(repeated.body)).toMatchObject({ detail: 'some order ids are repeated in this request', errors: [{ index: 2, path: 'orderId', message: 'order id repeated in this request' }] });
  expect(await created([first!, second!])).toBe(0);

  const once = upload();
  once.req.end(lines([first!]));
  expect((await once.answer).status).toBe(201);
  const again = upload();
  again.req.end(lines([second!, first!]));
  const known = await again.answer;
  expect(known.status).toBe(409);
  expect(JSON.parse(known.body)).toMatchObject({ errors: [{ index: 1, path: 'orderId', message: expect.stringMatching(/^a waybill exists for this order id/) }] });
});

