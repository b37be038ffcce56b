// Test support: find every QR code and Code128 symbol on one rasterised page, like a scanner would.
//
// zxing decodes one symbol per call, and its single-QR finder stops after the first three finder
// patterns it likes — with two QR codes on a page it often pairs patterns from different symbols
// and reads nothing. So:
//   • QR: collect *all* finder-pattern candidates (port of zxing-java's MultiFinderPatternFinder
//     scan), group them into plausible triples, and decode each triple from a cut-out that holds
//     only that symbol on a white background. Then a plain full-page pass catches stragglers.
//   • Code128: decode, paint the found symbol white, decode again until nothing is left; then the
//     same on the page turned 90° for vertical symbols. zxing-js 0.21's Code128Reader loses its
//     start-pattern search after the first six bars/spaces that are not a start pattern (it
//     shrinks its counter array), so any line or text earlier in a scan row hides the symbol;
//     IsolatingCode128Reader hands it each plausible start pattern on an otherwise cleared row.
// Everything is deterministic (no randomness, fixed scan orders).
import sharp from 'sharp';
import {
  BarcodeFormat,
  BitArray,
  BinaryBitmap,
  ChecksumException,
  Code128Reader,
  DecodeHintType,
  FormatException,
  HybridBinarizer,
  NotFoundException,
  QRCodeReader,
  RGBLuminanceSource,
  type Result,
} from '@zxing/library';
// Not re-exported by the package index; the CommonJS build is what Node loads at runtime.
import FinderPatternFinder from '@zxing/library/cjs/core/qrcode/detector/FinderPatternFinder';
import jsQR from 'jsqr';

export interface DecodedBarcode {
  format: 'QR_CODE' | 'CODE_128';
  text: string;
}

/** Greyscale page held in one mutable buffer, so found symbols can be painted out in place. */
interface Grey {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

interface Point {
  x: number;
  y: number;
}

/** Upper bound of symbols per orientation/format; guards against a blank-out that fails to stick. */
const MAX_SYMBOLS_PER_PASS = 24;
const WHITE = 255;

/**
 * Decodes all QR codes (any rotation) and Code128 symbols (horizontal or vertical, either reading
 * direction) in one page image of any format sharp reads. Each (format, text) pair is reported
 * once: QR codes first, then Code128, in discovery order.
 */
export async function decodeBarcodes(png: Buffer): Promise<DecodedBarcode[]> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  // greyscale() can still leave an alpha channel; keep only the luminance channel.
  const grey: Grey = { data: new Uint8ClampedArray(info.width * info.height), width: info.width, height: info.height };
  for (let i = 0, j = 0; i < grey.data.length; i++, j += info.channels) grey.data[i] = data[j]!;

  const found: DecodedBarcode[] = [];
  const add = (format: DecodedBarcode['format'], text: string) => {
    if (!found.some((f) => f.format === format && f.text === text)) found.push({ format, text });
  };

  const qr = decodeAllQr(grey);
  for (const text of qr.texts) add('QR_CODE', text);
  // zxing-js misses a few percent of valid symbols; jsQR (one symbol per image) is the second reader.
  if (qr.missed && !found.length) {
    const other = jsQR(toRgba(grey), grey.width, grey.height, { inversionAttempts: 'dontInvert' });
    if (other) add('QR_CODE', other.data);
  }
  // QR codes are painted out by now, so the 1D scan does not waste rows on them.
  for (const text of decodeAllCode128(grey)) add('CODE_128', text);
  for (const text of decodeAllCode128(transpose(grey))) add('CODE_128', text);
  return found;
}

function toRgba(grey: Grey): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(grey.width * grey.height * 4);
  for (let i = 0; i < grey.data.length; i++) {
    const v = grey.data[i]!;
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
  }
  return rgba;
}

// ---------------------------------------------------------------------------------------------
// QR

const qrHints = new Map<DecodeHintType, unknown>([
  [DecodeHintType.TRY_HARDER, true],
  [DecodeHintType.POSSIBLE_FORMATS, [BarcodeFormat.QR_CODE]],
  // Byte-mode segments without an ECI are UTF-8 in practice (bwip-js, most generators);
  // zxing would otherwise guess and may pick Shift_JIS or ISO-8859-1.
  [DecodeHintType.CHARACTER_SET, 'UTF-8'],
]);

