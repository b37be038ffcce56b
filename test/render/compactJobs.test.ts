// Compact printer jobs (issue 19): a printer may draw the barcodes itself (ZPL ^BC/^BQ, TSPL BARCODE/QRCODE,
// CPCL BARCODE 128/B QR) and, in TSPL and CPCL, the text in its resident font; CPCL and TSPL send only the inked
// parts of the raster. Read back like a printer would: every native command carries the layout's value,
// position and whole-dot module, the graphics hold no symbol and exactly the dots the layout left to them,
// and with everything raster the printed dots are today's, dot for dot.

import fs from 'node:fs';
import path from 'node:path';
import type { DrawOp, LabelDrawing } from '../../src/layout/drawing';
import { layoutWaybill } from '../../src/layout/layoutWaybill';
import { loadTemplate, tailorTemplate, type LoadedTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import { WaybillError } from '../../src/errors';
import { LabelQuery, parseQuery, renderOptionsOf } from '../../src/http/labelFormat';
import { NewPrinter } from '../../src/printers/printer';
import type { Bitmap } from '../../src/render/bitmap';
import { memoryOutput } from '../../src/render/memoryOutput';
import { labelRenderer, type RenderOptions } from '../../src/render/outputFormats';
import { encodePng } from '../../src/render/pngEncoder';
import { rasteriseLabel, solidRects } from '../../src/render/rasterise';
import { encodeTspl } from '../../src/render/tsplEncoder';
import { encodeZpl } from '../../src/render/zplEncoder';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { decodeBarcodes } from '../support/barcodes';
import { decodeCpclLabels, decodeTsplLabels, decodeZpl } from '../support/printerDecoders';
import { ZT_DOMESTIC } from '../support/samples';
import { STORE_BACKENDS } from '../support/storeBackends';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const order = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson')[0]!;
const URL = 'https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv';
const WAYBILL_NO = 'ZT4815162342001';
const DPI = 203;

function fourCopy(): { template: LoadedTemplate; labels: LabelDrawing[] } {
  const template = tailorTemplate(loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy'), { dpi: DPI });
  const views = new Map<CopyKind, CopyView>();
  for (const s of template.labels.flatMap((l) => l.sections))
    views.set(s.copy, buildCopyView({ order, waybillNo: WAYBILL_NO, qrUrl: URL }, { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date(), lang: 'zh' }, s.policy));
  return { template, labels: layoutWaybill(template, views, fontMetrics).labels };
}
const { template, labels } = fourCopy();

async function job(format: 'zpl' | 'tspl' | 'cpcl', opts: RenderOptions): Promise<Buffer> {
  const out = memoryOutput();
  const renderer = labelRenderer(format, out.stream, DPI, opts);
  for (const label of labels) await renderer.addLabel(label);
  await renderer.finish();
  return out.bytes();
}

interface Symbol {
  symbol: 'code128' | 'qr';
  value: string;
  x: number;
  y: number;
  module: number;
}

/** The symbols the layout placed on a label: value, top-left in dots, module in dots. */
function laidOut(label: LabelDrawing): Symbol[] {
  return label.ops.flatMap((op) => {
    if (op.op !== 'modules') return [];
    const rects = solidRects(op, DPI);
    return [{ symbol: op.symbol, value: op.value!, x: Math.min(...rects.map((r) => r.x0)), y: Math.min(...rects.map((r) => r.y0)), module: op.moduleDots! }];
  });
}

/** The template's boxes for the symbols of label `i`, in dots. */
function boxes(i: number, kind: 'code128' | 'qr') {
  const d = (mm: number) => Math.round((mm * DPI) / 25.4);
  return template.labels[i]!.sections.flatMap((s) =>
    s.elements.flatMap((e) =>
      e.type === kind ? [{ x0: d(s.x + e.x), y0: d(s.y + e.y), x1: d(s.x + e.x + (e.type === 'qr' ? e.size : e.w)), y1: d(s.y + e.y + (e.type === 'qr' ? e.size : e.h)) }] : [],
    ),
  );
}

const same = (a: Bitmap, b: Bitmap) => a.height === b.height && a.bytesPerRow === b.bytesPerRow && a.data.equals(b.data);
const notSymbols = (op: DrawOp) => op.op !== 'modules';

function expectLaidOut(found: Symbol[][]): void {
  expect(found).toHaveLength(labels.length);
  found.forEach((symbols, i) => {
    const expected = laidOut(labels[i]!);
    expect(symbols).toEqual(expected);
    for (const s of symbols) {
      expect(s.value).toBe(s.symbol === 'code128' ? WAYBILL_NO : URL);
      expect(Number.isInteger(s.module) && s.module >= 2).toBe(true);
      // Inside the template's box for the symbol.
      expect(boxes(i, s.symbol).some((b) => s.x >= b.x0 && s.y >= b.y0 && s.x < b.x1 && s.y < b.y1)).toBe(true);
    }
  });
  expect(found.flat().some((s) => s.symbol === 'qr')).toBe(true);
}

/** The graphics show no barcode, and are exactly the label without its symbols (the masked text included). */
async function expectRasterWithoutSymbols(bitmaps: Bitmap[], keep: (op: DrawOp) => boolean = notSymbols): Promise<void> {
  expect(bitmaps).toHaveLength(labels.length);
  for (const [i, bitmap] of bitmaps.entries()) {
    expect(same(bitmap, await rasteriseLabel(labels[i]!, DPI, keep))).toBe(true);
    expect(await decodeBarcodes(encodePng([bitmap], DPI))).toEqual([]);
  }
}

describe('barcodes=native', () => {
  it('ZPL: ^BC and ^BQ carry the waybill number and the QR URL at the layout position, module in whole dots', async () => {
    const zpl = (await job('zpl', { barcodes: 'native' })).toString('ascii');
    const unescape = (s: string) => s.replace(/_([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    const found = zpl
      .split('^XZ')
      .filter((b) => b.includes('^XA'))
      .map((block) =>
        [...block.matchAll(/\^BY(\d+),3,(\d+)\^FO(\d+),(\d+)\^BCN,(\d+),N,N,N,A\^FH_\^FD([^^]*)\^FS|\^FO(\d+),(\d+)\^BQN,2,(\d+)\^FH_\^FDMA,([^^]*)\^FS/g)].map(
          (m): Symbol =>
            m[1]
              ? { symbol: 'code128', value: unescape(m[6]!), x: Number(m[3]), y: Number(m[4]), module: Number(m[1]) }
              : { symbol: 'qr', value: unescape(m[10]!), x: Number(m[7]), y: Number(m[8]), module: Number(m[9]) },
        ),
      );
    expectLaidOut(found);
    await expectRasterWithoutSymbols(decodeZpl(Buffer.from(zpl, 'ascii')));
  });

  it('TSPL: BARCODE "128" and QRCODE (level M) carry the values at the layout position, module in whole dots', async () => {
    const decoded = decodeTsplLabels(await job('tspl', { barcodes: 'native' }), DPI);
    const found = decoded.map(({ commands }) =>
      commands.flatMap((line): Symbol[] => {
        const bc = /^BARCODE (\d+),(\d+),"128",(\d+),0,0,(\d+),(\d+),"(.*)"$/.exec(line);
        const qr = /^QRCODE (\d+),(\d+),M,(\d+),A,0,"(.*)"$/.exec(line);
        if (bc) return [{ symbol: 'code128', value: bc[6]!, x: Number(bc[1]), y: Number(bc[2]), module: Number(bc[4]) }];
        if (qr) return [{ symbol: 'qr', value: qr[4]!, x: Number(qr[1]), y: Number(qr[2]), module: Number(qr[3]) }];
        throw new Error('an unexpected TSPL command');
      }),
    );
    expectLaidOut(found);
    await expectRasterWithoutSymbols(decoded.map((l) => l.bitmap));
  });

  it('CPCL: BARCODE 128 and B QR (level M) carry the values at the layout position, module in whole dots', async () => {
    const decoded = decodeCpclLabels(await job('cpcl', { barcodes: 'native' }));
    const found = decoded.map(({ commands }) => {
      const symbols: Symbol[] = [];
      for (let i = 0; i < commands.length; i++) {
        const bc = /^BARCODE 128 (\d+) 1 (\d+) (\d+) (\d+) (.*)$/.exec(commands[i]!);
        const qr = /^B QR (\d+) (\d+) M 2 U (\d+)$/.exec(commands[i]!);
        if (bc) symbols.push({ symbol: 'code128', value: bc[5]!, x: Number(bc[3]), y: Number(bc[4]), module: Number(bc[1]) });
        else if (qr) {
          expect(commands[i + 2]).toBe('ENDQR');
          symbols.push({ symbol: 'qr', value: /^MA,(.*)$/.exec(commands[i + 1]!)![1]!, x: Number(qr[1]), y: Number(qr[2]), module: Number(qr[3]) });
          i += 2;
        } else throw new Error('an unexpected CPCL command');
      }
      return symbols;
    });
    expectLaidOut(found);
    await expectRasterWithoutSymbols(decoded.map((l) => l.bitmap));
  });
});

interface PrinterText {
  x: number;
  y: number;
  mul: number;
  text: string;
}
const gb = new TextDecoder('gb18030');

/** TSPL: `TEXT x,y,"font",0,mx,my,"text"`, the magnification in the command. */
function tsplTexts(commands: string[]): PrinterText[] {
  return commands.flatMap((line) => {
    const m = /^TEXT (\d+),(\d+),"TSS24\.BF2",0,(\d+),(\d+),"(.*)"$/s.exec(line);
    return m ? [{ x: Number(m[1]), y: Number(m[2]), mul: Number(m[3]), text: gb.decode(Buffer.from(m[5]!, 'latin1')).replace(/\\\["\]/g, '"') }] : [];
  });
}

/** CPCL: `COUNTRY CHINA` first, `SETMAG m m` before a change of size, `TEXT font 0 x y text`, SETMAG 0 0 last. */
function cpclTexts(commands: string[]): PrinterText[] {
  const first = commands.findIndex((c) => c.startsWith('TEXT '));
  expect(commands[first - 1]).toMatch(/^SETMAG [1-9]\d* [1-9]\d*$/);
  expect(commands.slice(0, first)).toContain('COUNTRY CHINA');
  expect(commands.at(-1)).toBe('SETMAG 0 0');
  let mul = 0;
  return commands.flatMap((line) => {
    const mag = /^SETMAG (\d+) \1$/.exec(line);
    if (mag) mul = Number(mag[1]);
    const m = /^TEXT 24 0 (\d+) (\d+) (.*)$/s.exec(line);
    return m ? [{ x: Number(m[1]), y: Number(m[2]), mul, text: gb.decode(Buffer.from(m[3]!, 'latin1')) }] : [];
  });
}

describe('text=printer-font (TSPL, CPCL)', () => {
  it.each([
    ['tspl', (b: Buffer) => decodeTsplLabels(b, DPI), tsplTexts],
    ['cpcl', decodeCpclLabels, cpclTexts],
  ] as const)('%s draws every text line with TEXT in the resident font, GB2312: the masked text, at the layout position', async (format, decode, textsOf) => {
    const decoded = decode(await job(format, { barcodes: 'native', text: 'printer-font' }));
    for (const [i, { commands, bitmap }] of decoded.entries()) {
      const texts = textsOf(commands);
      const ops = labels[i]!.ops.filter((op): op is Extract<DrawOp, { op: 'text' }> => op.op === 'text');
      expect(texts.map((t) => t.text)).toEqual(ops.map((op) => op.text));
      texts.forEach((t, j) => {
        expect(t.x).toBe(Math.round((ops[j]!.x * DPI) / 25.4));
        expect(t.y).toBeLessThan(Math.round((ops[j]!.baseline * DPI) / 25.4)); // the cell's top, above the baseline
        expect(t.mul).toBeGreaterThanOrEqual(1);
      });
      // What is left in dots: the lines and boxes, as fills.
      expect(same(bitmap, await rasteriseLabel(labels[i]!, DPI, (op) => op.op === 'line' || op.op === 'box'))).toBe(true);
    }
    // The masked text is what the printer gets: not the recipient's full name, nor the phone.
    const all = decoded.flatMap((l) => l.commands).join('\n');
    const gbAll = gb.decode(Buffer.from(all, 'latin1'));
    expect(gbAll).toContain(WAYBILL_NO);
    expect(gbAll).not.toContain(order.recipient.name);
    expect(gbAll).not.toContain(order.recipient.phone.replace(/\D/g, '').slice(-8));
  });

  it('is refused for other languages, naming the field', async () => {
    for (const format of ['zpl', 'pdf'] as const) {
      let error: unknown;
      try {
        renderOptionsOf(parseQuery(LabelQuery, { format, text: 'printer-font' }), format);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WaybillError);
      expect((error as WaybillError).code).toBe('invalid_input');
      expect((error as WaybillError).issues).toEqual([expect.objectContaining({ path: ['query', 'text'] })]);
      expect(() => labelRenderer(format, memoryOutput().stream, DPI, { text: 'printer-font' })).toThrow(WaybillError);
      // A resident font means nothing to them either.
      expect(() => renderOptionsOf(parseQuery(LabelQuery, { format, font: 'TSS24.BF2' }), format)).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ path: ['query', 'font'] })] }));
    }
    expect(renderOptionsOf(parseQuery(LabelQuery, { format: 'tspl', barcodes: 'native', text: 'printer-font' }), 'tspl')).toEqual({ barcodes: 'native', text: 'printer-font' });
  });

  it('takes only the CPCL fonts whose cell it knows (24, 55), naming the field', () => {
    expect(renderOptionsOf(parseQuery(LabelQuery, { format: 'cpcl', text: 'printer-font', font: '55' }), 'cpcl')).toEqual({ text: 'printer-font', font: '55' });
    for (const font of ['TSS24.BF2', '7']) {
      let error: unknown;
      try {
        renderOptionsOf(parseQuery(LabelQuery, { format: 'cpcl', text: 'printer-font', font }), 'cpcl');
      } catch (e) {
        error = e;
      }
      expect((error as WaybillError).issues).toEqual([expect.objectContaining({ path: ['query', 'font'] })]);
    }
  });

  it('CPCL font 55 (16×16 cells) is magnified to the layout size in whole steps, never past it by more than 10%', async () => {
    const decoded = decodeCpclLabels(await job('cpcl', { barcodes: 'native', text: 'printer-font', font: '55' }));
    const mags = decoded.flatMap((l) => l.commands).flatMap((c) => /^SETMAG (\d+) /.exec(c)?.[1] ?? []).map(Number);
    expect(Math.max(...mags)).toBeGreaterThan(1);
    for (const [i, { commands }] of decoded.entries()) {
      const ops = labels[i]!.ops.filter((op): op is Extract<DrawOp, { op: 'text' }> => op.op === 'text');
      let mul = 0;
      const sizes = commands.flatMap((c) => {
        const mag = /^SETMAG (\d+) /.exec(c);
        if (mag) mul = Number(mag[1]);
        return c.startsWith('TEXT 55 0 ') ? [16 * mul] : [];
      });
      sizes.forEach((dots, j) => expect(dots).toBeLessThanOrEqual(Math.max(16, ((ops[j]!.sizePt / 72) * DPI) * 1.1)));
    }
  });
});

describe('compressed graphics, everything raster', () => {
  it('CPCL sends CG (binary) of the inked regions, and they print exactly the whole-label raster', async () => {
    const cpcl = await job('cpcl', {});
    expect(cpcl.includes('\r\nEG ')).toBe(false);
    expect(cpcl.includes('\r\nCG ')).toBe(true);
    const decoded = decodeCpclLabels(cpcl);
    for (const [i, { bitmap, commands }] of decoded.entries()) {
      expect(commands).toEqual([]);
      expect(same(bitmap, await rasteriseLabel(labels[i]!, DPI))).toBe(true);
    }
  });

  it('TSPL sends BITMAPs of the inked regions and BAR fills, printing exactly the whole-label raster', async () => {
    const decoded = decodeTsplLabels(await job('tspl', {}), DPI);
    for (const [i, { bitmap, commands }] of decoded.entries()) {
      expect(commands).toEqual([]);
      expect(same(bitmap, await rasteriseLabel(labels[i]!, DPI))).toBe(true);
    }
  });

  it('ZPL is byte for byte today’s job, and the eg CPCL option keeps today’s hex', async () => {
    const today = Buffer.concat(await Promise.all(labels.map(async (l) => encodeZpl(await rasteriseLabel(l, DPI), 'z64'))));
    expect((await job('zpl', {})).equals(today)).toBe(true);
    expect((await job('cpcl', { cpclGraphics: 'eg' })).toString('ascii')).toMatch(/^! 0 200 200 \d+ 1\r\nPAGE-WIDTH \d+\r\nEG /);
  });
});

describe('job size of a four-copy waybill at 203 dpi', () => {
  it('is at most 40 KB in ZPL by default, and in TSPL and CPCL with native barcodes and the printer font', async () => {
    expect((await job('zpl', {})).length).toBeLessThanOrEqual(40 * 1024);
    expect((await job('tspl', { barcodes: 'native', text: 'printer-font' })).length).toBeLessThanOrEqual(40 * 1024);
    expect((await job('cpcl', { barcodes: 'native', text: 'printer-font' })).length).toBeLessThanOrEqual(40 * 1024);
  });

  it('CPCL and TSPL send at most a tenth of today’s whole-label graphics', async () => {
    const eg = (await job('cpcl', { cpclGraphics: 'eg' })).length;
    expect((await job('cpcl', {})).length).toBeLessThan(eg / 10);
    const today = (await Promise.all(labels.map(async (l) => encodeTspl(await rasteriseLabel(l, DPI), l)))).reduce((n, b) => n + b.length, 0);
    expect((await job('tspl', {})).length).toBeLessThan(today / 5);
  });
});

it('printers registered without the options keep raster barcodes and text, so their jobs do not change', () => {
  const p = NewPrinter.parse({ name: 'dock-1', host: '10.0.0.5', language: 'tspl' });
  expect(p.barcodes).toBe('raster');
  expect(p.text).toBe('raster');
});

describe('over HTTP: the label query', () => {
  let w: ApiWorld;
  beforeAll(async () => {
    w = await startApiWorld(STORE_BACKENDS[0]![1], { WAYBILL_LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    await stopApiWorld(w);
  });
  const call = (method: string, route: string, body?: unknown) =>
    fetch(`${w.running.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${w.acme}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it('takes barcodes=native and text=printer-font for TSPL, and refuses printer-font for ZPL naming query.text', async () => {
    const created = (await (await call('POST', '/v1/waybills', { ...ZT_DOMESTIC, orderId: `COMPACT-${process.pid}` })).json()) as { id: string; waybillNo: string };
    const res = await call('GET', `/v1/waybills/${created.id}/label?format=tspl&copies=courier&barcodes=native&text=printer-font`);
    expect(res.status).toBe(200);
    const [label] = decodeTsplLabels(Buffer.from(await res.arrayBuffer()), DPI);
    expect(label!.commands).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^BARCODE \\d+,\\d+,"128",\\d+,0,0,\\d+,\\d+,"${created.waybillNo}"$`)), expect.stringMatching(/^QRCODE /), expect.stringMatching(/^TEXT /)]));

    const refused = await call('GET', `/v1/waybills/${created.id}/label?format=zpl&text=printer-font`);
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { errors: { path: string }[] }).errors).toEqual([expect.objectContaining({ path: 'query.text' })]);
  });
});
