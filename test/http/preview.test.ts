// POST /v1/previews through the real server on both databases: one order or a batch, in the formats a
// label answers in, stamped 样张 / PREVIEW; its barcodes read back from the PDF are placeholders and the
// QR holds no token URL; order ids already used are fine (nothing is created). Every table keeps its rows
// (only the per-key rate budget moves, as on any request) and the relay pool is untouched. Bad orders get
// the 422 a create or batch gets; courier keys are refused.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { apiKeyCommand } from '../../src/cli/apiKeyCommands';
import { serveCommand, type RunningService } from '../../src/cli/serveCommand';
import { loadConfig } from '../../src/config/config';
import { CARRIERS } from '../../src/order/carriers';
import { openServices, type Services } from '../../src/wiring';
import { decodeBarcodes } from '../support/barcodes';
import { decodeZpl } from '../support/printerDecoders';
import { pdfPageCount, pdfText, rasterisePdf } from '../support/pdfProbe';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';
import { SAMPLE_ORDERS as SAMPLES, ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(180_000);

// Only the per-credential request budget changes on a request that creates nothing.
const MOVES_ON_EVERY_REQUEST = /bucket/;

describe.each(STORE_BACKENDS)('%s: POST /v1/previews creates nothing', (_name, backend) => {
  let db: TestDatabase;
  let dir: string;
  let services: Services;
  let running: RunningService;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    db = await backend.open();
    dir = db.location.backend === 'sqlite' ? path.dirname(db.location.file) : fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-preview-'));
    const env = {
      WAYBILL_DATA_DIR: dir,
      ...(db.location.backend === 'postgres' ? { DATABASE_URL: db.location.url } : {}),
      WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002',
      WAYBILL_LOG_LEVEL: 'silent',
    };
    services = await openServices(loadConfig(env), () => {});
    running = await serveCommand(['--port', '0'], services, () => {}, new PassThrough().resume());
    for (const [name, args] of Object.entries({
      warehouse: ['--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'],
      printer: ['--role', 'printer', '--name', 'acme line 1', '--client', 'acme'],
      admin: ['--role', 'admin', '--name', 'ops'],
      courier: ['--role', 'courier', '--name', '张师傅', '--carrier', 'ZT', '--outlet', 'HZ-XH01', '--device', 'HH-1'],
    })) {
      const lines: string[] = [];
      expect(await apiKeyCommand(['create', ...args], services, (l) => lines.push(l))).toBe(0);
      keys[name] = /(wb[kc]_\S+)/.exec(lines.join('\n'))![1]!;
    }
  });

  afterAll(async () => {
    await running.shutdown();
    await services.close();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (route: string, body: unknown, opts: { key?: string; accept?: string; type?: string } = {}) =>
    fetch(`${running.url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[opts.key ?? 'warehouse']}`, 'content-type': opts.type ?? 'application/json', ...(opts.accept ? { accept: opts.accept } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  async function snapshot(): Promise<{ counts: Record<string, number>; relay: unknown[] }> {
    const tables = (
      db.location.backend === 'sqlite'
        ? await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        : await db.query('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename')
    )
      .map((r) => String(r.name))
      .filter((t) => !MOVES_ON_EVERY_REQUEST.test(t));
    const counts: Record<string, number> = {};
    for (const t of tables) counts[t] = Number((await db.query(`SELECT COUNT(*) AS n FROM ${t}`))[0]!.n);
    const relay = [...(await db.query('SELECT * FROM relay_bindings ORDER BY id')), ...(await db.query('SELECT * FROM relay_slots ORDER BY number, ext'))];
    return { counts, relay };
  }

  const pdfOf = async (res: Response, name: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };

  it('previews one order and batches in every format, stamped, with placeholder symbols, and every table keeps its rows', async () => {
    const order = { ...ZT, orderId: 'PV-1' };
    const created = await fetch(`${running.url}/v1/waybills`, { method: 'POST', headers: { authorization: `Bearer ${keys.warehouse}`, 'content-type': 'application/json' }, body: JSON.stringify(order) });
    expect(created.status).toBe(201);
    const real = (await created.json()) as { waybillNo: string; qr: string };
    const before = await snapshot();
    expect(before.counts.waybills).toBe(1);
    expect(before.relay.length).toBeGreaterThan(0);

    // One order, its id already used: a PDF (the default), four stamped pages.
    const one = await call('/v1/previews', order);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/pdf');
    expect(one.headers.get('cache-control')).toBe('no-store');
    expect(one.headers.get('location')).toBeNull();
    const pdf = await pdfOf(one, 'one.pdf');
    expect(await pdfPageCount(pdf)).toBe(4);
    const text = await pdfText(pdf);
    expect(text.split('\f').filter((p) => p.trim()).every((page) => page.includes('样张'))).toBe(true);
    expect(text).not.toContain(real.waybillNo);
    expect(text).not.toContain(String((ZT.recipient as { name: string }).name));
    const [courierPage] = await rasterisePdf(pdf, 203);
    const symbols = await decodeBarcodes(courierPage!);
    expect(symbols.map((s) => s.format).sort()).toEqual(['CODE_128', 'QR_CODE']);
    for (const s of symbols) expect(s.text).toBe('PREVIEW');

    // A batch as JSON: exactly what each copy shows, with placeholders; the phone as paper shows it without a relay number.
    const gift = SAMPLES[4]!;
    const batch = [...SAMPLES.slice(0, 4), { ...gift, parcel: { ...(gift.parcel as object), contents: '服装🎁' } }]; // the font has no emoji
    const json = await call('/v1/previews?format=json', { orders: batch });
    expect(json.status).toBe(200);
    expect(json.headers.get('x-waybill-count')).toBe('5');
    const entries = (await json.json()) as { orderId: string; waybillNo: string; warnings?: string[]; copies: { copy: string; copyCode: string; barcode: string; qr?: string; watermark: string; fields: Record<string, string> }[] }[];
    expect(entries.map((e) => e.orderId)).toEqual(batch.map((o) => o.orderId));
    const courier = entries[0]!.copies.find((c) => c.copy === 'courier')!;
    expect(courier).toMatchObject({ copyCode: '样张', barcode: 'PREVIEW', qr: 'PREVIEW', watermark: '样张' });
    expect(courier.fields['recipient.phone']).toMatch(new RegExp(`/ ${CARRIERS.ZT.serviceNumber}$`));
    expect(entries[0]!.waybillNo).toMatch(/^7X{13}$/);
    // What a label could not draw is said per waybill, by copy and field.
    expect(entries.map((e) => e.warnings ?? [])).toEqual([[], [], [], [], expect.arrayContaining(['courier copy: parcel.contents has 1 character(s) the font cannot draw'])]);

    // NDJSON in, a printer language out; an English template; printer and admin keys may preview too.
    const ndjson = await call('/v1/previews', batch.map((o) => JSON.stringify(o)).join('\n'), { type: 'application/x-ndjson', accept: 'application/vnd.zebra.zpl' });
    expect(ndjson.status).toBe(200);
    // Four labels per piece: a multi-piece order previews a stamped set per piece.
    const pieces = batch.reduce((n, o) => n + Number((o.parcel as { pieces?: number }).pieces ?? 1), 0);
    expect(decodeZpl(Buffer.from(await ndjson.arrayBuffer()))).toHaveLength(4 * pieces);
    const en = await call('/v1/previews?template=intl-4x6', [order], { key: 'printer' });
    expect(en.status).toBe(200);
    expect(await pdfText(await pdfOf(en, 'en.pdf'))).toContain('PREVIEW');
    expect((await call('/v1/previews?format=png', order, { key: 'admin' })).status).toBe(200);

    expect(await snapshot()).toEqual(before);
  });

  it('refuses a bad order with the 422 a create gives, a batch with its index, and a courier key; nothing is written', async () => {
    const before = await snapshot();
    const bad = { ...ZT, orderId: 'PV-bad', recipient: { ...(ZT.recipient as object), phone: 'call me' } };
    const one = await call('/v1/previews', bad);
    const create = await call('/v1/waybills', bad);
    expect(one.status).toBe(422);
    expect(create.status).toBe(422);
    const problem = (await one.json()) as { errors: { path: string; index?: number }[] };
    expect(problem.errors).toEqual((await create.json() as { errors: unknown[] }).errors);
    expect(problem.errors.map((e) => e.path)).toContain('recipient.phone');

    const batch = await call('/v1/previews', { orders: [ZT, bad] });
    expect(batch.status).toBe(422);
    const batchProblem = (await batch.json()) as { errors: { path: string; index?: number }[] };
    expect(batchProblem.errors).toContainEqual(expect.objectContaining({ index: 1, path: 'recipient.phone' }));

    expect((await call('/v1/previews', ZT, { key: 'courier' })).status).toBe(403);
    expect((await call('/v1/previews?format=png', [ZT, ZT])).status).toBe(406);
    expect(await snapshot()).toEqual(before);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as { paths: Record<string, { post?: { summary: string } }>; components: { schemas: Record<string, unknown> } };
    expect(doc.paths['/v1/previews']?.post?.summary).toMatch(/creates nothing/);
    expect(doc.components.schemas.PreviewEntry).toBeDefined();
  });
});