type FinderCenter = { x: number; y: number; module: number; count: number };

/** zxing's finder scan without the early exit after three patterns (cf. MultiFinderPatternFinder). */
class AllFinderPatterns extends FinderPatternFinder {
  findAll(): FinderCenter[] {
    const image = this.getImage();
    const maxI = image.getHeight();
    const maxJ = image.getWidth();
    const state = new Int32Array(5);
    const shiftTwo = () => {
      state[0] = state[2]!;
      state[1] = state[3]!;
      state[2] = state[4]!;
      state[3] = 1;
      state[4] = 0;
    };
    // Every third row, as zxing does with TRY_HARDER: a finder is ≥ 7 px tall even at 1 px/module.
    for (let i = 2; i < maxI; i += 3) {
      state.fill(0);
      let current = 0;
      for (let j = 0; j < maxJ; j++) {
        if (image.get(j, i)) {
          if ((current & 1) === 1) current++;
          state[current]!++;
        } else if ((current & 1) === 0) {
          if (current === 4) {
            if (FinderPatternFinder.foundPatternCross(state) && this.handlePossibleCenter(state, i, j, false)) {
              current = 0;
              state.fill(0);
            } else {
              shiftTwo();
              current = 3;
            }
          } else {
            state[++current]!++;
          }
        } else {
          state[current]!++;
        }
      }
      if (FinderPatternFinder.foundPatternCross(state)) this.handlePossibleCenter(state, i, maxJ, false);
    }
    return this.getPossibleCenters().map((c) => ({
      x: c.getX(),
      y: c.getY(),
      module: c.getEstimatedModuleSize(),
      count: c.getCount(),
    }));
  }
}

/** Finds, decodes and paints out every QR code; returns their texts in discovery order. */
/** Decoded texts, and whether some finder-pattern triple (a likely QR code) could not be read. */
function decodeAllQr(grey: Grey): { texts: string[]; missed: boolean } {
  const texts: string[] = [];
  let missed = false;
  const matrix = new HybridBinarizer(luminance(grey)).getBlackMatrix();
  // Types come from the ESM declarations, the class from the CJS build: same runtime class.
  const finder = new AllFinderPatterns(matrix as unknown as ConstructorParameters<typeof FinderPatternFinder>[0], null as never);
  // Seen on ≥ 2 scan rows, as zxing requires, so specks in text do not form triples.
  const centres = finder.findAll().filter((c) => c.count >= 2);

  const used = new Set<FinderCenter>();
  for (const triple of plausibleTriples(centres)) {
    if (triple.some((c) => used.has(c))) continue;
    const corners = qrCorners(triple);
    const module = (triple[0].module + triple[1].module + triple[2].module) / 3;
    const text = decodeQrCutOut(grey, corners, module);
    if (text === undefined) {
      missed = true;
      continue;
    }
    texts.push(text);
    triple.forEach((c) => used.add(c));
    paintWhite(grey, boundsOf(corners, QR_BLANK_MODULES * module));
  }

  // Straggler pass: whatever zxing's own detector still sees once the grouped symbols are gone.
  for (let n = 0; n < MAX_SYMBOLS_PER_PASS; n++) {
    const result = tryDecode(() => new QRCodeReader().decode(bitmap(grey), qrHints));
    if (!result) break;
    texts.push(result.getText());
    const [bottomLeft, topLeft, topRight] = result.getResultPoints().map((p) => ({ x: p.getX(), y: p.getY() }));
    if (!bottomLeft || !topLeft || !topRight) break;
    const module = finderModuleSize(grey, topLeft);
    const corners = [topLeft, topRight, bottomLeft, { x: topRight.x + bottomLeft.x - topLeft.x, y: topRight.y + bottomLeft.y - topLeft.y }];
    paintWhite(grey, boundsOf(corners, QR_BLANK_MODULES * module));
  }
  return { texts, missed };
}

/**
 * Finder centres sit 3.5 modules inside the symbol's corners; 5.5 modules reaches past the
 * symbol edge but stays inside the 4-module quiet zone, so a neighbouring symbol is never cut.
 */
const QR_BLANK_MODULES = 5.5;

