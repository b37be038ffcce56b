// The warehouse API against a real server on an ephemeral port, as integrators use it: keys from the
// CLI, orders in, labels out, the QR read back from the printed PDF, a courier scan, delivery, and the
// waybill gone after retention. Also idempotency, tenant isolation, every error status, and logs free of
// personal data.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { parsePhoneNumber } from 'libphonenumber-js/max';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { purgeCommand } from '../../src/cli/lifecycleCommands';
import { printerCommand } from '../../src/cli/printerCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { openServices, type Services } from '../../src/wiring';
import { encodePng } from '../../src/render/pngEncoder';
import { decodeBarcodes } from '../support/barcodes';
import { decodeTspl, decodeZpl } from '../support/printerDecoders';
import { expectAbsent } from '../support/expectAbsent';
import { fakePrinter, type FakePrinter } from '../support/fakePrinter';
import { pdfPageCount, pdfText, rasterisePdf } from '../support/pdfProbe';
import { ContractRecorder, contractFetch, contractViolations, type ApiDocument } from '../support/contract';
import { openApiDocument } from '../../src/http/openapi';
import { SAMPLE_ORDERS as SAMPLES, ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(120_000);

// Every answer these tests get through call() must keep the API document (the contract test).
const contract = new ContractRecorder();
const recordedFetch = contractFetch(contract);
afterAll(() => {
  expect(contractViolations(openApiDocument() as ApiDocument, contract.exchanges)).toEqual([]);
});


interface World {
  dir: string;
  services: Services;
  running: RunningService;
  url: string;
  logs: string[];
  keys: Record<'acme' | 'acmePrinter' | 'other' | 'admin' | 'courier', string>;
}

async function credential(services: Services, ...args: string[]): Promise<string> {
  const lines: string[] = [];
  expect(await apiKeyCommand(['create', ...args], services, (l) => lines.push(l))).toBe(0);
  return /^(wb[ckt]_\S+)$/m.exec(lines.join('\n'))![1]!;
}

async function startWorld(env: Record<string, string> = {}): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-api-'));
  const config = loadConfig({ WAYBILL_DATA_DIR: dir, WAYBILL_RELAY_NUMBERS: '+8617000000001', WAYBILL_RETENTION_GRACE_DAYS: '0', ...env });
  const services = await openServices(config, () => {});
  const logs: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => logs.push(c.toString('utf8')));
  const running = await serveCommand(['--port', '0'], services, (l) => logs.push(l), stream);
  const keys = {
    acme: await credential(services, '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'),
    acmePrinter: await credential(services, '--role', 'printer', '--name', 'acme line 1', '--client', 'acme'),
    other: await credential(services, '--role', 'warehouse', '--name', 'other wms', '--client', 'other'),
    admin: await credential(services, '--role', 'admin', '--name', 'ops'),
    courier: await credential(services, '--role', 'courier', '--name', '张师傅', '--carrier', 'ZT', '--outlet', 'HZ-XH01', '--device', 'HH-1'),
  };
  return { dir, services, running, url: running.url, logs, keys };
}

async function stopWorld(w: World): Promise<void> {
  await w.running.shutdown();
  await w.services.close();
  fs.rmSync(w.dir, { recursive: true, force: true });
}

let orderSeq = 0;
const order = (base: Record<string, unknown> = ZT): Record<string, unknown> => ({ ...base, orderId: `T-${process.pid}-${++orderSeq}` });

function call(w: World, method: string, route: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
  return recordedFetch(`${w.url}${route}`, { method, headers, ...(body !== undefined ? { body } : {}) });
}

async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await res.json()) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, requestId: res.headers.get('x-request-id') });
  expect(typeof problem.detail).toBe('string');
  return problem;
}

