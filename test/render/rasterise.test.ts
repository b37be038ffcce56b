// The raster backend: the same drawing operations as the PDF, as a 1-bit image at the printer's
// resolution, whose barcodes a real decoder reads and whose bars are whole dots.

import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { font } from '../../src/fonts/fonts';
import type { LabelDrawing } from '../../src/layout/drawing';
import { layoutWaybill } from '../../src/layout/layoutWaybill';
import { loadTemplate, tailorTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import { getDot } from '../../src/render/bitmap';
import { encodePng } from '../../src/render/pngEncoder';
import { rasteriseLabel } from '../../src/render/rasterise';
import { decodeBarcodes } from '../support/barcodes';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..', '..');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const URL = 'https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv';
const WAYBILL_NO = 'ZT4815162342001';

function courierLabel(templateId: string, dpi: 203 | 300, orderIndex: number) {
  const template = tailorTemplate(loadTemplate(path.join(ROOT, 'templates'), templateId), { copies: ['courier'], dpi });
  const views = new Map<CopyKind, CopyView>();
  for (const s of template.labels.flatMap((l) => l.sections))
    views.set(s.copy, buildCopyView({ order: orders[orderIndex]!, waybillNo: WAYBILL_NO, qrUrl: URL }, { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date(), lang: template.lang }, s.policy));
  return layoutWaybill(template, views, fontMetrics).labels[0]!;
}

describe.each([203, 300] as const)('raster labels at %i dpi', (dpi) => {
  it.each([
    ['cn-4copy', 0],
    ['intl-4x6', 3],
  ])('%s: a 1-bit PNG of the label size whose QR and Code128 decode, with whole-dot bars', async (templateId, orderIndex) => {
    const label = courierLabel(templateId, dpi, orderIndex as number);
    const bitmap = await rasteriseLabel(label);
    expect(bitmap.width).toBe(Math.round((label.widthMm * dpi) / 25.4));
    expect(bitmap.height).toBe(Math.round((label.heightMm * dpi) / 25.4));

    const png = encodePng([bitmap], dpi);
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({ format: 'png', width: bitmap.width, height: bitmap.height, density: dpi });
    expect([png[24], png[25]]).toEqual([1, 3]); // IHDR: bit depth 1, colour type 3 (palette)
    const symbols = await decodeBarcodes(png);
    expect(symbols).toEqual(expect.arrayContaining([{ format: 'QR_CODE', text: URL }, { format: 'CODE_128', text: WAYBILL_NO }]));

    // Along a row through the Code128, every bar and space is a whole number of modules of whole dots.
    const bars = label.ops.find((op) => op.op === 'modules' && op.symbol === 'code128');
    if (bars?.op !== 'modules') throw new Error('no Code128 on the courier copy');
    const y = Math.round(((bars.y + bars.rowMm / 2) * dpi) / 25.4);
    const x0 = Math.round((bars.x * dpi) / 25.4);
    const x1 = Math.round(((bars.x + bars.modules.cols * bars.moduleMm) * dpi) / 25.4);
    const runs: number[] = [];
    for (let x = x0, run = 0, dark = true; x <= x1; x++) {
      const d = x < x1 && getDot(bitmap, x, y);
      if (d === dark) run++;
      else {
        runs.push(run);
        run = 1;
        dark = d;
      }
    }
    const moduleDots = Math.min(...runs);
    expect(moduleDots).toBeGreaterThanOrEqual(1);
    for (const r of runs) expect(r % moduleDots).toBe(0);
  });
});

/** The text of a label drawn the slow, exact way: every glyph at its fractional position in one SVG, as black/white dots. */
async function referenceText(label: LabelDrawing, dpi: number): Promise<boolean[][]> {
  const [width, height] = [Math.round((label.widthMm * dpi) / 25.4), Math.round((label.heightMm * dpi) / 25.4)];
  const paths: string[] = [];
  for (const op of label.ops) {
    if (op.op !== 'text') continue;
    const f = font(op.bold ? 'bold' : 'regular');
    const sizeDots = (op.sizePt / 72) * dpi;
    const scale = sizeDots / f.unitsPerEm;
    let x = (op.x * dpi) / 25.4;
    for (const ch of op.text) {
      const g = f.glyphForCodePoint(ch.codePointAt(0)!);
      paths.push(`<path transform="translate(${x} ${(op.baseline * dpi) / 25.4}) scale(${scale} ${-scale})" d="${g.path.toSVG()}"/>`);
      x += (g.advanceWidth / f.unitsPerEm) * sizeDots;
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${paths.join('')}</svg>`;
  const { data } = await sharp(Buffer.from(svg), { density: 72 }).greyscale().raw().toBuffer({ resolveWithObject: true });
  return Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => data[y * width + x]! < 128));
}

/** Black dots of `a` with no black dot of `b` within one dot of them. */
function strays(a: (x: number, y: number) => boolean, b: (x: number, y: number) => boolean, width: number, height: number): number {
  let n = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (!a(x, y)) continue;
      let near = false;
      for (let dy = -1; dy <= 1 && !near; dy++) for (let dx = -1; dx <= 1 && !near; dx++) near = b(x + dx, y + dy);
      if (!near) n++;
    }
  return n;
}

describe.each([203, 300] as const)('raster text at %i dpi', (dpi) => {
  it('stamps each glyph at a whole dot: within one dot of drawing the line exactly, and the same from the glyph cache', async () => {
    const label: LabelDrawing = {
      widthMm: 76,
      heightMm: 24,
      dpi,
      ops: [
        { op: 'text', x: 2.13, baseline: 7.4, sizePt: 9, bold: false, text: '浙江省 杭州市 西湖区 571-W12 Øresund' },
        { op: 'text', x: 3.07, baseline: 18.9, sizePt: 16, bold: true, text: '重印 第2次 REPRINT #2' },
      ],
    };
    const first = await rasteriseLabel(label);
    const cached = await rasteriseLabel(label);
    expect(cached.data.equals(first.data)).toBe(true);

    const exact = await referenceText(label, dpi);
    const inBounds = (x: number, y: number) => x >= 0 && y >= 0 && x < first.width && y < first.height;
    const ours = (x: number, y: number) => inBounds(x, y) && getDot(first, x, y);
    const theirs = (x: number, y: number) => inBounds(x, y) && exact[y]![x]!;
    let black = 0;
    for (let y = 0; y < first.height; y++) for (let x = 0; x < first.width; x++) if (ours(x, y)) black++;
    expect(black).toBeGreaterThan(500);
    expect(strays(ours, theirs, first.width, first.height)).toBe(0);
    expect(strays(theirs, ours, first.width, first.height)).toBe(0);
  });
});