/** Triples of finder candidates that can be one QR code: an isosceles right angle, similar modules. */
function plausibleTriples(centres: FinderCenter[]): [FinderCenter, FinderCenter, FinderCenter][] {
  const sorted = [...centres].sort((a, b) => a.module - b.module || a.y - b.y || a.x - b.x);
  const out: { triple: [FinderCenter, FinderCenter, FinderCenter]; score: number }[] = [];
  const similar = (a: FinderCenter, b: FinderCenter) => Math.abs(a.module - b.module) / Math.min(a.module, b.module) <= 0.5;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length && similar(sorted[i]!, sorted[j]!); j++) {
      for (let k = j + 1; k < sorted.length && similar(sorted[j]!, sorted[k]!); k++) {
        const t: [FinderCenter, FinderCenter, FinderCenter] = [sorted[i]!, sorted[j]!, sorted[k]!];
        const [legA, legB, hyp] = [dist(t[0], t[1]), dist(t[0], t[2]), dist(t[1], t[2])].sort((a, b) => a - b) as [number, number, number];
        const module = (t[0].module + t[1].module + t[2].module) / 3;
        const modulesAcross = (legA + legB) / 2 / module + 7; // centre-to-centre + two half finders
        if (modulesAcross < 21 * 0.8 || modulesAcross > 177 * 1.1) continue;
        const legSkew = (legB - legA) / legA;
        const hypSkew = Math.abs(hyp - Math.hypot(legA, legB)) / hyp;
        if (legSkew >= 0.1 || hypSkew >= 0.1) continue;
        out.push({ triple: t, score: legSkew + hypSkew });
      }
    }
  }
  // Best-shaped first, so a genuine symbol claims its finders before a look-alike mix does.
  return out.sort((a, b) => a.score - b.score).map((o) => o.triple);
}

/** Four corner-finder centres (the fourth is virtual) of the symbol a triple describes. */
function qrCorners(triple: [FinderCenter, FinderCenter, FinderCenter]): Point[] {
  // The top-left finder is the one opposite the longest side (the right angle's vertex).
  const [a, b, c] = triple;
  const sides = [dist(b, c), dist(a, c), dist(a, b)];
  const apex = sides.indexOf(Math.max(...sides));
  const corner = triple[apex]!;
  const [p, q] = triple.filter((_, i) => i !== apex) as [FinderCenter, FinderCenter];
  return [corner, p, q, { x: p.x + q.x - corner.x, y: p.y + q.y - corner.y }];
}

/** Decodes the symbol inside `corners` from a copy that holds nothing else but white. */
function decodeQrCutOut(grey: Grey, corners: Point[], module: number): string | undefined {
  const box = boundsOf(corners, QR_BLANK_MODULES * module, grey);
  const pad = Math.ceil(8 * module) + 8;
  const cut: Grey = {
    width: box.x1 - box.x0 + 2 * pad,
    height: box.y1 - box.y0 + 2 * pad,
    data: new Uint8ClampedArray(0),
  };
  cut.data = new Uint8ClampedArray(cut.width * cut.height).fill(WHITE);
  for (let y = box.y0; y < box.y1; y++) {
    const row = grey.data.subarray(y * grey.width + box.x0, y * grey.width + box.x1);
    cut.data.set(row, (y - box.y0 + pad) * cut.width + pad);
  }
  return tryDecode(() => new QRCodeReader().decode(bitmap(cut), qrHints))?.getText();
}

/**
 * Module size measured on a finder pattern: from its centre, the third light/dark change to the
 * left is the outer edge, 3.5 modules away.
 */
function finderModuleSize(grey: Grey, centre: Point): number {
  const y = clamp(Math.round(centre.y), 0, grey.height - 1);
  let x = clamp(Math.round(centre.x), 0, grey.width - 1);
  const start = x;
  let dark = grey.data[y * grey.width + x]! < 128;
  for (let changes = 0; x > 0 && changes < 3; x--) {
    const d = grey.data[y * grey.width + x - 1]! < 128;
    if (d !== dark) {
      changes++;
      dark = d;
    }
  }
  return Math.max(1, (start - x) / 3.5);
}

// ---------------------------------------------------------------------------------------------
// Code128

const code128Hints = new Map<DecodeHintType, unknown>([
  [DecodeHintType.TRY_HARDER, true],
  [DecodeHintType.POSSIBLE_FORMATS, [BarcodeFormat.CODE_128]],
]);

