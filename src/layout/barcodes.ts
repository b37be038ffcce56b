// Barcodes as modules: encode once (Code128 with bwip-js, QR with qrcode), then place them so that every
// module is a whole number of printer dots at the label's DPI and the quiet zones stay clear.

import type { ModuleRuns, Rect } from './drawing';
import { QRCODE_FORMAT_INFO, qrEncoder, type QrcodeParts } from './qrEncoder';
import { dotMm, mmToDots, snapToDots } from './units';

// The encoders load on first use: a long print has its barcodes encoded on the render thread
// (src/render/renderThread.ts), and the two would add some 12 MB to a process that never calls them.
let encoders: { bwipjs: typeof import('bwip-js'); qr: ReturnType<typeof qrEncoder> } | undefined;
function loaded(): NonNullable<typeof encoders> {
  return (encoders ??= {
    bwipjs: require('bwip-js') as typeof import('bwip-js'),
    qr: qrEncoder({ create: (require('qrcode') as typeof import('qrcode')).create, getEncodedBits: (require(QRCODE_FORMAT_INFO) as Pick<QrcodeParts, 'getEncodedBits'>).getEncodedBits }, QR_OPTIONS),
  });
}

export const CODE128_QUIET_MODULES = 10;
export const QR_QUIET_MODULES = 4;
/** Wider modules add nothing once the symbol scans comfortably; cap them to keep symbols compact. */
const MAX_CODE128_DOTS = 4;
const MAX_QR_DOTS = 8;

/** bwip-js's defaults: its code set switching keeps a waybill number's digit pairs in set C. */
export const CODE128_OPTIONS = {} as const;

/** Bar/space widths in modules, starting with a bar. */
export function encodeCode128(data: string): number[] {
  const [symbol] = loaded().bwipjs.raw('code128', data, CODE128_OPTIONS) as { sbs: number[] }[];
  if (!symbol) throw new Error('code128 encoding produced no symbol');
  return symbol.sbs;
}

export interface QrMatrix {
  size: number;
  dark: (x: number, y: number) => boolean;
}

/**
 * QR with error correction M and the standard's mask selection. The qrcode package, not bwip-js: bwip-js
 * interprets PostScript and took 5–9 ms per symbol here, half of a label's time; qrcode takes under 1 ms
 * for the same matrix size. One byte-mode segment (UTF-8): a token URL is mostly lower case, which only byte
 * mode holds, so searching for the cheapest mix of modes (a fifth of the encoding time) finds nothing
 * smaller; and every token of one length gives the same symbol size.
 */
export function encodeQr(data: string): QrMatrix {
  const { size, data: modules } = loaded().qr(data);
  return qrMatrix(size, modules);
}

export const QR_OPTIONS = { errorCorrectionLevel: 'M' } as const;

/** A matrix over qrcode's module data: one byte per module, row by row, 1 for dark. */
export function qrMatrix(size: number, data: Uint8Array): QrMatrix {
  return { size, dark: (x, y) => data[y * size + x] === 1 };
}

/** A Code128's bars as module runs: one row, one run per bar (`widths` alternate bar and space, from a bar). */
export function code128Modules(widths: readonly number[]): ModuleRuns {
  const runs = new Uint16Array(Math.ceil(widths.length / 2) * 3);
  let col = 0;
  for (let i = 0; i < widths.length; i++) {
    if (i % 2 === 0) {
      runs[(i / 2) * 3] = col;
      runs[(i / 2) * 3 + 2] = widths[i]!;
    }
    col += widths[i]!;
  }
  return { cols: col, rows: 1, runs };
}

/** A QR's dark modules, each row's runs merged: fewer drawing operations than modules, the same pixels. */
export function qrModules(matrix: QrMatrix): ModuleRuns {
  const runs: number[] = [];
  for (let y = 0; y < matrix.size; y++) {
    for (let x = 0; x < matrix.size; x++) {
      if (!matrix.dark(x, y)) continue;
      let run = 1;
      while (x + run < matrix.size && matrix.dark(x + run, y)) run++;
      runs.push(x, y, run);
      x += run - 1;
    }
  }
  return { cols: matrix.size, rows: matrix.size, runs: Uint16Array.from(runs) };
}

