import { randomInt } from 'node:crypto';
import { CODE128_QUIET_MODULES, QR_QUIET_MODULES, code128Modules, code128Width, encodeCode128, encodeQr, placeCode128, placeQr, qrModules, qrSize } from '../../src/layout/barcodes';
import { mmToDots } from '../../src/layout/units';

const isWholeDots = (mm: number, dpi: number) => Math.abs(mmToDots(mm, dpi) - Math.round(mmToDots(mm, dpi))) < 1e-6;

describe.each([203, 300])('barcodes at %i dpi', (dpi) => {
  it('places a Code128 with its module, bar height and left edge on whole dots, and 10-module quiet zones inside the box', () => {
    const box = { x: 3.1, y: 29, w: 94, h: 15 };
    const { cols } = code128Modules(encodeCode128('ZT1234567890128'));
    const placed = placeCode128(cols, box, dpi)!;
    expect(placed.moduleDots).toBeGreaterThanOrEqual(1);
    expect(placed.moduleMm).toBeCloseTo((placed.moduleDots * 25.4) / dpi, 9);
    for (const v of [placed.x, placed.y, placed.moduleMm, placed.rowMm]) expect(isWholeDots(v, dpi)).toBe(true);
    expect(placed.x - box.x).toBeGreaterThanOrEqual(CODE128_QUIET_MODULES * placed.moduleMm - 1e-6);
    expect(box.x + box.w - (placed.x + cols * placed.moduleMm)).toBeGreaterThanOrEqual(CODE128_QUIET_MODULES * placed.moduleMm - 1e-6);
  });

  it('places a QR with square modules on whole dots and a 4-module quiet zone', () => {
    const box = { x: 70.3, y: 53, w: 28, h: 28 };
    const { size } = encodeQr('https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv');
    const placed = placeQr(size, box, dpi)!;
    expect(placed.rowMm).toBe(placed.moduleMm);
    for (const v of [placed.x, placed.y, placed.moduleMm]) expect(isWholeDots(v, dpi)).toBe(true);
    expect(placed.x - box.x).toBeGreaterThanOrEqual(QR_QUIET_MODULES * placed.moduleMm - 1e-6);
    expect(box.y + box.h - (placed.y + size * placed.moduleMm)).toBeGreaterThanOrEqual(QR_QUIET_MODULES * placed.moduleMm - 1e-6);
  });

  it('refuses a box too small for even one-dot modules', () => {
    expect(placeCode128(code128Modules(encodeCode128('ZT1234567890128')).cols, { x: 0, y: 0, w: 10, h: 10 }, dpi)).toBeUndefined();
    expect(placeQr(encodeQr('https://scan.example.com/w/1AbC').size, { x: 0, y: 0, w: 2, h: 2 }, dpi)).toBeUndefined();
  });
});

describe('modules as runs', () => {
  it('makes one run per Code128 bar, at its column and of its width, on one row as wide as the symbol', () => {
    const widths = encodeCode128('ZT1234567890128');
    const { cols, rows, runs } = code128Modules(widths);
    expect({ cols, rows }).toEqual({ cols: widths.reduce((a, b) => a + b, 0), rows: 1 });
    const bars: number[][] = [];
    for (let i = 0, col = 0; i < widths.length; col += widths[i]!, i++) if (i % 2 === 0) bars.push([col, 0, widths[i]!]);
    expect(triples(runs)).toEqual(bars);
  });

  it("covers exactly a QR's dark modules, each row's neighbours merged into one run", () => {
    for (const data of ['https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv', 'https://s.example/w/1AbC', `https://scan.example.com/${'x'.repeat(300)}`]) {
      const matrix = encodeQr(data);
      const { cols, rows, runs } = qrModules(matrix);
      expect({ cols, rows }).toEqual({ cols: matrix.size, rows: matrix.size });
      const dark = new Set<string>();
      const list = triples(runs);
      for (const [x, y, length] of list) {
        expect(length).toBeGreaterThan(0);
        for (let i = 0; i < length; i++) dark.add(`${x + i},${y}`);
        // A run never ends where a dark module follows it, nor starts just after one.
        expect(x + length < matrix.size && matrix.dark(x + length, y)).toBe(false);
        expect(x > 0 && matrix.dark(x - 1, y)).toBe(false);
      }
      const expected = new Set<string>();
      for (let y = 0; y < matrix.size; y++) for (let x = 0; x < matrix.size; x++) if (matrix.dark(x, y)) expected.add(`${x},${y}`);
      expect(dark).toEqual(expected);
      expect(list.reduce((n, [, , length]) => n + length, 0)).toBe(expected.size);
    }
  });
});

/** Column, row and length of each run. */
function triples(runs: Uint16Array): [number, number, number][] {
  return Array.from({ length: runs.length / 3 }, (_, i) => [runs[i * 3]!, runs[i * 3 + 1]!, runs[i * 3 + 2]!]);
}

describe('sizing a symbol without encoding it (a JSON answer)', () => {
  // Random data in the shapes that reach a Code128 (letters, digits, given numbers with dashes and
  // lower case) and a QR (scan URLs of any length, also non-ASCII).
  const pick = (chars: string, n: number) => Array.from({ length: n }, () => chars[randomInt(chars.length)]).join('');
  const code128Data = () => pick('0123456789ABCZTYD-abz/ ', 1 + randomInt(24));
  const qrData = () => `https://scan.example.com/${pick('abcXYZ019_-', randomInt(120))}${randomInt(4) === 0 ? '/路' : ''}`;

  it('gives every Code128 the width of the encoded symbol', () => {
    for (let i = 0; i < 400; i++) {
      const data = code128Data();
      expect({ data, cols: code128Width(data) }).toEqual({ data, cols: code128Modules(encodeCode128(data)).cols });
    }
  });

  it('gives every QR the size of the encoded symbol', () => {
    for (let i = 0; i < 150; i++) {
      const data = qrData();
      expect({ data, size: qrSize(data) }).toEqual({ data, size: encodeQr(data).size });
    }
  });
});