async function savePdf(w: World, res: Response, name: string): Promise<string> {
  const file = path.join(w.dir, name);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

describe('warehouse API', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
  });
  afterAll(() => stopWorld(w));

  it('takes an order to a printed label whose QR a courier exchanges, until delivery and retention end it', async () => {
    const created = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order(), headers: { accept: 'application/pdf' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toBe('application/pdf');
    const location = created.headers.get('location')!;
    expect(location).toMatch(/^\/v1\/waybills\/[0-9a-f-]{36}$/);
    const pdf = await savePdf(w, created, 'created.pdf');
    expect(await pdfPageCount(pdf)).toBe(4); // cn-4copy: one label per copy

    const [courierPage] = await rasterisePdf(pdf, 203);
    const symbols = await decodeBarcodes(courierPage!);
    const qr = symbols.find((s) => s.format === 'QR_CODE')!.text;
    const view = (await (await call(w, 'GET', location, { key: w.keys.acme })).json()) as { waybillNo: string; shows: Record<string, string> };
    expect(symbols.find((s) => s.format === 'CODE_128')?.text).toBe(view.waybillNo);
    expect(qr).toMatch(/^https:\/\/scan\.example\.com\/w\/[A-Za-z0-9_-]+$/);

    const token = qr.split('/').pop()!;
    const scanned = await call(w, 'GET', `/v1/scan/${token}?purpose=delivery`, { key: w.keys.courier });
    expect(scanned.status).toBe(200);
    expect(((await scanned.json()) as { waybillNo: string }).waybillNo).toBe(view.waybillNo);

    // Custody: the courier scans for pickup, picks up, then delivers.
    expect((await call(w, 'GET', `/v1/scan/${token}?purpose=pickup`, { key: w.keys.courier })).status).toBe(200);
    expect((await call(w, 'POST', `/v1/waybills/${view.waybillNo}/events`, { key: w.keys.courier, body: { type: 'picked_up' } })).status).toBe(201);
    const delivered = await call(w, 'POST', `/v1/waybills/${view.waybillNo}/events`, { key: w.keys.courier, body: { type: 'delivered' } });
    expect(delivered.status).toBe(201);
    expect(await purgeCommand(w.services, () => {})).toBe(0); // retention grace is 0 days here
    await expectProblem(await call(w, 'GET', `/v1/scan/${token}?purpose=delivery`, { key: w.keys.courier }), 410);
    await expectProblem(await call(w, 'GET', `${location}/label`, { key: w.keys.acme }), 410);
    const after = (await (await call(w, 'GET', location, { key: w.keys.acme })).json()) as { status: string; purgedAt?: string; shows?: unknown };
    expect(after).toMatchObject({ status: 'delivered' });
    expect(after.purgedAt).toBeDefined();
    expect(after.shows).toBeUndefined();
  });

  it('answers a create in JSON with what each copy shows, the QR payload and relay numbers, then prints label 1, then reprints', async () => {
    const res = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order() });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; qr: string; relay: Record<string, string>; copies: { copy: string; copyCode?: string; fields: Record<string, string> }[] };
    expect(body.copies.map((c) => c.copy)).toEqual(['courier', 'recipient', 'office', 'sender']);
    expect(body.copies.every((c) => c.copyCode === undefined)).toBe(true); // a preview: nothing on paper yet
    expect(body.relay.recipient).toMatch(/^170 0000 0001 转 \d{4}$/);
    expect(body.copies[0]!.fields['recipient.phone']).toBe(body.relay.recipient);
    expect(body.qr).toMatch(/^https:\/\/scan\.example\.com\/w\//);

    const first = await call(w, 'GET', `/v1/waybills/${body.id}/label?copies=courier&dpi=300`, { key: w.keys.acmePrinter });
    expect(first.headers.get('x-print-number')).toBe('1');
    expect(await pdfText(await savePdf(w, first, 'first.pdf'))).not.toMatch(/重印/);
    const again = await call(w, 'GET', `/v1/waybills/${body.id}/label?copies=courier`, { key: w.keys.acmePrinter });
    expect(again.headers.get('x-print-number')).toBe('2');
    expect(await pdfText(await savePdf(w, again, 'again.pdf'))).toMatch(/重印 第1次/); // the second paper is reprint 1
    const trail = await w.services.audit.forWaybill(((await (await call(w, 'GET', `/v1/waybills/${body.id}`, { key: w.keys.admin })).json()) as { waybillNo: string }).waybillNo);
    expect(trail.map((r) => r.action)).toEqual(['create', 'print', 'reprint']);
  });

  it('replays an Idempotency-Key with the same bytes, no longer once its waybill is cancelled, and makes one waybill of 50 concurrent retries', async () => {
    const o = order();
    const headers = { 'idempotency-key': `key-${orderSeq}-aaaaaaaa`, accept: 'application/pdf' };
    const a = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers });
    const b = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(Buffer.from(await b.arrayBuffer()).equals(Buffer.from(await a.arrayBuffer()))).toBe(true);
    // The replay gave the first paper out again: audited as that print, replayed.
    const id = a.headers.get('location')!.split('/').pop()!;
    const { waybillNo } = (await w.services.store.findWaybillById(id))!;
    expect((await w.services.audit.forWaybill(waybillNo)).map((r) => `${r.action} ${r.outcome}`)).toEqual(['print ok', 'print replayed']);
    // Cancelled, the waybill's paper is no longer given out, replayed or not.
    expect((await call(w, 'POST', `/v1/waybills/${id}/events`, { key: w.keys.acme, body: { type: 'cancelled' } })).status).toBe(201);
    // (409 cancelled, or 410 once past its life: with this service's retention, as the label answers.)
    const refused = (await call(w, 'GET', `/v1/waybills/${id}/label`, { key: w.keys.acme })).status;
    expect([409, 410]).toContain(refused);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers }), refused);
    const jsonHeaders = { 'idempotency-key': `json-${orderSeq}-aaaaaaaa` };
    const o3 = order();
    const created = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o3, headers: jsonHeaders });
    expect((await call(w, 'POST', `/v1/waybills/${created.headers.get('location')!.split('/').pop()}/events`, { key: w.keys.acme, body: { type: 'cancelled' } })).status).toBe(201);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o3, headers: jsonHeaders }), refused);

    const o2 = order();
    const burst = await Promise.all(
      Array.from({ length: 50 }, () => call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o2, headers: { 'idempotency-key': `burst-${o2.orderId}` } })),
    );
    expect(burst.map((r) => r.status)).toEqual(Array(50).fill(201));
    const ids = new Set(await Promise.all(burst.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(await w.services.store.findWaybillByClientOrder('acme', String(o2.orderId))).toMatchObject({ id: [...ids][0] });
  });

  it('gives an Idempotency-Key one guess: used with another order it is refused, audited, and replays nothing after', async () => {
    const o = order();
    const headers = { 'idempotency-key': `guess-${orderSeq}-aaaaaaaa` };
    expect((await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers })).status).toBe(201);
    // A key holder trying the order with another phone: were it the first order's, the replay would give its tokens out.
    const guessed = { ...o, recipient: { ...(o.recipient as object), phone: '13962584010' } };
    const refused = await expectProblem(await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: guessed, headers }), 422);
    expect(refused.errors).toEqual([{ path: 'Idempotency-Key', message: expect.stringMatching(/^already used with another body, format or template: it no longer replays/) }]);
    // From then on the first order itself gets no replay either.
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers }), 422);
    const db = new Database(path.join(w.dir, 'waybill.db'), { readonly: true });
    const records = db.prepare("SELECT actor, outcome, waybill_no FROM audit_log WHERE action = 'refuse' AND outcome = 'idempotency_mismatch' ORDER BY seq").all();
    expect(records.slice(-2)).toEqual([
      { actor: expect.stringMatching(/^warehouse:/), outcome: 'idempotency_mismatch', waybill_no: null },
      { actor: expect.stringMatching(/^warehouse:/), outcome: 'idempotency_mismatch', waybill_no: null },
    ]);
    const kept = db.prepare('SELECT body FROM idempotency_keys WHERE key = ?').get(headers['idempotency-key']);
    db.close();
    expect(kept).toEqual({ body: null }); // the first answer (its QR token) is not kept either
  });

  it('says in Waybill-Warnings what a label could not draw: on the created PDF, its replay and a reprint', async () => {
    const o = order({ ...ZT, parcel: { ...(ZT.parcel as object), contents: '服装🎁' } }); // the font has no emoji
    const glyphs = ['courier', 'recipient', 'office', 'sender'].map((copy) => `order 0: ${copy} copy: parcel.contents has 1 character(s) the font cannot draw`);
    const headers = { 'idempotency-key': `warn-${orderSeq}-aaaaaaaa`, accept: 'application/pdf' };
    const created = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers });
    const replayed = await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    for (const res of [created, replayed]) expect(res.headers.get('waybill-warnings')).toBe(glyphs.join(', '));
    const id = created.headers.get('location')!.split('/').pop()!;
    const reprint = await call(w, 'GET', `/v1/waybills/${id}/label?copies=courier`, { key: w.keys.acme });
    expect(reprint.headers.get('waybill-warnings')).toBe('courier copy: parcel.contents has 1 character(s) the font cannot draw');
    // An order the font draws whole has no such header.
    expect((await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order(), headers: { accept: 'application/pdf' } })).headers.has('waybill-warnings')).toBe(false);
  });

  it('negotiates raster labels: Accept image/png with a dpi parameter gives a 1-bit PNG at that resolution', async () => {
    const res = await call(w, 'POST', '/v1/waybills?copies=courier', { key: w.keys.acme, body: order(), headers: { accept: 'application/pdf;q=0.5, image/png;dpi=300' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await res.arrayBuffer());
    expect(png.readUInt32BE(16)).toBe(Math.round((100 * 300) / 25.4)); // IHDR width: 100 mm at 300 dpi
    const symbols = await decodeBarcodes(png);
    expect(symbols.map((s) => s.format).sort()).toEqual(['CODE_128', 'QR_CODE']);
    await expectProblem(await call(w, 'POST', '/v1/batches?format=png', { key: w.keys.acme, body: { orders: [order(), order()] } }), 406);
  });

  it.each([
    ['text/zpl; dpi=300', 'application/vnd.zebra.zpl', decodeZpl],
    ['application/vnd.tsc.tspl', 'application/vnd.tsc.tspl', decodeTspl],
  ] as const)('answers %s with printer commands whose raster holds the barcodes and no personal text', async (accept, type, decode) => {
    const o = order();
    const res = await call(w, 'POST', '/v1/waybills?copies=courier,recipient', { key: w.keys.acme, body: o, headers: { accept } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe(type);
    const bytes = Buffer.from(await res.arrayBuffer());
    const people = ['sender', 'recipient'].map((who) => o[who] as { name: string; phone: string; address: { street: string } });
    expectAbsent(bytes.toString('latin1'), people.flatMap((p) => [p.name, p.phone.replace(/\D/g, '').slice(-8), p.address.street]), 'printer commands');
    const labels = decode(bytes);
    expect(labels).toHaveLength(2);
    const symbols = await decodeBarcodes(encodePng([labels[0]!], accept.includes('300') ? 300 : 203));
    expect(symbols.map((s) => s.format).sort()).toEqual(['CODE_128', 'QR_CODE']);
  });

  it('keeps order ids unique per client: a second create points at the first waybill', async () => {
    const o = order();
    const first = (await (await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o })).json()) as { id: string };
    const again = await expectProblem(await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o, headers: { 'idempotency-key': 'another-key-123' } }), 409);
    expect(again.detail).toContain(`/v1/waybills/${first.id}`);
    // Another client may use the same order id: it is their own reference.
    expect((await call(w, 'POST', '/v1/waybills', { key: w.keys.other, body: o })).status).toBe(201);
  });

  it("isolates clients: another client's waybill is not found, whatever the route, and each try is on record", async () => {
    const mine = (await (await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order() })).json()) as { id: string; waybillNo: string };
    for (const ref of [mine.id, mine.waybillNo]) {
      await expectProblem(await call(w, 'GET', `/v1/waybills/${ref}`, { key: w.keys.other }), 404);
      await expectProblem(await call(w, 'GET', `/v1/waybills/${ref}/label`, { key: w.keys.other }), 404);
      await expectProblem(await call(w, 'POST', `/v1/waybills/${ref}/events`, { key: w.keys.other, body: { type: 'cancelled' } }), 404);
    }
    const refused = (await w.services.audit.forWaybill(mine.waybillNo)).filter((r) => r.action === 'refuse');
    expect(refused.map((r) => [r.actor.split(':')[0], r.outcome, r.detail])).toEqual(Array(6).fill(['warehouse', 'not_visible', { role: 'warehouse' }]));
    // A number nobody holds is answered alike, with nothing to record it under.
    await expectProblem(await call(w, 'GET', '/v1/waybills/ZT000000000000', { key: w.keys.other }), 404);
    expect((await call(w, 'GET', `/v1/waybills/${mine.id}`, { key: w.keys.acmePrinter })).status).toBe(200);
    expect((await call(w, 'GET', `/v1/waybills/${mine.id}`, { key: w.keys.admin })).status).toBe(200);
  });

  it('validates a whole batch first, then streams one document', async () => {
    const good = [order(SAMPLES[0]), order(SAMPLES[1]), order(SAMPLES[2])];
    const bad = [good[0], { ...good[1], recipient: { ...(good[1]!.recipient as object), phone: 12 } }, { ...good[2], parcel: {} }];
    const refused = await expectProblem(await call(w, 'POST', '/v1/batches', { key: w.keys.acme, body: { orders: bad } }), 422);
    expect(refused.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ index: 1, path: 'recipient.phone' }), expect.objectContaining({ index: 2, path: 'parcel.weightKg' })]),
    );
    expect(await w.services.store.findWaybillByClientOrder('acme', String(good[0]!.orderId))).toBeUndefined();

    const ndjson = good.map((o) => JSON.stringify(o)).join('\n');
    const res = await call(w, 'POST', '/v1/batches?template=cn-1ply-76x130', { key: w.keys.acme, body: ndjson, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(201);
    // One label per piece on this one-copy template (multi-piece orders print a set per piece).
    const pieces = good.reduce((n, o) => n + Number((o!.parcel as { pieces?: number }).pieces ?? 1), 0);
    expect(await pdfPageCount(await savePdf(w, res, 'batch.pdf'))).toBe(pieces);
    for (const o of good) expect(await w.services.store.findWaybillByClientOrder('acme', String(o!.orderId))).toBeDefined();
  });

  it('answers every client mistake with the right problem status, never a 500', async () => {
    const k = w.keys.acme;
    expect(await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: '{"orderId":' }), 400)).toMatchObject({ detail: 'the body is not valid JSON (it ends too early)' });
    // Where a body breaks, as for an order file: line and column, never the text.
    expect(await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: '{\n  "orderId": "SO-1",\n  "carrier": ZT\n}' }), 400)).toMatchObject({
      detail: 'the body is not valid JSON at line 3, column 14',
    });
    expect(await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: 'null' }), 400)).toMatchObject({ detail: 'the body must be a JSON object or array' });
    // A property named twice, which JSON.parse would settle silently by keeping the last: in an order, a
    // batch line, or any other body (an event whose type is given twice).
    const twice = JSON.stringify(order()).replace('"orderId":', '"orderId":"SO-0","orderId":');
    const column = twice.indexOf('"orderId"', 5) + 1;
    expect(await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: twice }), 400)).toMatchObject({ detail: `the body has a property named twice in one object at line 1, column ${column}` });
    const batch = await call(w, 'POST', '/v1/batches', { key: k, body: `${JSON.stringify(order())}\n${twice}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    expect(await expectProblem(batch, 422)).toMatchObject({ detail: 'line 2 has a property named twice in one object' });
    expect(await expectProblem(await call(w, 'POST', '/v1/waybills/ZT000000000000/events', { key: k, body: '{"type":"cancelled","type":"delivered"}' }), 400)).toMatchObject({
      detail: 'the body has a property named twice in one object at line 1, column 21',
    });
    // Too deeply nested to locate (the scanner would overflow the stack): still a 400, not where.
    for (const route of ['/v1/waybills', '/v1/batches'])
      expect(await expectProblem(await call(w, 'POST', route, { key: k, body: '['.repeat(30_000) }), 400)).toMatchObject({ detail: 'the body is not valid JSON' });
    // Bytes that are no UTF-8 are refused, not read as "�" onto the label.
    const [before, after] = JSON.stringify({ ...order(), routingCode: '@@' }).split('@@') as [string, string];
    const notUtf8 = Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
    expect(await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: notUtf8 }), 400)).toMatchObject({ detail: 'the body is not UTF-8 text' });
    await expectProblem(await call(w, 'POST', '/v1/waybills', { body: order() }), 401);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: 'wbk_aaaaaaaaaa_nope', body: order() }), 401);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: w.keys.acmePrinter, body: order() }), 403);
    await expectProblem(await call(w, 'GET', '/v1/waybills/ZT000000000000', { key: k }), 404);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: order(), headers: { accept: 'image/gif' } }), 406);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: JSON.stringify({ ...order(), pad: 'x'.repeat(100_000) }) }), 413);
    await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: 'orderId=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
    const invalid = await expectProblem(await call(w, 'POST', '/v1/waybills', { key: k, body: { ...order(), carrier: 'XX' } }), 422);
    expect(invalid.errors).toEqual([expect.objectContaining({ path: 'carrier' })]);
    await expectProblem(await call(w, 'POST', '/v1/waybills?copies=cover', { key: k, body: order() }), 422);
    const lacking = await expectProblem(await call(w, 'POST', '/v1/waybills?template=cn-1ply-76x130&copies=sender', { key: k, body: order() }), 422);
    expect(lacking.errors).toEqual([expect.objectContaining({ path: 'query.copies' })]); // named where it was given, as every query error
    await expectProblem(await call(w, 'GET', '/v1/waybills?orderId=%E0%A4%A', { key: k }), 400); // a broken %-sequence, as in a path
    // A route that takes no query refuses one, as those that take some refuse what they do not know.
    const made = (await (await call(w, 'POST', '/v1/waybills', { key: k, body: order() })).json()) as { id: string };
    for (const url of [`/v1/waybills/${made.id}?format=pdf`, `/v1/waybills/${made.id}/events?limit=5`, '/v1/templates?all=1']) {
      const typo = await expectProblem(await call(w, 'GET', url, { key: k }), 422);
      expect(typo.errors).toEqual([{ path: 'query', message: 'unknown property: this takes no query' }]);
    }
    const cancelled = (await (await call(w, 'POST', '/v1/waybills', { key: k, body: order() })).json()) as { id: string };
    expect((await call(w, 'POST', `/v1/waybills/${cancelled.id}/events`, { key: k, body: { type: 'cancelled' } })).status).toBe(201);
    await expectProblem(await call(w, 'POST', `/v1/waybills/${cancelled.id}/events`, { key: k, body: { type: 'cancelled' } }), 409);
    await expectProblem(await call(w, 'POST', `/v1/waybills/${cancelled.id}/events`, { key: k, body: { type: 'delivered' } }), 403);
  });

  it('documents itself: OpenAPI 3.1 from the zod schemas and a readable page', async () => {
    const doc = (await (await fetch(`${w.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { required?: string[] }> } };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/waybills', '/v1/waybills/{id}', '/v1/waybills/{id}/label', '/v1/waybills/{id}/events', '/v1/batches']));
    expect(doc.components.schemas.Order!.required).toEqual(expect.arrayContaining(['orderId', 'carrier', 'sender', 'recipient', 'parcel']));
    // The page renders the document in the browser (Swagger UI, served here): see test/http/contract.test.ts.
    const page = await (await fetch(`${w.url}/docs`)).text();
    expect(page).toContain('/docs/assets/swagger-ui-bundle.js');
  });

  it('counts what it does in /metrics', async () => {
    const text = await (await fetch(`${w.url}/metrics`)).text();
    expect(text).toMatch(/waybill_waybills_created_total\{channel="http"\} \d+/);
    expect(text).toMatch(/waybill_labels_rendered_total\{format="pdf"\} \d+/);
    expect(text).toMatch(/waybill_render_seconds_count\{format="pdf"\} \d+/);
    expect(text).toMatch(/waybill_scans_total\{outcome="ok"\} 2/); // the delivery and the pickup scan of the first test
    expect(text).toMatch(/waybill_relay_pool_slots\{state="live"\} \d+/);
  });

  it('logs no name, phone number or street of any order it handled', () => {
    const logs = w.logs.join('\n');
    expect(logs).toMatch(/"route":"\/v1\/waybills"/);
    for (const o of SAMPLES.slice(0, 3)) {
      for (const who of ['sender', 'recipient'] as const) {
        const p = o[who] as { name: string; phone: string; address: Record<string, string> };
        const national = parsePhoneNumber(p.phone, p.address.country as 'CN').nationalNumber;
        expectAbsent(logs, [p.name, national, p.address.street ?? p.address.line1 ?? '', p.address.detail ?? ''], `logs (${who})`);
      }
    }
    for (const key of Object.values(w.keys)) expectAbsent(logs, [/^wb[kct]_[a-z2-7]{10}_(.{43})$/.exec(key)![1]!], 'logs (credentials)'); // the secret part (it may itself hold '_')
  });
});