/** Code128 start patterns A, B, C in modules (bar, space, bar, space, bar, space). */
const CODE128_STARTS = [
  [2, 1, 1, 4, 1, 2],
  [2, 1, 1, 2, 1, 4],
  [2, 1, 1, 2, 3, 2],
];
// zxing's own acceptance limits for the start pattern.
const CODE128_MAX_AVG_VARIANCE = 0.25;
const CODE128_MAX_INDIVIDUAL_VARIANCE = 0.7;

/**
 * Code128Reader that sees one candidate symbol per call: for every run that looks like a start
 * pattern with its quiet zone, everything left of it is cleared, so zxing's start search succeeds
 * on its first window and never reaches its broken shifting code.
 */
class IsolatingCode128Reader extends Code128Reader {
  override decodeRow(rowNumber: number, row: BitArray, hints?: Map<DecodeHintType, unknown>): Result {
    const size = row.getSize();
    // Run-length encode the row once: runs[k] = [start, length], dark on alternate entries.
    const runs: [number, number][] = [];
    for (let i = row.getNextSet(0); i < size; ) {
      const dark = row.get(i);
      const end = dark ? row.getNextUnset(i) : row.getNextSet(i);
      runs.push([i, end - i]);
      i = end;
    }
    // runs[0] is dark; dark runs are the even indexes.
    for (let k = 0; k + 5 < runs.length; k += 2) {
      const counters = runs.slice(k, k + 6).map((r) => r[1]);
      const width = counters.reduce((a, b) => a + b, 0);
      const start = runs[k]![0];
      const quietBefore = k === 0 ? start : runs[k - 1]![1];
      // zxing's quiet-zone rule: white of half the start pattern's width before it (or the row edge).
      if (start > 0 && quietBefore < width / 2) continue;
      if (!CODE128_STARTS.some((pattern) => startVariance(counters, pattern) < CODE128_MAX_AVG_VARIANCE)) continue;
      const isolated = new BitArray(size);
      for (let i = start; i < size; i++) if (row.get(i)) isolated.set(i);
      const result = tryDecode(() => super.decodeRow(rowNumber, isolated, hints));
      if (result) return result;
    }
    throw new NotFoundException();
  }
}

/** zxing's OneDReader.patternMatchVariance: average deviation per pixel, or Infinity if one bar is off. */
function startVariance(counters: number[], pattern: number[]): number {
  const total = counters.reduce((a, b) => a + b, 0);
  const modules = pattern.reduce((a, b) => a + b, 0);
  if (total < modules) return Infinity;
  const unit = total / modules;
  const maxIndividual = CODE128_MAX_INDIVIDUAL_VARIANCE * unit;
  let variance = 0;
  for (let i = 0; i < counters.length; i++) {
    const deviation = Math.abs(counters[i]! - pattern[i]! * unit);
    if (deviation > maxIndividual) return Infinity;
    variance += deviation;
  }
  return variance / total;
}

/** Decodes, paints out and re-decodes rows until no Code128 symbol is left in `grey` (mutated). */
function decodeAllCode128(grey: Grey): string[] {
  const texts: string[] = [];
  for (let n = 0; n < MAX_SYMBOLS_PER_PASS; n++) {
    const result = tryDecode(() => new IsolatingCode128Reader().decode(bitmap(grey), code128Hints));
    if (!result) break;
    texts.push(result.getText());
    const points = result.getResultPoints().map((p) => ({ x: p.getX(), y: p.getY() }));
    if (points.length < 2) break;
    paintWhite(grey, code128Bounds(grey, points));
  }
  return texts;
}

/**
 * Full extent of a decoded horizontal Code128 symbol. zxing only reports the scan row (middle of
 * start pattern → middle of stop pattern), so follow the bars up and down for as long as the rows
 * repeat the decoded row's bar pattern, and widen by 8 modules to cover start/stop patterns.
 */
