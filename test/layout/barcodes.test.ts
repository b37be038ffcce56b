import { CODE128_QUIET_MODULES, QR_QUIET_MODULES, encodeCode128, encodeQr, placeCode128, placeQr } from '../../src/layout/barcodes';
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
