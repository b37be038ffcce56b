// Printer languages only encode the raster: decoding our ZPL (both compressions) and TSPL must give back
// the very bitmap the PNG shows, dot for dot, and the barcodes must still decode from it.

import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { layoutWaybill } from '../../src/layout/layoutWaybill';
import { loadTemplate, tailorTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import { createBitmap, getDot, setDot, type Bitmap } from '../../src/render/bitmap';
import { encodePng } from '../../src/render/pngEncoder';
import { rasteriseLabel } from '../../src/render/rasterise';
import { encodeTspl } from '../../src/render/tsplEncoder';
import { crc16, encodeZpl } from '../../src/render/zplEncoder';
import { encodeCpcl } from '../../src/render/cpclEncoder';
import { decodeBarcodes } from '../support/barcodes';
import { decodeCpcl, decodeTspl, decodeZpl } from '../support/printerDecoders';

jest.setTimeout(60_000);

function seeded(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

function sample(width: number, height: number, kind: 'noise' | 'runs' | 'rows', seed: number): Bitmap {
  const b = createBitmap(width, height);
  const r = seeded(seed);
  let row: boolean[] = [];
  for (let y = 0; y < height; y++) {
    const edge = width * r(); // 'runs' and 'rows': black up to a random edge, white after it
    if (kind !== 'rows' || y % 7 === 0 || row.length === 0) row = Array.from({ length: width }, (_, x) => (kind === 'noise' ? r() < 0.5 : x < edge));
    row.forEach((black, x) => setDot(b, x, y, black));
  }
  return b;
}

const same = (a: Bitmap, b: Bitmap) => a.height === b.height && a.bytesPerRow === b.bytesPerRow && a.data.equals(b.data);
const SAMPLES = [
  ['noise 203 dpi 100 mm', sample(799, 60, 'noise', 1)],
  ['long runs, 300 dpi 4 in', sample(1200, 80, 'runs', 2)],
  ['repeated rows, odd width', sample(333, 90, 'rows', 3)],
  ['all white', createBitmap(801, 40)],
] as const;

describe.each(SAMPLES)('round trip: %s', (_name, bitmap) => {
  it.each(['z64', 'acs'] as const)('ZPL ^GFA with %s decodes to the same bitmap', (compression) => {
    const [back] = decodeZpl(encodeZpl(bitmap, compression));
    expect(back!.width).toBe(bitmap.width);
    expect(same(back!, bitmap)).toBe(true);
  });
  it('CPCL EG decodes to the same bitmap', () => {
    const [back] = decodeCpcl(encodeCpcl(bitmap));
    expect(back!.width).toBe(bitmap.width);
    expect(same(back!, bitmap)).toBe(true);
  });
  it('TSPL BITMAP decodes to the same bitmap', () => {
    const [back] = decodeTspl(encodeTspl(bitmap, { widthMm: 100, heightMm: 150 }));
    expect(same(back!, bitmap)).toBe(true);
  });
});

it('Z64 carries the CRC-16/XMODEM printers check (a wrong one makes the printer drop the job)', () => {
  expect(crc16('123456789')).toBe(0x31c3);
});

it('command text is printable ASCII and CRLF, outside the binary TSPL bitmap', () => {
  const b = SAMPLES[0][1];
  for (const bytes of [encodeZpl(b, 'z64'), encodeZpl(b, 'acs'), encodeCpcl(b)]) expect(bytes.toString('latin1')).toMatch(/^[\x20-\x7e\r\n]*$/);
  const tspl = encodeTspl(b, { widthMm: 100, heightMm: 150 }).toString('latin1');
  expect(tspl.slice(0, tspl.indexOf('BITMAP'))).toMatch(/^[\x20-\x7e\r\n]*$/);
});

it('ACS compresses a mostly white label far below raw hex', () => {
  const b = createBitmap(800, 1200);
  for (let y = 100; y < 300; y++) for (let x = 100; x < 700; x += 4) setDot(b, x, y, true);
  const acs = encodeZpl(b, 'acs').length;
  expect(acs).toBeLessThan((b.data.length * 2) / 20);
});

const ROOT = path.join(__dirname, '..', '..');
const order = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson')[0]!;
const URL = 'https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv';

describe.each([203, 300] as const)('a real courier label at %i dpi', (dpi) => {
  it('is the same in PNG, ZPL (Z64 and ACS), TSPL and CPCL, and its barcodes decode from the printer bytes', async () => {
    const template = tailorTemplate(loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy'), { copies: ['courier'], dpi });
    const views = new Map<CopyKind, CopyView>();
    for (const s of template.labels.flatMap((l) => l.sections))
      views.set(s.copy, buildCopyView({ order, waybillNo: 'ZT4815162342001', qrUrl: URL }, { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date(), lang: 'zh' }, s.policy));
    const label = layoutWaybill(template, views, fontMetrics).labels[0]!;
    const bitmap = await rasteriseLabel(label);

    // The PNG, read back pixel by pixel, is the bitmap.
    const { data, info } = await sharp(encodePng([bitmap], dpi)).greyscale().raw().toBuffer({ resolveWithObject: true });
    let differing = 0;
    for (let y = 0; y < bitmap.height; y++) for (let x = 0; x < bitmap.width; x++) if ((data[(y * info.width + x) * info.channels]! < 128) !== getDot(bitmap, x, y)) differing++;
    expect(differing).toBe(0);

    for (const decoded of [decodeZpl(encodeZpl(bitmap, 'z64'))[0]!, decodeZpl(encodeZpl(bitmap, 'acs'))[0]!, decodeTspl(encodeTspl(bitmap, label))[0]!, decodeCpcl(encodeCpcl(bitmap))[0]!]) {
      expect(same(decoded, bitmap)).toBe(true);
    }
    const fromZpl = decodeZpl(encodeZpl(bitmap, 'acs'))[0]!;
    const symbols = await decodeBarcodes(encodePng([fromZpl], dpi));
    expect(symbols).toEqual(expect.arrayContaining([{ format: 'QR_CODE', text: URL }, { format: 'CODE_128', text: 'ZT4815162342001' }]));
  });
});
