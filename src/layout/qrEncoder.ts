// QR symbols as the qrcode package makes them, with their mask chosen faster. qrcode scores each of the
// eight masks by applying it to its bit matrix and reading the matrix back one module at a time through
// method calls: some nine tenths of encoding a scan URL (250 µs here; 115 µs this way). Here qrcode makes
// the symbol with mask 0, and the eight candidates are scored with qrcode's own rules (its N1–N4
// penalties; the first lowest wins) over flat arrays, so the symbol is the one qrcode makes by itself,
// module for module (test/layout/qrEncoder.test.ts).
//
// One self-contained factory (no imports, nothing outside it but its arguments): the render thread runs
// its source too (src/render/renderThread.ts), so both threads encode with the same code.

/** Where qrcode keeps its format information, which its typings leave out (both threads load it from here). */
export const QRCODE_FORMAT_INFO = 'qrcode/lib/core/format-info';

/** The parts of qrcode used: its encoder, and its format information. */
export interface QrcodeParts {
  create: typeof import('qrcode').create;
  getEncodedBits(level: unknown, mask: number): number;
}

/** An encoder of byte-mode (UTF-8) symbols with the options given: each symbol's size and modules (one byte each, row by row, 1 dark). */
export function qrEncoder(qrcode: QrcodeParts, options: { errorCorrectionLevel: 'L' | 'M' | 'Q' | 'H' }): (data: string) => { size: number; data: Uint8Array } {
  const createOptions = { ...options, maskPattern: 0 } as const;
  /** The 15 format bits of each mask at the options' error correction level, once known. */
  let formatBits: number[] = [];
  /** Each symbol size's masks as changes from mask 0 (at most 40 sizes): per mask, 1 where it differs from mask 0 on a data module. */
  const flipsBySize = new Map<number, Uint8Array[]>();

  /** qrcode's getMaskAt(pattern, row, col). */
  const MASK_RULES: ((i: number, j: number) => boolean)[] = [
    (i, j) => (i + j) % 2 === 0,
    (i) => i % 2 === 0,
    (_, j) => j % 3 === 0,
    (i, j) => (i + j) % 3 === 0,
    (i, j) => (Math.floor(i / 2) + Math.floor(j / 3)) % 2 === 0,
    (i, j) => ((i * j) % 2) + ((i * j) % 3) === 0,
    (i, j) => (((i * j) % 2) + ((i * j) % 3)) % 2 === 0,
    (i, j) => (((i * j) % 3) + ((i + j) % 2)) % 2 === 0,
  ];

  /** The modules with the best mask, given the symbol made with mask 0 (itself when mask 0 is best) and its function-pattern flags. */
  function withBestMask(size: number, masked0: Uint8Array, reserved: Uint8Array): Uint8Array {
    const n = size * size;
    let flips = flipsBySize.get(size);
    if (!flips) {
      flips = MASK_RULES.map((rule) => {
        const bits = new Uint8Array(n);
        for (let row = 0; row < size; row++) for (let col = 0; col < size; col++) if (!reserved[row * size + col] && rule(row, col) !== MASK_RULES[0]!(row, col)) bits[row * size + col] = 1;
        return bits;
      });
      flipsBySize.set(size, flips);
    }
    let best = masked0;
    let lowest = penalty(masked0, size);
    for (let p = 1; p < 8; p++) {
      const flip = flips[p]!;
      const candidate = new Uint8Array(n);
      for (let i = 0; i < n; i++) candidate[i] = masked0[i]! ^ flip[i]!;
      // The format bits where qrcode's setupFormatInfo puts them: bit i down column 8 and along row 8.
      for (let i = 0; i < 15; i++) {
        const bit = (formatBits[p]! >> i) & 1;
        candidate[(i < 6 ? i : i < 8 ? i + 1 : size - 15 + i) * size + 8] = bit;
        candidate[8 * size + (i < 8 ? size - i - 1 : i < 9 ? 15 - i : 14 - i)] = bit;
      }
      const score = penalty(candidate, size);
      if (score < lowest) {
        lowest = score;
        best = candidate;
      }
    }
    return best;
  }

  /** What a run of n alike modules scores in N1 (the largest symbol is 177 modules wide). */
  const RUN = Uint16Array.from({ length: 178 }, (_, n) => (n >= 5 ? 3 + (n - 5) : 0));

  /** By the number of dark modules in a 2×2 block: 1 when all four are alike (a table, not a branch the CPU mispredicts). */
  const ALIKE = new Uint8Array([1, 0, 0, 0, 1]);

  /** qrcode's getPenaltyN1 + N2 + N3 + N4 of a symbol. */
  function penalty(d: Uint8Array, size: number): number {
    let points = 0;
    // N1 (runs of five or more alike) and N3 (finder-like 1:1:3:1:1 with four light), along rows and columns.
    for (let row = 0; row < size; row++) {
      let sameRow = 0;
      let sameCol = 0;
      // Runs of length 0 before the first module: whatever it is, it scores nothing and starts a run of 1.
      let lastRow = 0;
      let lastCol = 0;
      let bitsRow = 0;
      let bitsCol = 0;
      for (let col = 0; col < size; col++) {
        const a = d[row * size + col]!;
        const b = d[col * size + row]!;
        // A run ends where the module differs from the last: it scores RUN[its length] (arithmetic, not branches).
        const rowGoesOn = a ^ lastRow ^ 1;
        const colGoesOn = b ^ lastCol ^ 1;
        points += (1 - rowGoesOn) * RUN[sameRow]! + (1 - colGoesOn) * RUN[sameCol]!;
        sameRow = sameRow * rowGoesOn + 1;
        sameCol = sameCol * colGoesOn + 1;
        lastRow = a;
        lastCol = b;
        bitsRow = ((bitsRow << 1) & 0x7ff) | a;
        bitsCol = ((bitsCol << 1) & 0x7ff) | b;
        if (col >= 10) {
          if (bitsRow === 0x5d0 || bitsRow === 0x05d) points += 40;
          if (bitsCol === 0x5d0 || bitsCol === 0x05d) points += 40;
        }
      }
      points += RUN[sameRow]! + RUN[sameCol]!;
    }
    // N2 (2×2 blocks alike) and N4 (dark share away from half).
    let blocks = 0;
    let dark = 0;
    for (let row = 0; row < size; row++) {
      for (let col = 0; col < size; col++) {
        const i = row * size + col;
        dark += d[i]!;
        if (row < size - 1 && col < size - 1) blocks += ALIKE[d[i]! + d[i + 1]! + d[i + size]! + d[i + size + 1]!]!;
      }
    }
    return points + blocks * 3 + Math.abs(Math.ceil((dark * 100) / (size * size) / 5) - 10) * 10;
  }

  return (data) => {
    const { modules, errorCorrectionLevel } = qrcode.create([{ data: Buffer.from(data, 'utf8'), mode: 'byte' }], createOptions);
    if (!formatBits.length) formatBits = Array.from({ length: 8 }, (_, mask) => qrcode.getEncodedBits(errorCorrectionLevel, mask));
    return { size: modules.size, data: withBestMask(modules.size, modules.data, modules.reservedBit) };
  };
}
