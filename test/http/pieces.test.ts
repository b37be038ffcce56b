// Multi-piece shipments (子母件) on both databases, over the API and the shell: N label sets, piece 1
// under the master number and pieces 2..N under child numbers (each label's Code128 read back from the
// PDF raster), piece marks 1/N..N/N, one QR token for every piece, a child number finding its master
// for lookups, events and the audit trail, the 99-piece limit, and child numbers never equal to a
// master number.

import fs from 'node:fs';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';
import * as waybillNumber from '../../src/order/waybillNumber';
import { decodeBarcodes } from '../support/barcodes';
import { pdfPageCount, pdfText, rasterisePdf } from '../support/pdfProbe';
import { STORE_BACKENDS } from '../support/storeBackends';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { ZT_DOMESTIC as ZT } from '../support/samples';

jest.setTimeout(240_000);



interface Piece {
  pieceNo: number;
  waybillNo: string;
}

let seq = 0;
const pieces = (n: number, extra: Record<string, unknown> = {}) => ({
  ...ZT,
  orderId: `PC-${process.pid}-${++seq}`,
  parcel: { ...(ZT.parcel as Record<string, unknown>), pieces: n },
  ...extra,
});

/** Every label's Code128 and QR texts, page by page. */
async function symbolsOf(pdf: string): Promise<{ code128: string[]; qr: string[] }[]> {
  const pages = await rasterisePdf(pdf, 203);
  const out: { code128: string[]; qr: string[] }[] = [];
  for (const page of pages) {
    const found = await decodeBarcodes(page);
    out.push({ code128: found.filter((s) => s.format === 'CODE_128').map((s) => s.text), qr: found.filter((s) => s.format === 'QR_CODE').map((s) => s.text) });
  }
  return out;
}

