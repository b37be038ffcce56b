import { randomInt } from 'node:crypto';
import { CODE128_QUIET_MODULES, QR_QUIET_MODULES, encodeCode128, encodeQr, placeCode128, placeQr, sizeCode128, sizeQr } from '../../src/layout/barcodes';
import { mmToDots } from '../../src/layout/units';

const isWholeDots = (mm: number, dpi: number) => Math.abs(mmToDots(mm, dpi) - Math.round(mmToDots(mm, dpi))) < 1e-6;

describe.each([203, 300])('barcodes at %i dpi', (dpi) => {
  it('places every Code128 bar on whole dots, with 10-module quiet zones inside the box', () => {
    const box = { x: 3.1, y: 29, w: 94, h: 15 };
    const placed = placeCode128(encodeCode128('ZT1234567890128'), box, dpi)!;
    expect(placed.moduleDots).toBeGreaterThanOrEqual(1);
    const moduleMm = (placed.moduleDots * 25.4) / dpi;
    for (const r of placed.rects) for (const v of [r.x, r.y, r.w, r.h]) expect(isWholeDots(v, dpi)).toBe(true);
    const left = Math.min(...placed.rects.map((r) => r.x));
    const right = Math.max(...placed.rects.map((r) => r.x + r.w));
    expect(left - box.x).toBeGreaterThanOrEqual(CODE128_QUIET_MODULES * moduleMm - 1e-6);
    expect(box.x + box.w - right).toBeGreaterThanOrEqual(CODE128_QUIET_MODULES * moduleMm - 1e-6);
  });

  it('places QR modules on whole dots with a 4-module quiet zone', () => {
    const box = { x: 70.3, y: 53, w: 28, h: 28 };
    const placed = placeQr(encodeQr('https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv'), box, dpi)!;
    const moduleMm = (placed.moduleDots * 25.4) / dpi;
    for (const r of placed.rects) for (const v of [r.x, r.y, r.w, r.h]) expect(isWholeDots(v, dpi)).toBe(true);
    expect(Math.min(...placed.rects.map((r) => r.x)) - box.x).toBeGreaterThanOrEqual(QR_QUIET_MODULES * moduleMm - 1e-6);
    expect(box.y + box.h - Math.max(...placed.rects.map((r) => r.y + r.h))).toBeGreaterThanOrEqual(QR_QUIET_MODULES * moduleMm - 1e-6);
  });

  it('refuses a box too small for even one-dot modules', () => {
    expect(placeCode128(encodeCode128('ZT1234567890128'), { x: 0, y: 0, w: 10, h: 10 }, dpi)).toBeUndefined();
  });
});

describe('sizing a symbol without drawing it (a JSON answer)', () => {
  // Random data in the shapes that reach a Code128 (letters, digits, given numbers with dashes and
  // lower case) and a QR (scan URLs of any length, also non-ASCII), in boxes from too small to roomy.
  const pick = (chars: string, n: number) => Array.from({ length: n }, () => chars[randomInt(chars.length)]).join('');
  const code128Data = () => pick('0123456789ABCZTYD-abz/ ', 1 + randomInt(24));
  const qrData = () => `https://scan.example.com/${pick('abcXYZ019_-', randomInt(120))}${randomInt(4) === 0 ? '/路' : ''}`;
  const box = () => ({ x: randomInt(20), y: randomInt(20), w: 5 + randomInt(100), h: 5 + randomInt(40) });

  it.each([203, 300])('gives every Code128 the fit and module size of the drawn symbol at %i dpi', (dpi) => {
    for (let i = 0; i < 400; i++) {
      const data = code128Data();
      const b = box();
      expect({ data, b, sized: sizeCode128(data, b, dpi)?.moduleDots }).toEqual({ data, b, sized: placeCode128(encodeCode128(data), b, dpi)?.moduleDots });
    }
  });

  it.each([203, 300])('gives every QR the fit and module size of the drawn symbol at %i dpi', (dpi) => {
    for (let i = 0; i < 150; i++) {
      const data = qrData();
      const b = box();
      expect({ data, b, sized: sizeQr(data, b, dpi)?.moduleDots }).toEqual({ data, b, sized: placeQr(encodeQr(data), b, dpi)?.moduleDots });
    }
  });

  it('draws nothing', () => {
    expect(sizeCode128('ZT1234567890128', { x: 0, y: 0, w: 94, h: 15 }, 203)).toEqual({ rects: [], moduleDots: expect.any(Number) });
    expect(sizeQr('https://scan.example.com/w/1AbC', { x: 0, y: 0, w: 28, h: 28 }, 203)).toEqual({ rects: [], moduleDots: expect.any(Number) });
  });
});