describe('service limits, readiness and shutdown', () => {
  it('limits each key to its request rate with 429 and Retry-After', async () => {
    const w = await startWorld({ WAYBILL_API_RATE_PER_SECOND: '3' });
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => call(w, 'GET', '/v1/waybills/ZT000000000000', { key: w.keys.acme })));
      const limited = answers.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(4);
      expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectProblem(limited[0]!, 429);
      // Another key has its own budget.
      expect((await call(w, 'GET', '/v1/waybills/ZT000000000000', { key: w.keys.other })).status).toBe(404);
    } finally {
      await stopWorld(w);
    }
  });

  it('lets a running batch finish when shutdown begins, and reports 503 when the store is unreachable', async () => {
    const w = await startWorld();
    try {
      expect((await fetch(`${w.url}/readyz`)).status).toBe(200);
      const orders = Array.from({ length: 40 }, () => order());
      const batch = call(w, 'POST', '/v1/batches?template=cn-1ply-76x130', { key: w.keys.acme, body: { orders } });
      await new Promise((r) => setTimeout(r, 200));
      const stopping = w.running.shutdown();
      const res = await batch;
      expect(res.status).toBe(201);
      expect(await pdfPageCount(await savePdf(w, res, 'drained.pdf'))).toBe(40);
      await stopping;
      await expect(fetch(`${w.url}/healthz`)).rejects.toThrow(); // no longer listening
    } finally {
      await w.services.close();
    }
    const again = await startWorld();
    try {
      await again.services.store.close();
      await expectProblem(await fetch(`${again.url}/readyz`), 503);
    } finally {
      await again.running.shutdown();
      fs.rmSync(again.dir, { recursive: true, force: true });
    }
  });
});

