// The raster backend: the same drawing operations as the PDF, as a 1-bit image at the printer's
// resolution, whose barcodes a real decoder reads and whose bars are whole dots.

import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
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
    const y = Math.round(((bars.rects[0]!.y + bars.rects[0]!.h / 2) * dpi) / 25.4);
    const x0 = Math.round((bars.rects[0]!.x * dpi) / 25.4);
    const last = bars.rects[bars.rects.length - 1]!;
    const x1 = Math.round(((last.x + last.w) * dpi) / 25.4);
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
