// The raster backend: one label's drawing operations → a 1-bit bitmap at the printer's resolution.
// Barcode modules and boxes are filled dot by dot (their edges are on the dot grid, so no grey edge can
// exist); text is drawn from the same font's glyph outlines (no system font needed) through sharp's SVG
// rasteriser, then thresholded to black and white.

import sharp from 'sharp';
import { font, type FontWeight } from '../fonts/fonts';
import type { DrawOp, LabelDrawing } from '../layout/drawing';
import { PT_PER_INCH, mmToDots } from '../layout/units';
import { createBitmap, setDot, type Bitmap } from './bitmap';

const glyphPaths: Record<FontWeight, Map<number, { d: string; advance: number }>> = { regular: new Map(), bold: new Map() };

function glyph(weight: FontWeight, codePoint: number): { d: string; advance: number } {
  let g = glyphPaths[weight].get(codePoint);
  if (!g) {
    const f = font(weight);
    const fg = f.glyphForCodePoint(codePoint);
    g = { d: fg.path.toSVG(), advance: fg.advanceWidth / f.unitsPerEm };
    glyphPaths[weight].set(codePoint, g);
  }
  return g;
}

/** Whole dots of a length in mm at `dpi`; positions on the grid stay on it. */
const dots = (mm: number, dpi: number) => Math.round(mmToDots(mm, dpi));

export async function rasteriseLabel(label: LabelDrawing, dpi: number = label.dpi): Promise<Bitmap> {
  const width = dots(label.widthMm, dpi);
  const height = dots(label.heightMm, dpi);
  const bitmap = createBitmap(width, height);
  const vector = label.ops.filter((op): op is Extract<DrawOp, { op: 'text' | 'line' }> => op.op === 'text' || op.op === 'line');
  if (vector.length) await drawVector(bitmap, vector, dpi);
  for (const op of label.ops) {
    if (op.op === 'modules') for (const r of op.rects) fill(bitmap, dots(r.x, dpi), dots(r.y, dpi), dots(r.x + r.w, dpi), dots(r.y + r.h, dpi));
    else if (op.op === 'box') {
      const [x0, y0, x1, y1] = [dots(op.x, dpi), dots(op.y, dpi), dots(op.x + op.w, dpi), dots(op.y + op.h, dpi)];
      if (op.fill) fill(bitmap, x0, y0, x1, y1);
      if (op.lineMm > 0) {
        const t = Math.max(1, dots(op.lineMm, dpi));
        fill(bitmap, x0, y0, x1, y0 + t);
        fill(bitmap, x0, y1 - t, x1, y1);
        fill(bitmap, x0, y0, x0 + t, y1);
        fill(bitmap, x1 - t, y0, x1, y1);
      }
    }
  }
  return bitmap;
}

function fill(b: Bitmap, x0: number, y0: number, x1: number, y1: number): void {
  for (let y = Math.max(0, y0); y < Math.min(b.height, y1); y++) for (let x = Math.max(0, x0); x < Math.min(b.width, x1); x++) setDot(b, x, y, true);
}

/** Text and lines as one SVG in dot units, rasterised by sharp, then thresholded at half grey. */
async function drawVector(b: Bitmap, ops: Extract<DrawOp, { op: 'text' | 'line' }>[], dpi: number): Promise<void> {
  const parts: string[] = [];
  for (const op of ops) {
    if (op.op === 'line') {
      const w = Math.max(1, dots(op.widthMm, dpi));
      parts.push(`<line x1="${mmToDots(op.x1, dpi)}" y1="${mmToDots(op.y1, dpi)}" x2="${mmToDots(op.x2, dpi)}" y2="${mmToDots(op.y2, dpi)}" stroke="#000" stroke-width="${w}"/>`);
      continue;
    }
    const weight: FontWeight = op.bold ? 'bold' : 'regular';
    const sizeDots = (op.sizePt / PT_PER_INCH) * dpi;
    const scale = sizeDots / font(weight).unitsPerEm;
    let x = mmToDots(op.x, dpi);
    const y = mmToDots(op.baseline, dpi);
    for (const ch of op.text) {
      const g = glyph(weight, ch.codePointAt(0)!);
      if (g.d) parts.push(`<path transform="translate(${x.toFixed(2)} ${y.toFixed(2)}) scale(${scale.toFixed(5)} ${(-scale).toFixed(5)})" d="${g.d}"/>`);
      x += g.advance * sizeDots;
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${b.width}" height="${b.height}" viewBox="0 0 ${b.width} ${b.height}"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>`;
  const grey = await sharp(Buffer.from(svg), { density: 72 }).greyscale().raw().toBuffer({ resolveWithObject: true });
  const { data, info } = grey;
  const ch = info.channels;
  for (let y = 0; y < b.height; y++) {
    const row = y * info.width * ch;
    for (let x = 0; x < b.width; x += 8) {
      let byte = 0;
      for (let bit = 0; bit < 8 && x + bit < b.width; bit++) if (data[row + (x + bit) * ch]! < 128) byte |= 0x80 >> bit;
      b.data[y * b.bytesPerRow + (x >> 3)]! |= byte;
    }
  }
}