describe('network printers', () => {
  let w: World;
  let line: FakePrinter;
  const register = async (...args: string[]) => expect(await printerCommand(['add', ...args], w.services, () => {})).toBe(0);
  beforeAll(async () => {
    w = await startWorld({ WAYBILL_PRINTER_RETRY_BACKOFF_MS: '5', WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32' }); // the fake printer is on loopback
    line = await fakePrinter();
    await register('acme-line-1', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'zpl', '--dpi', '300', '--client', 'acme');
    await register('other-line-1', '--host', '127.0.0.1', '--port', String(line.port), '--language', 'tspl', '--client', 'other');
  });
  afterAll(async () => {
    await line.off().catch(() => undefined);
    await stopWorld(w);
  });

  it('sends a waybill to a printer in its language and resolution: the printer gets labels with readable barcodes and no personal text', async () => {
    const o = order();
    const created = (await (await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: o })).json()) as { id: string; waybillNo: string };
    const res = await call(w, 'POST', `/v1/waybills/${created.id}/print`, { key: w.keys.acmePrinter, body: { printer: 'acme-line-1', copies: ['courier', 'recipient'] } });
    expect(res.status).toBe(200);
    const sent = (await res.json()) as { job: string; status: string; printNo: number };
    expect(sent).toMatchObject({ printer: 'acme-line-1', status: 'delivered', attempts: 1, waybillNo: created.waybillNo, printNo: 1, labels: 2 });

    const [job] = await line.received(1);
    const people = ['sender', 'recipient'].map((who) => o[who] as { name: string; phone: string; address: { street: string } });
    expectAbsent(job!.toString('latin1'), people.flatMap((p) => [p.name, p.phone.replace(/\D/g, '').slice(-8), p.address.street]), 'printer job');
    const labels = decodeZpl(job!);
    expect(labels.map((l) => l.width)).toEqual([1181, 1181]); // 100 mm at 300 dpi
    const symbols = await decodeBarcodes(encodePng([labels[0]!], 300));
    expect(symbols.find((s) => s.format === 'CODE_128')?.text).toBe(created.waybillNo);
    expect(symbols.find((s) => s.format === 'QR_CODE')?.text).toMatch(/^https:\/\/scan\.example\.com\/w\//);

    const status = await call(w, 'GET', `/v1/print-jobs/${sent.job}`, { key: w.keys.acme });
    expect(await status.json()).toMatchObject({ job: sent.job, status: 'delivered', attempts: 1, bytes: job!.length });
    expect((await w.services.audit.forWaybill(created.waybillNo)).map((r) => r.action)).toEqual(['create', 'print']);
    expect((await w.services.audit.forJob!(sent.job)).map((r) => [r.action, r.outcome])).toEqual([['print', 'ok'], ['deliver', 'ok']]);
  });

  it("keeps a client to its own printers and print jobs", async () => {
    const listed = (await (await call(w, 'GET', '/v1/printers', { key: w.keys.acme })).json()) as { printers: { name: string }[] };
    expect(listed.printers).toEqual([{ name: 'acme-line-1', language: 'zpl', dpi: 300, via: 'network' }]);
    const mine = (await (await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order() })).json()) as { id: string };
    const foreign = await expectProblem(await call(w, 'POST', `/v1/waybills/${mine.id}/print`, { key: w.keys.acme, body: { printer: 'other-line-1' } }), 422);
    expect(foreign.errors).toEqual([{ path: 'printer', message: expect.stringContaining('not a printer this key may use') }]);
    await expectProblem(await call(w, 'POST', `/v1/waybills/${mine.id}/print`, { key: w.keys.acme, body: { printer: 'acme-line-1', copies: ['nobody'] } }), 422);
    await expectProblem(await call(w, 'POST', `/v1/waybills/${mine.id}/print`, { key: w.keys.other, body: { printer: 'other-line-1' } }), 404);
    const sent = (await (await call(w, 'POST', `/v1/waybills/${mine.id}/print`, { key: w.keys.acme, body: { printer: 'acme-line-1' } })).json()) as { job: string };
    await expectProblem(await call(w, 'GET', `/v1/print-jobs/${sent.job}`, { key: w.keys.other }), 404);
    await expectProblem(await call(w, 'POST', `/v1/print-jobs/${sent.job}/retry`, { key: w.keys.acme }), 409); // already delivered
  });

  it('says in Waybill-Warnings what a printer job could not draw', async () => {
    const mine = (await (await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order({ ...ZT, parcel: { ...(ZT.parcel as object), contents: '服装🎁' } }) })).json()) as { id: string };
    const sent = await call(w, 'POST', `/v1/waybills/${mine.id}/print`, { key: w.keys.acmePrinter, body: { printer: 'acme-line-1', copies: ['courier'] } });
    expect(sent.status).toBe(200);
    expect(sent.headers.get('waybill-warnings')).toBe('courier copy: parcel.contents has 1 character(s) the font cannot draw');
  });

  it('reports an offline printer with 502 and keeps the job, which a retry delivers once the printer is back', async () => {
    await line.off();
    const before = line.jobs.length;
    const mine = (await (await call(w, 'POST', '/v1/waybills', { key: w.keys.acme, body: order() })).json()) as { id: string };
    const failed = await expectProblem(await call(w, 'POST', `/v1/waybills/${mine.id}/print`, { key: w.keys.acmePrinter, body: { printer: 'acme-line-1' } }), 502);
    expect(failed).toMatchObject({ status: 502, printer: 'acme-line-1', jobStatus: 'failed', attempts: 3, links: { retry: `/v1/print-jobs/${failed.job}/retry` } });
    expect(failed.detail).toMatch(/refused the connection.*the job is kept/);
    expect(JSON.stringify(failed)).not.toMatch(new RegExp(`127\\.0\\.0\\.1|\\b${line.port}\\b`)); // names the printer, never its address
    const kept = (await (await call(w, 'GET', `/v1/print-jobs/${failed.job}`, { key: w.keys.acme })).json()) as Record<string, unknown>;
    expect(kept).toMatchObject({ status: 'failed', attempts: 3, lastError: expect.stringContaining('refused') });

    await line.on();
    // A retry goes to the job's own printer: a body naming another is refused, not ignored.
    const elsewhere = await call(w, 'POST', `/v1/print-jobs/${failed.job}/retry`, { key: w.keys.acmePrinter, body: { printer: 'acme-line-2' } });
    expect(await expectProblem(elsewhere, 422)).toMatchObject({ detail: 'this request takes no body: send none, or {}' });
    const retried = await call(w, 'POST', `/v1/print-jobs/${failed.job}/retry`, { key: w.keys.acmePrinter });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ job: failed.job, status: 'delivered', attempts: 1 });
    expect(decodeZpl((await line.received(before + 1))[before]!)).toHaveLength(4);
  });
});
