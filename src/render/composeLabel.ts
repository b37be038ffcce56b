// One label split between printer commands and raster, per job options: barcodes the printer draws itself
// (value, position and whole-dot module size from the layout), text in a printer-resident font (TSPL, CPCL),
// solid rectangles (lines, boxes, raster barcode modules) as fill commands, and the rest as a bitmap. The
// dots of each part are those of the whole-label raster (rasterise.ts), so a printer prints the same label.

import { symbolBox, type DrawOp, type LabelDrawing } from '../layout/drawing';
import { PT_PER_INCH, mmToDots } from '../layout/units';
import type { Bitmap } from './bitmap';
import { dots, rasteriseLabel, solidRects, type DotRect } from './rasterise';

export type BarcodeMode = 'native' | 'raster';
export type TextMode = 'raster' | 'printer-font';

export interface NativeSymbol {
  symbol: 'code128' | 'qr';
  value: string;
  /** Top-left of the symbol (first bar / finder pattern, quiet zone outside), in dots. */
  x: number;
  y: number;
  /** Module (narrow bar, QR cell) in whole dots. */
  moduleDots: number;
  /** Bar height (Code128) or symbol side (QR), in dots. */
  height: number;
}

export interface NativeText {
  text: string;
  /** Left end of the baseline, in dots. */
  x: number;
  baseline: number;
  sizeDots: number;
  bold: boolean;
}

export interface ComposedLabel {
  width: number;
  height: number;
  /** What is left to send as graphics. */
  raster: Bitmap;
  /** Solid fills, clipped to the label; empty unless asked for. */
  rects: DotRect[];
  symbols: NativeSymbol[];
  texts: NativeText[];
}

export interface ComposeOptions {
  barcodes: BarcodeMode;
  text: TextMode;
  /** Send lines, boxes and raster barcode modules as fill commands instead of graphics. */
  rects: boolean;
  /** Whether the printer can carry this symbol's value (its characters) in its own command. */
  canCarry: (symbol: NativeSymbol['symbol'], value: string) => boolean;
  /** Whether the printer font can draw this text. */
  canDraw?: (text: string) => boolean;
}

export async function composeLabel(label: LabelDrawing, dpi: number, opts: ComposeOptions): Promise<ComposedLabel> {
  const symbols: NativeSymbol[] = [];
  const texts: NativeText[] = [];
  const rects: DotRect[] = [];
  const drawnByPrinter = new Set<DrawOp>();
  for (const op of label.ops) {
    if (op.op === 'modules' && opts.barcodes === 'native') {
      const symbol = nativeSymbol(op, label, dpi);
      if (symbol && opts.canCarry(symbol.symbol, symbol.value)) {
        symbols.push(symbol);
        drawnByPrinter.add(op);
        continue;
      }
    }
    if (op.op === 'text' && opts.text === 'printer-font' && opts.canDraw?.(op.text)) {
      texts.push({ text: op.text, x: Math.round(mmToDots(op.x, dpi)), baseline: Math.round(mmToDots(op.baseline, dpi)), sizeDots: (op.sizePt / PT_PER_INCH) * dpi, bold: op.bold });
      drawnByPrinter.add(op);
      continue;
    }
    // QR modules are many small squares: as graphics they cost less than as fills.
    if (opts.rects && (op.op === 'line' || op.op === 'box' || (op.op === 'modules' && op.symbol === 'code128'))) {
      rects.push(...solidRects(op, dpi));
      drawnByPrinter.add(op);
    }
  }
  const raster = await rasteriseLabel(label, dpi, (op) => !drawnByPrinter.has(op));
  const clipped = rects
    .map((r) => ({ x0: Math.max(0, r.x0), y0: Math.max(0, r.y0), x1: Math.min(raster.width, r.x1), y1: Math.min(raster.height, r.y1) }))
    .filter((r) => r.x1 > r.x0 && r.y1 > r.y0);
  return { width: raster.width, height: raster.height, raster, rects: clipped, symbols, texts };
}

/** Where a resident font cell's baseline sits, as a share of its height (TSPL and CPCL place the cell's top-left). */
const CELL_ASCENT = 0.83;

/**
 * A text line in a resident font of `cellDots` square cells: the magnification (whole multiples only,
 * rounded down unless within 10% of the next, so a line never grows far past the width the layout fitted
 * it to) and the cell's top.
 */
export function placeInCells(t: NativeText, cellDots: number): { mul: number; top: number } {
  const mul = Math.max(1, Math.min(10, Math.floor(t.sizeDots / cellDots + 0.1)));
  return { mul, top: Math.max(0, Math.round(t.baseline - cellDots * mul * CELL_ASCENT)) };
}

/** The symbol as the layout placed it, when its module size is known in whole dots at this resolution. */
function nativeSymbol(op: Extract<DrawOp, { op: 'modules' }>, label: LabelDrawing, dpi: number): NativeSymbol | undefined {
  if (dpi !== label.dpi || !op.modules.runs.length) return undefined;
  const box = symbolBox(op);
  const [x, y] = [dots(box.x, dpi), dots(box.y, dpi)];
  const [w, h] = [dots(box.x + box.w, dpi) - x, dots(box.y + box.h, dpi) - y];
  return { symbol: op.symbol, value: op.value, x, y, moduleDots: op.moduleDots, height: op.symbol === 'qr' ? Math.max(w, h) : h };
}