describe.each(STORE_BACKENDS)('%s multi-piece waybills', (_name, backend) => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await startApiWorld(backend);
  });
  afterAll(() => stopApiWorld(w));

  const call = (method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${w.running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const save = async (res: Response, name: string) => {
    const file = path.join(w.dir, name);
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return file;
  };
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    return { code: await main(argv, (l) => lines.push(l), w.env), out: lines.join('\n') };
  };

  it('API: a 3-piece order prints 3 label sets, each Code128 its piece number, one QR token; a child number finds the master', async () => {
    const created = await call('POST', '/v1/waybills', w.acme, pieces(3), { accept: 'application/pdf' });
    expect({ status: created.status, body: created.status === 201 ? '' : await created.text() }).toEqual({ status: 201, body: '' });
    const location = created.headers.get('location')!;
    const pdf = await save(created, 'api-3.pdf');
    expect(await pdfPageCount(pdf)).toBe(3 * 4); // cn-4copy: four labels (copies) per piece

    const view = (await (await call('GET', location, w.acme)).json()) as { id: string; waybillNo: string; status: string; pieces: Piece[] };
    expect(view.pieces.map((p) => p.pieceNo)).toEqual([1, 2, 3]);
    expect(view.pieces[0]!.waybillNo).toBe(view.waybillNo);
    const numbers = view.pieces.map((p) => p.waybillNo);
    expect(new Set(numbers).size).toBe(3);
    for (const no of numbers) expect(waybillNumber.waybillNoProblem('ZT', no)).toBeUndefined(); // the carrier's own form

    const text = await pdfText(pdf);
    for (const mark of ['1/3', '2/3', '3/3']) expect(text).toContain(mark);
    expect(text).toContain(`母单 ${view.waybillNo}`);

    const pages = await symbolsOf(pdf);
    // Label i belongs to piece ⌊i / 4⌋ + 1: its Code128 is that piece's number, on every copy.
    pages.forEach((p, i) => expect(p.code128).toEqual([numbers[Math.floor(i / 4)]]));
    const qrs = new Set(pages.flatMap((p) => p.qr));
    expect(qrs.size).toBe(1); // every piece carries the same token: one scan address
    const token = [...qrs][0]!.split('/').pop()!;

    // The token, scanned from any piece, opens the one waybill.
    const { credential: courierKey } = await w.services.couriers.add({ carrier: 'ZT', name: '王师傅', outlet: 'HZ-XH01', routes: [], device: 'HH-1' }, new Date());
    const scanned = await call('GET', `/v1/scan/${token}?purpose=delivery`, courierKey);
    expect(scanned.status).toBe(200);
    expect(((await scanned.json()) as { waybillNo: string }).waybillNo).toBe(view.waybillNo);

    // A child number finds the master.
    for (const child of numbers.slice(1)) {
      const found = (await (await call('GET', `/v1/waybills/${child}`, w.acme)).json()) as { id: string; waybillNo: string };
      expect(found).toMatchObject({ id: view.id, waybillNo: view.waybillNo });
      // … and so does the search.
      const page = (await (await call('GET', `/v1/waybills?waybillNo=${child}`, w.acme)).json()) as { items: { id: string }[] };
      expect(page.items.map((i) => i.id)).toEqual([view.id]);
    }

    // A reprint prints every piece again.
    const again = await call('GET', `${location}/label?format=pdf`, w.acme);
    expect(again.status).toBe(200);
    const againPdf = await save(again, 'api-3-again.pdf');
    expect(await pdfPageCount(againPdf)).toBe(12);
    expect(await pdfText(againPdf)).toMatch(/重印 第1次/);

    // An event on the master is the waybill's: a child number shows it; one posted by a child number lands on the master.
    const cancelled = await call('POST', `/v1/waybills/${view.waybillNo}/events`, w.acme, { type: 'cancelled' });
    expect(cancelled.status).toBe(201);
    const viaChild = (await (await call('GET', `/v1/waybills/${numbers[2]}`, w.acme)).json()) as { status: string };
    expect(viaChild.status).toBe('cancelled');
  });

  it('API JSON: every piece is listed, every paper copy of every piece has its own copy code', async () => {
    const created = (await (await call('POST', '/v1/waybills', w.acme, pieces(2))).json()) as { id: string; waybillNo: string; pieces: Piece[]; copies: { piece?: number; barcode: string; fields: Record<string, string> }[] };
    expect(created.pieces).toHaveLength(2);
    expect(created.copies).toHaveLength(8);
    expect(created.copies.map((c) => c.piece)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(created.copies.map((c) => c.barcode)).toEqual([...Array(4).fill(created.pieces[0]!.waybillNo), ...Array(4).fill(created.pieces[1]!.waybillNo)]);
    expect(created.copies.map((c) => c.fields.piece)).toEqual([...Array(4).fill('1/2'), ...Array(4).fill('2/2')]);

    // The first paper: eight copies, eight codes, each tracing to its piece.
    expect((await call('GET', `/v1/waybills/${created.id}/label?format=pdf`, w.acme)).status).toBe(200);
    const rows = await w.t.query('SELECT copy_code, copy, piece_no FROM copy_prints WHERE waybill_id = ? ORDER BY piece_no, copy', created.id);
    expect(rows).toHaveLength(8);
    expect(new Set(rows.map((r) => r.copy_code)).size).toBe(8);
    expect(rows.map((r) => Number(r.piece_no))).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    const traced = await w.services.store.findCopyPrint(String(rows[5]!.copy_code));
    expect(traced).toMatchObject({ waybillId: created.id, pieceNo: 2, copy: rows[5]!.copy, printNo: 1 });
  });

  it('refuses more than 99 pieces, naming parcel.pieces (API 422, shell 65)', async () => {
    const refused = await call('POST', '/v1/waybills', w.acme, pieces(100));
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { errors: { path: string; message: string }[] };
    expect(problem.errors).toEqual([expect.objectContaining({ path: 'parcel.pieces', message: expect.stringMatching(/at most 99/) })]);
    const file = path.join(w.dir, 'hundred.json');
    fs.writeFileSync(file, JSON.stringify(pieces(100)));
    const shell = await run('print', file, '--out', path.join(w.dir, 'hundred.pdf'));
    expect(shell.code).toBe(EXIT.badInput);
    expect(shell.out).toMatch(/parcel\.pieces/);
    expect((await call('POST', '/v1/waybills', w.acme, pieces(99))).status).toBe(201);
  });

  it('never gives a child a number a master has, nor a master a child’s number', async () => {
    const existing = (await (await call('POST', '/v1/waybills', w.acme, pieces(1))).json()) as { waybillNo: string };
    const real = waybillNumber.generateWaybillNo;
    // The generator first offers the new master, then the existing master's number and the new master's
    // again for the children: both are skipped.
    const offers = ['71234567890123', existing.waybillNo, '71234567890123'];
    const spy = jest.spyOn(waybillNumber, 'generateWaybillNo').mockImplementation((carrier) => offers.shift() ?? real(carrier));
    let created: { waybillNo: string; pieces: Piece[] };
    try {
      created = (await (await call('POST', '/v1/waybills', w.acme, pieces(3))).json()) as typeof created;
    } finally {
      spy.mockRestore();
    }
    expect(created.waybillNo).toBe('71234567890123');
    const children = created.pieces.slice(1).map((p) => p.waybillNo);
    expect(children).toHaveLength(2);
    expect(children).not.toContain(existing.waybillNo);
    expect(children).not.toContain(created.waybillNo);
    // A client's own number that is a child number is taken.
    const clash = await call('POST', '/v1/waybills', w.acme, pieces(1, { waybillNo: children[0] }));
    expect(clash.status).toBe(409);
  });

  it('shell: prints 3 sets, a child number takes an event and lists the master’s audit records', async () => {
    const file = path.join(w.dir, 'three.json');
    fs.writeFileSync(file, JSON.stringify(pieces(3)));
    const pdf = path.join(w.dir, 'cli-3.pdf');
    expect(await run('print', file, '--template', 'cn-1ply-76x130', '--out', pdf)).toMatchObject({ code: EXIT.ok });
    expect(await pdfPageCount(pdf)).toBe(3); // one copy per piece
    const text = await pdfText(pdf);
    for (const mark of ['1/3', '2/3', '3/3']) expect(text).toContain(mark);
    const pages = await symbolsOf(pdf);
    const numbers = pages.map((p) => p.code128[0]!);
    expect(new Set(numbers).size).toBe(3);
    expect(new Set(pages.flatMap((p) => p.qr)).size).toBe(1);
    const master = (await w.services.store.findWaybillByNo(numbers[0]!))!;
    expect(await w.services.store.childNosOf(master.id)).toEqual(numbers.slice(1));
    expect(text).toContain(`母单 ${master.waybillNo}`);
    for (const child of numbers.slice(1)) expect((await w.services.store.findWaybillByNo(child))?.id).toBe(master.id);

    const event = await run('event', numbers[2]!, 'cancelled');
    expect(event.code).toBe(EXIT.ok);
    expect((await w.services.store.findWaybillByNo(numbers[0]!))?.status).toBe('cancelled');
    const audit = await run('audit', 'waybill', numbers[1]!);
    expect(audit.code).toBe(EXIT.ok); // the master's records: a child number has none of its own
    expect(audit.out).toMatch(/print/);
    expect(audit.out).toMatch(/cancelled/);
  });

  it('shell preview: N stamped sets with placeholder numbers and piece marks', async () => {
    const file = path.join(w.dir, 'preview.json');
    fs.writeFileSync(file, JSON.stringify(pieces(2)));
    const out = path.join(w.dir, 'preview-2.json');
    expect((await run('preview', file, '--template', 'cn-2ply-100x150', '--format', 'json', '--out', out)).code).toBe(EXIT.ok);
    const [entry] = JSON.parse(fs.readFileSync(out, 'utf8')) as { pieces: Piece[]; copies: { copy: string; piece: number; fields: Record<string, string>; watermark: string }[] }[];
    expect(entry!.pieces.map((p) => p.pieceNo)).toEqual([1, 2]);
    expect(entry!.copies.map((c) => `${c.copy}:${c.piece}`)).toEqual(['courier:1', 'recipient:1', 'courier:2', 'recipient:2']);
    // cn-2ply shows the piece mark beside 件数 on the courier copy.
    expect(entry!.copies.filter((c) => c.copy === 'courier').map((c) => c.fields.piece)).toEqual(['1/2', '2/2']);
    expect(entry!.copies.every((c) => c.watermark)).toBe(true);
  });
});