/** Where a symbol stands and how large its modules are: a 'modules' drawing operation without its modules. */
export interface Placed {
  x: number;
  y: number;
  moduleMm: number;
  rowMm: number;
  moduleDots: number;
}

/** Centres a Code128 symbol `cols` modules wide in a box; undefined when even 1-dot modules do not fit. */
export function placeCode128(cols: number, box: Rect, dpi: number): Placed | undefined {
  const moduleDots = code128ModuleDots(cols, box, dpi);
  if (moduleDots === undefined) return undefined;
  const moduleMm = moduleDots * dotMm(dpi);
  const x = snapToDots(box.x + (box.w - cols * moduleMm) / 2, dpi);
  return { x, y: snapToDots(box.y, dpi), moduleMm, rowMm: snapToDots(box.h, dpi), moduleDots };
}

/** The dots per module of a Code128 symbol `modules` wide (quiet zones aside) in a box; undefined when it does not fit. */
function code128ModuleDots(modules: number, box: Rect, dpi: number): number | undefined {
  const moduleDots = Math.min(MAX_CODE128_DOTS, Math.floor(mmToDots(box.w, dpi) / (modules + 2 * CODE128_QUIET_MODULES) + 1e-9));
  return moduleDots < 1 ? undefined : moduleDots;
}

/** Places a QR symbol `size` modules square in a square box (quiet zone inside the box). */
export function placeQr(size: number, box: Rect, dpi: number): Placed | undefined {
  const side = Math.min(box.w, box.h);
  const moduleDots = qrModuleDots(size, box, dpi);
  if (moduleDots === undefined) return undefined;
  const moduleMm = moduleDots * dotMm(dpi);
  const symbolMm = size * moduleMm;
  return { x: snapToDots(box.x + (side - symbolMm) / 2, dpi), y: snapToDots(box.y + (side - symbolMm) / 2, dpi), moduleMm, rowMm: moduleMm, moduleDots };
}

/** The dots per module of a QR symbol `size` modules square (quiet zone aside) in a box; undefined when it does not fit. */
function qrModuleDots(size: number, box: Rect, dpi: number): number | undefined {
  const moduleDots = Math.min(MAX_QR_DOTS, Math.floor(mmToDots(Math.min(box.w, box.h), dpi) / (size + 2 * QR_QUIET_MODULES) + 1e-9));
  return moduleDots < 1 ? undefined : moduleDots;
}

/**
 * A Code128's width in modules without encoding its data: for layouts nobody draws (a JSON answer says
 * what each copy shows, and a symbol that does not fit must fail there as on paper, at the same module
 * size). Encoding is most of a layout's symbol cost (some 0.1 ms a QR), and the size needs none of it: a
 * QR's version follows from its data's length in bytes (one byte-mode segment), and a Code128's width
 * from which characters are digits (the encoder runs digits in code set C by how many follow each other,
 * whatever they are). So each size is encoded once per length or digit pattern and remembered.
 */
export function code128Width(data: string): number {
  const pattern = data.replace(/[0-9]/g, '0');
  let modules = code128Widths.get(pattern);
  if (modules === undefined) remember(code128Widths, pattern, (modules = code128Modules(encodeCode128(pattern)).cols));
  return modules;
}

/** See code128Width: a QR's modules on a side, without encoding its data. */
export function qrSize(data: string): number {
  const bytes = Buffer.byteLength(data, 'utf8');
  let size = qrSizes.get(bytes);
  if (size === undefined) remember(qrSizes, bytes, (size = encodeQr('0'.repeat(bytes)).size));
  return size;
}

// A process sees a few of each (one scan URL length, a carrier's number form or two); given waybill
// numbers can have any form, so the memory is bounded.
const SIZES_KEPT = 256;
const code128Widths = new Map<string, number>();
const qrSizes = new Map<number, number>();
function remember<K>(sizes: Map<K, number>, key: K, value: number): void {
  if (sizes.size >= SIZES_KEPT) sizes.clear();
  sizes.set(key, value);
}