function code128Bounds(grey: Grey, points: Point[]): Box {
  const xs = points.map((p) => p.x);
  const x0 = clamp(Math.floor(Math.min(...xs)), 0, grey.width - 1);
  const x1 = clamp(Math.ceil(Math.max(...xs)), x0 + 1, grey.width);
  const y = clamp(Math.round(points[0]!.y), 0, grey.height - 1);

  let lo = WHITE;
  let hi = 0;
  for (let x = x0; x < x1; x++) {
    const v = grey.data[y * grey.width + x]!;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const threshold = (lo + hi) / 2;
  const rowBits = (yy: number) => {
    const bits = new Uint8Array(x1 - x0);
    for (let x = x0; x < x1; x++) bits[x - x0] = grey.data[yy * grey.width + x]! < threshold ? 1 : 0;
    return bits;
  };
  const agreement = (a: Uint8Array, b: Uint8Array) => {
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    return same / a.length;
  };

  const reference = rowBits(y);
  let top = y;
  for (let prev = reference; top > 0; top--) {
    const bits = rowBits(top - 1);
    if (agreement(bits, prev) < 0.9) break;
    prev = bits; // compare with the neighbour so a slight skew is followed, not cut off
  }
  let bottom = y;
  for (let prev = reference; bottom < grey.height - 1; bottom++) {
    const bits = rowBits(bottom + 1);
    if (agreement(bits, prev) < 0.9) break;
    prev = bits;
  }

  // Narrowest elements are one module; a low percentile of run lengths estimates it robustly.
  const runs: number[] = [];
  for (let i = 1, run = 1; i <= reference.length; i++) {
    if (i < reference.length && reference[i] === reference[i - 1]) run++;
    else {
      runs.push(run);
      run = 1;
    }
  }
  runs.sort((a, b) => a - b);
  const module = Math.max(1, runs[Math.floor(runs.length * 0.15)] ?? 1);
  const margin = 8 * module;
  return {
    x0: clamp(Math.floor(x0 - margin), 0, grey.width),
    x1: clamp(Math.ceil(x1 + margin), 0, grey.width),
    y0: clamp(top - 3, 0, grey.height),
    y1: clamp(bottom + 4, 0, grey.height),
  };
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Half-open pixel rectangle [x0, x1) × [y0, y1). */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function luminance(grey: Grey): RGBLuminanceSource {
  // A Uint8ClampedArray is taken as-is as luminance (an Int32Array would be read as ARGB).
  return new RGBLuminanceSource(grey.data, grey.width, grey.height);
}

/** A fresh binarizer each time: HybridBinarizer caches its matrix, and the page changes between calls. */
function bitmap(grey: Grey): BinaryBitmap {
  return new BinaryBitmap(new HybridBinarizer(luminance(grey)));
}

/** zxing signals "nothing here" (and checksum/format failures) by throwing; map those to undefined. */
function tryDecode(decode: () => Result): Result | undefined {
  try {
    return decode();
  } catch (error) {
    if (error instanceof NotFoundException || error instanceof ChecksumException || error instanceof FormatException) {
      return undefined;
    }
    throw error;
  }
}

function boundsOf(points: Point[], margin: number, within?: Grey): Box {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const box = {
    x0: Math.floor(Math.min(...xs) - margin),
    y0: Math.floor(Math.min(...ys) - margin),
    x1: Math.ceil(Math.max(...xs) + margin) + 1,
    y1: Math.ceil(Math.max(...ys) + margin) + 1,
  };
  if (!within) return box;
  return {
    x0: clamp(box.x0, 0, within.width),
    y0: clamp(box.y0, 0, within.height),
    x1: clamp(box.x1, 0, within.width),
    y1: clamp(box.y1, 0, within.height),
  };
}

function paintWhite(grey: Grey, box: Box): void {
  const x0 = clamp(box.x0, 0, grey.width);
  const x1 = clamp(box.x1, 0, grey.width);
  for (let y = clamp(box.y0, 0, grey.height); y < clamp(box.y1, 0, grey.height); y++) {
    grey.data.fill(WHITE, y * grey.width + x0, y * grey.width + x1);
  }
}

/** The page turned 90° (x ↔ y), so the row scanner also meets vertical symbols. */
function transpose(grey: Grey): Grey {
  const out = new Uint8ClampedArray(grey.data.length);
  for (let y = 0; y < grey.height; y++) {
    for (let x = 0; x < grey.width; x++) out[x * grey.height + y] = grey.data[y * grey.width + x]!;
  }
  return { data: out, width: grey.height, height: grey.width };
}

function dist(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}
