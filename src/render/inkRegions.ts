// A label is mostly white paper: instead of one whole-label graphic, printer languages without a real
// compression (CPCL, TSPL) send only the inked parts, as several smaller graphics. Recursive XY cuts on
// the byte grid: split at blank bands of rows, then of byte columns, wherever the blank bytes saved are
// worth more than one more graphic command's header. Regions never overlap, so their order is free.

import type { Bitmap } from './bitmap';

/** A part of a bitmap on its byte grid: byte columns bx0..bx1 (exclusive), rows y0..y1 (exclusive). */
export interface ByteRegion {
  bx0: number;
  bx1: number;
  y0: number;
  y1: number;
}

const MAX_DEPTH = 8;

/** The inked regions of `b`; `overhead` is what one more graphic command costs in bytes besides its data. */
export function inkRegions(b: Bitmap, overhead: number): ByteRegion[] {
  return cut(b, { bx0: 0, bx1: b.bytesPerRow, y0: 0, y1: b.height }, overhead, 0);
}

function cut(b: Bitmap, r: ByteRegion, overhead: number, depth: number): ByteRegion[] {
  const rows = inkedRows(b, r);
  const rowBands = bands(rows, r.bx1 - r.bx0, overhead).map(([y0, y1]) => ({ ...r, y0: r.y0 + y0, y1: r.y0 + y1 }));
  const out: ByteRegion[] = [];
  for (const band of rowBands) {
    const cols = inkedColumns(b, band);
    const pieces = bands(cols, band.y1 - band.y0, overhead).map(([x0, x1]) => ({ ...band, bx0: band.bx0 + x0, bx1: band.bx0 + x1 }));
    const split = rowBands.length > 1 || pieces.length > 1 || pieces.some((p) => !same(p, r));
    for (const piece of pieces) out.push(...(split && depth < MAX_DEPTH ? cut(b, piece, overhead, depth + 1) : [piece]));
  }
  return out;
}

const same = (a: ByteRegion, b: ByteRegion) => a.bx0 === b.bx0 && a.bx1 === b.bx1 && a.y0 === b.y0 && a.y1 === b.y1;

/** Whether each row of the region holds a black dot. */
function inkedRows(b: Bitmap, r: ByteRegion): boolean[] {
  const out: boolean[] = [];
  for (let y = r.y0; y < r.y1; y++) {
    let ink = false;
    for (let i = y * b.bytesPerRow + r.bx0, end = y * b.bytesPerRow + r.bx1; i < end && !ink; i++) ink = b.data[i] !== 0;
    out.push(ink);
  }
  return out;
}

/** Whether each byte column of the region holds a black dot. */
function inkedColumns(b: Bitmap, r: ByteRegion): boolean[] {
  const out: boolean[] = [];
  for (let x = r.bx0; x < r.bx1; x++) {
    let ink = false;
    for (let y = r.y0; y < r.y1 && !ink; y++) ink = b.data[y * b.bytesPerRow + x] !== 0;
    out.push(ink);
  }
  return out;
}

/**
 * Runs of inked lines (rows or columns), trimmed at both ends; a blank gap inside is kept when cutting
 * there would save fewer bytes (gap × cross) than another command costs.
 */
function bands(inked: boolean[], cross: number, overhead: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < inked.length; ) {
    if (!inked[i]) {
      i++;
      continue;
    }
    let end = i;
    while (end < inked.length && inked[end]) end++;
    const last = out[out.length - 1];
    if (last && (i - last[1]) * cross <= overhead) last[1] = end;
    else out.push([i, end]);
    i = end;
  }
  return out;
}
