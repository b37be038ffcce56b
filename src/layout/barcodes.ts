// Barcodes as modules: encode once (Code128 with bwip-js, QR with qrcode), then place them so that every
// module is a whole number of printer dots at the label's DPI and the quiet zones stay clear.

import type { Rect } from './drawing';
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

export interface Placed {
  rects: Rect[];
  moduleDots: number;
}

/** Centres a Code128 symbol in a box; returns undefined when even 1-dot modules do not fit. */
export function placeCode128(widths: number[], box: Rect, dpi: number): Placed | undefined {
  const modules = widths.reduce((a, b) => a + b, 0);
  const moduleDots = code128ModuleDots(modules, box, dpi);
  if (moduleDots === undefined) return undefined;
  const moduleMm = moduleDots * dotMm(dpi);
  const symbolMm = modules * moduleMm;
  const x0 = snapToDots(box.x + (box.w - symbolMm) / 2, dpi);
  const y0 = snapToDots(box.y, dpi);
  const h = snapToDots(box.h, dpi);
  const rects: Rect[] = [];
  let offset = 0;
  widths.forEach((w, i) => {
    if (i % 2 === 0) rects.push({ x: x0 + offset * moduleMm, y: y0, w: w * moduleMm, h });
    offset += w;
  });
  return { rects, moduleDots };
}

/** The dots per module of a Code128 symbol `modules` wide (quiet zones aside) in a box; undefined when it does not fit. */
function code128ModuleDots(modules: number, box: Rect, dpi: number): number | undefined {
  const moduleDots = Math.min(MAX_CODE128_DOTS, Math.floor(mmToDots(box.w, dpi) / (modules + 2 * CODE128_QUIET_MODULES) + 1e-9));
  return moduleDots < 1 ? undefined : moduleDots;
}

/** Places a QR symbol at the top-left of a square box (quiet zone inside the box). */
export function placeQr(matrix: QrMatrix, box: Rect, dpi: number): Placed | undefined {
  const side = Math.min(box.w, box.h);
  const moduleDots = qrModuleDots(matrix.size, box, dpi);
  if (moduleDots === undefined) return undefined;
  const moduleMm = moduleDots * dotMm(dpi);
  const symbolMm = matrix.size * moduleMm;
  const x0 = snapToDots(box.x + (side - symbolMm) / 2, dpi);
  const y0 = snapToDots(box.y + (side - symbolMm) / 2, dpi);
  const rects: Rect[] = [];
  for (let y = 0; y < matrix.size; y++) {
    // Merge each row's dark runs into one rectangle: fewer drawing operations, same pixels.
    for (let x = 0; x < matrix.size; x++) {
      if (!matrix.dark(x, y)) continue;
      let run = 1;
      while (x + run < matrix.size && matrix.dark(x + run, y)) run++;
      rects.push({ x: x0 + x * moduleMm, y: y0 + y * moduleMm, w: run * moduleMm, h: moduleMm });
      x += run - 1;
    }
  }
  return { rects, moduleDots };
}

/** The dots per module of a QR symbol `size` modules square (quiet zone aside) in a box; undefined when it does not fit. */
function qrModuleDots(size: number, box: Rect, dpi: number): number | undefined {
  const moduleDots = Math.min(MAX_QR_DOTS, Math.floor(mmToDots(Math.min(box.w, box.h), dpi) / (size + 2 * QR_QUIET_MODULES) + 1e-9));
  return moduleDots < 1 ? undefined : moduleDots;
}

/**
 * Whether a symbol fits its box, and at how many dots a module, without encoding or placing it: for
 * layouts nobody draws (a JSON answer says what each copy shows, and a symbol that does not fit must
 * fail there as on paper). Encoding is most of a layout's symbol cost (some 0.1 ms a QR), and the
 * size needs none of it: a QR's version follows from its data's length in bytes
 * (one byte-mode segment), and a Code128's width from which characters are digits (the encoder runs
 * digits in code set C by how many follow each other, whatever they are). So each size is encoded once
 * per length or digit pattern and remembered.
 */
export function sizeCode128(data: string, box: Rect, dpi: number): Placed | undefined {
  const pattern = data.replace(/[0-9]/g, '0');
  let modules = code128Widths.get(pattern);
  if (modules === undefined) remember(code128Widths, pattern, (modules = encodeCode128(pattern).reduce((a, b) => a + b, 0)));
  const moduleDots = code128ModuleDots(modules, box, dpi);
  return moduleDots === undefined ? undefined : { rects: [], moduleDots };
}

/** See sizeCode128. */
export function sizeQr(data: string, box: Rect, dpi: number): Placed | undefined {
  const bytes = Buffer.byteLength(data, 'utf8');
  let size = qrSizes.get(bytes);
  if (size === undefined) remember(qrSizes, bytes, (size = encodeQr('0'.repeat(bytes)).size));
  const moduleDots = qrModuleDots(size, box, dpi);
  return moduleDots === undefined ? undefined : { rects: [], moduleDots };
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
