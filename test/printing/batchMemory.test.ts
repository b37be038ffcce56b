// A batch's memory stays flat (issue 20): the PDF renderer lets each page go once it is written, it
// stops drawing while its output does not read, and the document's end (fonts, cross-reference table)
// reaches the output gathered in large chunks, not as a chunk per line; a one-waybill document is drawn
// without other work between its pages; a print handed its orders lets each go once its waybill is
// printed. Behaviour only, no sizes or timings: the figures are `npm run bench:memory`'s.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LabelDrawing } from '../../src/layout/drawing';
import { layoutWaybill } from '../../src/layout/layoutWaybill';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import type { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills } from '../../src/printing/printWaybills';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import { PdfRenderer } from '../../src/render/pdfRenderer';
import { openSealedContent } from '../../src/vault/sealedWaybill';
import { pdfPageCount, pdfText } from '../support/pdfProbe';
import { memoryPrintStore, printDeps } from '../support/printDeps';

const ROOT = path.join(__dirname, '..', '..');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-1ply-76x130');

/** One single-copy label per waybill number, each naming its own number. */
function labelsFor(numbers: string[]): LabelDrawing[] {
  return numbers.map((waybillNo, i) => {
    const views = new Map<CopyKind, CopyView>();
    for (const s of template.labels.flatMap((l) => l.sections))
      views.set(s.copy, buildCopyView({ order: orders[i % orders.length]!, waybillNo, qrUrl: `https://scan.example.com/w/${waybillNo}` }, { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date(), lang: 'zh' }, s.policy));
    return layoutWaybill(template, views, fontMetrics).labels[0]!;
  });
}

/** The collector, on demand: only to see what is still reachable, never to measure. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const pageOf = (renderer: PdfRenderer) => (renderer as unknown as { doc: PDFKit.PDFDocument }).doc.page;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('a batch PDF', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-memory-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lets each page go once it is written, and still lists every page in order', async () => {
    const gc = collector();
    const numbers = Array.from({ length: 30 }, (_, i) => `ZT48151623${String(i).padStart(4, '0')}`);
    const file = path.join(dir, 'pages.pdf');
    const renderer = new PdfRenderer(fs.createWriteStream(file));
    const pages: WeakRef<object>[] = [];
    for (const label of labelsFor(numbers)) {
      await renderer.addLabel(label);
      pages.push(new WeakRef(pageOf(renderer)));
    }
    await nextTurn();
    gc();
    // Only the page being drawn is still held; every written one is gone.
    expect(pages.map((p) => p.deref() !== undefined)).toEqual(numbers.map((_, i) => i === numbers.length - 1));

    await renderer.finish();
    expect(await pdfPageCount(file)).toBe(numbers.length);
    const text = (await pdfText(file)).split('\f');
    numbers.forEach((no, i) => expect(text[i]).toContain(no));
  });

  it('ends in a few large chunks, not one per cross-reference line', async () => {
    const numbers = Array.from({ length: 300 }, (_, i) => `ZT48151699${String(i).padStart(4, '0')}`);
    const file = path.join(dir, 'end.pdf');
    const chunks: number[] = [];
    const bytes: Buffer[] = [];
    let ending = false;
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (ending) chunks.push(chunk.length);
        bytes.push(chunk);
        done();
      },
    });
    const renderer = new PdfRenderer(out);
    for (const label of labelsFor(numbers)) await renderer.addLabel(label);
    for (let i = 0; i < 20; i++) await nextTurn(); // the pages written so far reach the output
    ending = true;
    await renderer.finish();
    fs.writeFileSync(file, Buffer.concat(bytes));
    // Some 900 objects, three lines each in the cross-reference table, arrive gathered.
    expect(chunks.reduce((a, b) => a + b, 0)).toBeGreaterThan(900 * 20);
    expect(chunks.length).toBeLessThan(10);
    expect(await pdfPageCount(file)).toBe(numbers.length);
    expect((await pdfText(file)).split('\f')[299]).toContain(numbers[299]);
  });

  it('stops drawing while its output does not read, and goes on when it does', async () => {
    // Enough pages that pdfkit holds more than it keeps before handing on (64 kB).
    const labels = labelsFor(Array.from({ length: 200 }, (_, i) => `ZT42424242${String(i).padStart(4, '0')}`));
    const held: (() => void)[] = [];
    let reading = false;
    let bytes = 0;
    const out = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (reading) done();
        else held.push(done);
      },
    });
    const renderer = new PdfRenderer(out);
    let added = 0;
    const adding = (async () => {
      for (const label of labels) {
        await renderer.addLabel(label);
        added++;
      }
      await renderer.finish();
    })();

    for (let i = 0; i < 200; i++) await nextTurn();
    const stalled = added;
    for (let i = 0; i < 200; i++) await nextTurn();
    expect(added).toBe(stalled);
    expect(added).toBeLessThan(labels.length);

    reading = true;
    for (const done of held.splice(0)) done();
    await adding;
    expect(added).toBe(labels.length);
    expect(bytes).toBeGreaterThan(0);
  });
});

describe('a one-waybill PDF', () => {
  it('is drawn page after page without letting other work in between', async () => {
    const chunks: Buffer[] = [];
    const renderer = new PdfRenderer(new Writable({ write: (chunk: Buffer, _encoding, done) => (chunks.push(chunk), done()) }));
    let otherWork = 0;
    const labels = labelsFor(['ZT1212121200', 'ZT1212121201', 'ZT1212121202', 'ZT1212121203']);
    setImmediate(() => otherWork++);
    for (const label of labels) await renderer.addLabel(label);
    expect(otherWork).toBe(0);
    await renderer.finish();
    expect(Buffer.concat(chunks).toString('latin1')).toMatch(/^%PDF-[\s\S]*%%EOF\n?$/);
  });
});

describe('a print handed its orders', () => {
  const { store, audit, saved } = memoryPrintStore();
  const deps = printDeps({ store, audit });
  const batch = () => Array.from({ length: 5 }, (_, i) => ({ ...orders[i]!, orderId: `HANDED-${i}` }));
  const print = (list: Order[], releaseOrders: boolean, seen: number[] = []) =>
    printWaybills(deps, {
      orders: list,
      template,
      format: 'json',
      channel: 'cli',
      host: 'test',
      operator: 'test',
      releaseOrders,
      sink: { add: async () => void seen.push(Object.keys(list).length), finish: async () => {} },
    });

  beforeEach(() => void (saved.length = 0));

  it('lets each order go once its waybill is printed; the waybills keep everything sealed', async () => {
    const list = batch();
    const seen: number[] = [];
    await print(list, true, seen);
    // Waybill k reaches the sink while orders k..4 are still held; none is held after the print.
    expect(seen).toEqual([5, 4, 3, 2, 1]);
    expect(Object.keys(list)).toEqual([]);
    expect(list).toHaveLength(5);
    expect(saved.map((w) => openSealedContent(deps.keys, w.id, w.sealed!).order.orderId)).toEqual(batch().map((o) => o.orderId));
  });

  it('leaves the orders alone unless it is handed them', async () => {
    const list = batch();
    await print(list, false);
    expect(list).toEqual(batch());
  });
});
