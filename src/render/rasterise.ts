// The raster backend: one label's drawing operations → a 1-bit bitmap at the printer's resolution.
// Barcode modules, boxes and lines are filled dot by dot (their edges are on the dot grid, so no grey
// edge can exist); text is drawn from the same font's glyph outlines (no system font needed): each
// glyph is rasterised once per size through sharp's SVG renderer, thresholded, and then stamped at
// whole-dot positions, so a label costs sharp nothing once its characters have been seen.

import { font, type FontWeight } from '../fonts/fonts';
import type { DrawOp, LabelDrawing } from '../layout/drawing';
import { advance } from '../layout/textMeasure';
import { PT_PER_INCH, mmToDots } from '../layout/units';
import { createBitmap, setDot, type Bitmap } from './bitmap';

/** Whole dots of a length in mm at `dpi`; positions on the grid stay on it. */
export const dots = (mm: number, dpi: number) => Math.round(mmToDots(mm, dpi));

/** A solid rectangle in whole dots: x0,y0 inclusive, x1,y1 exclusive. */
export interface DotRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Rasterises a label. `only` keeps a subset of its operations (the rest are drawn by printer commands):
 * the dots of what is kept are exactly those of the whole-label raster.
 */
export async function rasteriseLabel(label: LabelDrawing, dpi: number = label.dpi, only: (op: DrawOp) => boolean = () => true): Promise<Bitmap> {
  const width = dots(label.widthMm, dpi);
  const height = dots(label.heightMm, dpi);
  const bitmap = createBitmap(width, height);
  const ops = label.ops.filter(only);
  await drawTexts(bitmap, ops.filter((op): op is Extract<DrawOp, { op: 'text' }> => op.op === 'text'), dpi);
  for (const op of ops) for (const r of solidRects(op, dpi)) fill(bitmap, r.x0, r.y0, r.x1, r.y1);
  return bitmap;
}

/** The solid rectangles of dots a line, box or barcode draws (none for text), unclipped. */
export function solidRects(op: DrawOp, dpi: number): DotRect[] {
  const rect = (x0: number, y0: number, x1: number, y1: number): DotRect => ({ x0, y0, x1, y1 });
  if (op.op === 'line') return lineRects(mmToDots(op.x1, dpi), mmToDots(op.y1, dpi), mmToDots(op.x2, dpi), mmToDots(op.y2, dpi), Math.max(1, dots(op.widthMm, dpi)));
  if (op.op === 'modules') {
    const { runs } = op.modules;
    const out: DotRect[] = [];
    for (let i = 0; i < runs.length; i += 3) {
      const x = op.x + runs[i]! * op.moduleMm;
      const y = op.y + runs[i + 1]! * op.rowMm;
      out.push(rect(dots(x, dpi), dots(y, dpi), dots(x + runs[i + 2]! * op.moduleMm, dpi), dots(y + op.rowMm, dpi)));
    }
    return out;
  }
  if (op.op === 'box') {
    const [x0, y0, x1, y1] = [dots(op.x, dpi), dots(op.y, dpi), dots(op.x + op.w, dpi), dots(op.y + op.h, dpi)];
    const out: DotRect[] = [];
    if (op.fill) out.push(rect(x0, y0, x1, y1));
    if (op.lineMm > 0) {
      const t = Math.max(1, dots(op.lineMm, dpi));
      out.push(rect(x0, y0, x1, y0 + t), rect(x0, y1 - t, x1, y1), rect(x0, y0, x0 + t, y1), rect(x1 - t, y0, x1, y1));
    }
    return out;
  }
  return [];
}

function fill(b: Bitmap, x0: number, y0: number, x1: number, y1: number): void {
  for (let y = Math.max(0, y0); y < Math.min(b.height, y1); y++) for (let x = Math.max(0, x0); x < Math.min(b.width, x1); x++) setDot(b, x, y, true);
}

/** A stroke `w` dots wide centred on the line, ending flush at its ends (SVG's butt caps). */
function lineRects(x1: number, y1: number, x2: number, y2: number, w: number): DotRect[] {
  const half = w / 2;
  const rect = (x0: number, y0: number, x1: number, y1: number): DotRect => ({ x0, y0, x1, y1 });
  if (y1 === y2) return [rect(Math.round(Math.min(x1, x2)), Math.round(y1 - half), Math.round(Math.max(x1, x2)), Math.round(y1 - half) + w)];
  if (x1 === x2) return [rect(Math.round(x1 - half), Math.round(Math.min(y1, y2)), Math.round(x1 - half) + w, Math.round(Math.max(y1, y2)))];
  // Diagonal (no template draws one today): a square pen stamped along the line.
  const out: DotRect[] = [];
  const steps = Math.ceil(Math.max(Math.abs(x2 - x1), Math.abs(y2 - y1)));
  for (let i = 0; i <= steps; i++) {
    const x = Math.round(x1 + ((x2 - x1) * i) / steps - half);
    const y = Math.round(y1 + ((y2 - y1) * i) / steps - half);
    out.push(rect(x, y, x + w, y + w));
  }
  return out;
}

