// The preview use case against the real print: for every built-in template, a preview shows exactly the
// text a print without relay numbers shows, except the placeholders (waybill number, copy codes), with
// the Code128 and QR encoding `PREVIEW`; the PDF's extractable text carries 样张 / PREVIEW on every label
// and no personal data, the barcodes read back from the rasterised pages are placeholders, and the mark
// shows in the raster outputs too. The preview takes no store at all (its deps cannot write one).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { layoutWaybill, type ShownCopy, type WaybillLayout } from '../../src/layout/layoutWaybill';
import { listTemplates, loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { watermarkLayout } from '../../src/layout/watermark';
import { CARRIER_CODES } from '../../src/order/carriers';
import type { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { generateWaybillNo, waybillNoProblem } from '../../src/order/waybillNumber';
import { PREVIEW_MARK, PREVIEW_SYMBOL, placeholderWaybillNo, previewWaybills } from '../../src/printing/previewWaybills';
import { printWaybills } from '../../src/printing/printWaybills';
import { JsonSink, LabelSink, type WaybillSink } from '../../src/printing/waybillSink';
import { buildCopyView } from '../../src/privacy/privacyView';
import { getDot } from '../../src/render/bitmap';
import { memoryOutput } from '../../src/render/memoryOutput';
import { labelRenderer } from '../../src/render/outputFormats';
import { rasteriseLabel } from '../../src/render/rasterise';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { sqliteDatabase } from '../../src/store/database';
import { SqliteStore } from '../../src/store/sqliteStore';
import { decodeBarcodes } from '../support/barcodes';
import { expectAbsent } from '../support/expectAbsent';
import { pdfPageCount, pdfText, rasterisePdf } from '../support/pdfProbe';

jest.setTimeout(300_000);

const ROOT = path.join(__dirname, '..', '..');
const TEMPLATES = path.join(ROOT, 'templates');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const keys = { ring: { activeKeyId: 'test', keys: new Map([['test', randomBytes(32)]]) }, tokenKey: randomBytes(32) };
const NOW = new Date('2025-03-04T05:06:07Z');

interface Entry {
  orderId: string;
  waybillNo: string;
  pieces?: { pieceNo: number; waybillNo: string }[];
  copies: (Omit<ShownCopy, 'fields'> & { copyCode?: string; fields: Record<string, string> })[];
}

async function jsonOf(run: (sink: WaybillSink) => Promise<unknown>): Promise<Entry[]> {
  const out = memoryOutput();
  await run(new JsonSink(out.stream));
  return JSON.parse(out.bytes().toString('utf8')) as Entry[];
}

/** Whole names, whole phone numbers and street lines: none may be on a preview (as on paper). */
function secrets(list: readonly Order[]): string[] {
  return list.flatMap((o) =>
    (['sender', 'recipient'] as const).flatMap((who) => {
      const a = o[who].address;
      return [o[who].name, o[who].phone.replace(/\D/g, '').slice(-8), ...(a.country === 'CN' ? [a.street, a.detail] : [a.line1, a.line2])].filter((s): s is string => !!s && s.length >= 4);
    }),
  );
}

describe('the preview placeholders', () => {
  it.each(CARRIER_CODES)('%s: the waybill number placeholder is as long as a real number and is no number of any carrier', (carrier) => {
    const placeholder = placeholderWaybillNo(carrier);
    expect(placeholder).toHaveLength(generateWaybillNo(carrier).length);
    for (const c of CARRIER_CODES) expect(waybillNoProblem(c, placeholder)).toBeDefined();
    expect(waybillNoProblem(carrier, PREVIEW_SYMBOL)).toBeDefined();
  });
});

describe.each(listTemplates(TEMPLATES))('preview: template %s', (templateId) => {
  const template = loadTemplate(TEMPLATES, templateId);
  const mark = PREVIEW_MARK[template.lang];
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-preview-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('shows exactly what a print without relay numbers shows, with placeholders for the number, copy codes, barcode and QR', async () => {
    const preview = await jsonOf((sink) => previewWaybills({ metrics: fontMetrics, now: () => NOW }, { orders, template, sink }));
    const store = SqliteStore.open(path.join(dir, 'print.db'));
    try {
      const printed = await jsonOf((sink) =>
        printWaybills(
          { store, audit: new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database))), keys, scanBaseUrl: 'https://scan.example.com', metrics: fontMetrics, maxLifetimeDays: 90, now: () => NOW },
          { orders, template, format: 'json', sink, channel: 'cli', host: 'test', operator: 'test' },
        ),
      );
      expect(preview).toHaveLength(orders.length);
      preview.forEach((entry, i) => {
        const real = printed[i]!;
        expect(entry.orderId).toBe(real.orderId);
        expect(entry.waybillNo).toBe(placeholderWaybillNo(orders[i]!.carrier));
        expect(entry.copies.map((c) => c.copy)).toEqual(real.copies.map((c) => c.copy));
        entry.copies.forEach((copy, j) => {
          const paper = real.copies[j]!;
          const { waybillNo, copyCode, masterWaybillNo, ...rest } = copy.fields;
          const { waybillNo: realNo, copyCode: realCode, masterWaybillNo: realMaster, ...realRest } = paper.fields;
          // A real number (of any piece) that holds part of a party's phone by chance hides all of that
          // phone's digits (privacyView.ts), which a placeholder cannot: that phone is not compared then.
          for (const key of ['sender.phone', 'recipient.phone'])
            if (rest[key] !== realRest[key] && String(realRest[key]).split(' / ')[0]!.endsWith('*')) {
              delete rest[key];
              delete realRest[key];
            }
          expect(rest).toEqual(realRest);
          expect(waybillNo === undefined).toBe(realNo === undefined);
          if (waybillNo !== undefined) expect(waybillNo).toBe(entry.waybillNo);
          // A child piece names its master: the placeholder here, as no number exists yet.
          expect(masterWaybillNo === undefined).toBe(realMaster === undefined);
          if (masterWaybillNo !== undefined) expect(masterWaybillNo).toBe(entry.waybillNo);
          expect(copyCode === undefined).toBe(realCode === undefined);
          if (copyCode !== undefined) expect(copyCode).toBe(mark);
          expect(copy.copyCode).toBe(mark);
          expect(copy.barcode).toBe(paper.barcode === undefined ? undefined : PREVIEW_SYMBOL);
          expect(copy.qr).toBe(paper.qr === undefined ? undefined : PREVIEW_SYMBOL);
          expect(copy.watermark).toBe(mark);
        });
      });
    } finally {
      await store.close();
    }
  });

  it('stamps every PDF page with extractable 样张 / PREVIEW text, shows no personal data, and its barcodes read PREVIEW', async () => {
    const pdf = path.join(dir, 'preview.pdf');
    const summary = await previewWaybills({ metrics: fontMetrics }, { orders, template, sink: new LabelSink(labelRenderer('pdf', fs.createWriteStream(pdf), template.dpi)) });
    // A label set per piece: multi-piece sample orders preview several.
    const pieces = orders.reduce((n, o) => n + o.parcel.pieces, 0);
    expect(summary).toMatchObject({ waybills: orders.length, labels: pieces * template.labels.length });
    expect(await pdfPageCount(pdf)).toBe(summary.labels);
    const text = await pdfText(pdf);
    const pages = text.split('\f').filter((p) => p.trim());
    expect(pages).toHaveLength(summary.labels);
    for (const page of pages) expect(page).toContain(mark);
    expectAbsent(text, secrets(orders), `${templateId} preview PDF`);
    // No waybill number of any carrier's form anywhere in the text.
    expect(text).not.toMatch(/\b(SF|YT|JD[VXK]?)\d{11,13}\b|\b\d{12,15}\b|\bE[A-Z]\d{9}CN\b/);

    // The first waybill's pages, as a scanner would read them.
    const images = await rasterisePdf(pdf, 203);
    for (const image of images.slice(0, template.labels.length)) {
      const symbols = await decodeBarcodes(image);
      expect(symbols.length).toBeGreaterThan(0);
      for (const s of symbols) expect(s.text).toBe(PREVIEW_SYMBOL);
    }
  });

  it('shows the mark in raster outputs: a PNG has its stamps drawn and its symbols read PREVIEW', async () => {
    const out = memoryOutput();
    await previewWaybills({ metrics: fontMetrics }, { orders: orders.slice(0, 1), template, sink: new LabelSink(labelRenderer('png', out.stream, template.dpi)) });
    const symbols = await decodeBarcodes(out.bytes());
    expect(symbols.map((s) => s.format).sort()).toEqual(expect.arrayContaining(['CODE_128']));
    for (const s of symbols) expect(s.text).toBe(PREVIEW_SYMBOL);

    // The same label with and without the stamps: the stamps add many dots, all inside their frames.
    const layout = plainLayout(template, orders[0]!);
    const stamped = watermarkLayout(layout, mark, fontMetrics);
    for (const [i, label] of layout.labels.entries()) {
      const withMark = stamped.labels[i]!;
      const frames = withMark.ops.slice(label.ops.length).filter((op) => op.op === 'box');
      expect(frames.length).toBeGreaterThan(0);
      const [a, b] = [await rasteriseLabel(label), await rasteriseLabel(withMark)];
      let added = 0;
      for (let y = 0; y < a.height; y++) for (let x = 0; x < a.width; x++) if (getDot(b, x, y) && !getDot(a, x, y)) added++;
      expect(added).toBeGreaterThan(1000);
    }
  });

  it('keeps every stamp off the barcode and the QR, and leaves the layout it was given unchanged', () => {
    const layout = plainLayout(template, orders[0]!);
    const before = JSON.stringify(layout);
    const stamped = watermarkLayout(layout, mark, fontMetrics);
    expect(JSON.stringify(layout)).toBe(before);
    for (const [i, label] of stamped.labels.entries()) {
      const added = label.ops.slice(layout.labels[i]!.ops.length);
      const texts = added.filter((op) => op.op === 'text');
      expect(texts.length).toBeGreaterThan(0);
      for (const t of texts) expect(t).toMatchObject({ text: mark, bold: true });
      const symbolRects = label.ops.flatMap((op) => (op.op === 'modules' ? [{ x: op.x, y: op.y, w: op.modules.cols * op.moduleMm, h: op.modules.rows * op.rowMm }] : []));
      for (const frame of added.filter((op): op is Extract<typeof op, { op: 'box' }> => op.op === 'box'))
        for (const r of symbolRects) expect(frame.x < r.x + r.w && r.x < frame.x + frame.w && frame.y < r.y + r.h && r.y < frame.y + frame.h).toBe(false);
    }
    expect(stamped.shown.every((c) => c.watermark === mark)).toBe(true);
  });
});

/** One order laid out with preview views but without the stamps (what the stamps are drawn over). */
function plainLayout(template: ReturnType<typeof loadTemplate>, order: Order): WaybillLayout {
  const views = new Map(
    template.labels
      .flatMap((l) => l.sections)
      .map((s) => {
        const facts = { order, waybillNo: placeholderWaybillNo(order.carrier), qrUrl: PREVIEW_SYMBOL, relay: {} };
        const print = { copy: s.copy, title: s.title, copyCode: PREVIEW_MARK[template.lang], printNo: 1, printedAt: NOW, lang: template.lang };
        return [s.copy, { ...buildCopyView(facts, print, s.policy), barcode: PREVIEW_SYMBOL }] as const;
      }),
  );
  return layoutWaybill(template, views, fontMetrics);
}