/** A glyph at one size as runs of black dots, relative to its origin (left end of its baseline). */
interface GlyphImage {
  /** Triples: row offset, first dot offset, end dot offset (exclusive). Int16: a few hundred bytes a glyph. */
  runs: Int16Array;
}

/** Glyph images by weight, code point and size; bounded, since every size of every character seen lands here. */
const glyphImages = new Map<string, GlyphImage>();
const MAX_GLYPH_IMAGES = 20_000; // ≈ 800 bytes each: 16 MB at most
const glyphKey = (weight: FontWeight, codePoint: number, sizeDots: number) => `${weight}:${codePoint}:${sizeDots.toFixed(3)}`;

async function drawTexts(b: Bitmap, ops: Extract<DrawOp, { op: 'text' }>[], dpi: number): Promise<void> {
  const placed: { key: string; cached?: GlyphImage; x: number; y: number }[] = [];
  const missing = new Map<string, { weight: FontWeight; codePoint: number; sizeDots: number }>();
  for (const op of ops) {
    const weight: FontWeight = op.bold ? 'bold' : 'regular';
    const sizeDots = (op.sizePt / PT_PER_INCH) * dpi;
    let x = mmToDots(op.x, dpi);
    const y = Math.round(mmToDots(op.baseline, dpi));
    for (const ch of op.text) {
      const codePoint = ch.codePointAt(0)!;
      const key = glyphKey(weight, codePoint, sizeDots);
      const cached = glyphImages.get(key);
      if (!cached) missing.set(key, { weight, codePoint, sizeDots });
      placed.push({ key, ...(cached ? { cached } : {}), x: Math.round(x), y });
      x += advance(weight, codePoint) * sizeDots;
    }
  }
  const rendered = missing.size ? await rasteriseGlyphs([...missing.values()]) : new Map<string, GlyphImage>();
  if (glyphImages.size + rendered.size > MAX_GLYPH_IMAGES) glyphImages.clear();
  for (const [key, image] of rendered) glyphImages.set(key, image);
  for (const { key, cached, x, y } of placed) {
    const runs = (cached ?? rendered.get(key)!).runs;
    for (let i = 0; i < runs.length; i += 3) fill(b, x + runs[i + 1]!, y + runs[i]!, x + runs[i + 2]!, y + runs[i]! + 1);
  }
}

/** Renders the glyphs, each in its own cell of one sprite sheet (one sharp call), and thresholds them at half grey. */
async function rasteriseGlyphs(wanted: { weight: FontWeight; codePoint: number; sizeDots: number }[]): Promise<Map<string, GlyphImage>> {
  const SHEET_WIDTH = 2048;
  const images = new Map<string, GlyphImage>();
  const cells: { key: string; d: string; scale: number; left: number; top: number; w: number; h: number; cx: number; cy: number }[] = [];
  let cx = 0;
  let cy = 0;
  let shelf = 0;
  for (const { weight, codePoint, sizeDots } of wanted) {
    const f = font(weight);
    const g = f.glyphForCodePoint(codePoint);
    const d = g.path.toSVG();
    if (!d) {
      images.set(glyphKey(weight, codePoint, sizeDots), { runs: new Int16Array(0) }); // a space: nothing to draw
      continue;
    }
    const scale = sizeDots / f.unitsPerEm;
    const bbox = g.bbox;
    // One spare dot on every side, so antialiased edges are never cut.
    const left = Math.floor(bbox.minX * scale) - 1;
    const top = Math.floor(-bbox.maxY * scale) - 1;
    const w = Math.max(1, Math.ceil(bbox.maxX * scale) + 1 - left);
    const h = Math.max(1, Math.ceil(-bbox.minY * scale) + 1 - top);
    if (cx + w > SHEET_WIDTH) [cx, cy, shelf] = [0, cy + shelf, 0];
    cells.push({ key: glyphKey(weight, codePoint, sizeDots), d, scale, left, top, w, h, cx, cy });
    cx += w;
    shelf = Math.max(shelf, h);
  }
  if (!cells.length) return images;
  const width = SHEET_WIDTH;
  const height = Math.max(1, cy + shelf);
  const paths = cells.map((c) => `<path transform="translate(${c.cx - c.left} ${c.cy - c.top}) scale(${c.scale.toFixed(6)} ${(-c.scale).toFixed(6)})" d="${c.d}"/>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="#fff"/>${paths.join('')}</svg>`;
  // sharp (libvips) loads with the first raster label, not with every process that could draw one.
  const { default: sharp } = await import('sharp');
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 }).greyscale().raw().toBuffer({ resolveWithObject: true });
  for (const c of cells) {
    const runs: number[] = [];
    for (let y = 0; y < c.h; y++) {
      const row = (c.cy + y) * info.width * info.channels;
      for (let x = 0; x < c.w; ) {
        if (data[row + (c.cx + x) * info.channels]! >= 128) {
          x++;
          continue;
        }
        const start = x;
        while (x < c.w && data[row + (c.cx + x) * info.channels]! < 128) x++;
        runs.push(y + c.top, start + c.left, x + c.left);
      }
    }
    images.set(c.key, { runs: Int16Array.from(runs) });
  }
  return images;
}
