// The drawing list: what layout hands to every renderer. Plain data in mm, no order, no template.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type DrawOp =
  /** One line of text; x is its left edge, baseline its alphabetic baseline. */
  | { op: 'text'; x: number; baseline: number; sizePt: number; bold: boolean; text: string }
  | { op: 'line'; x1: number; y1: number; x2: number; y2: number; widthMm: number }
  | { op: 'box'; x: number; y: number; w: number; h: number; lineMm: number; fill: boolean }
  /**
   * A barcode: its dark modules on a grid of cells `moduleMm` wide and `rowMm` high (a Code128 is one row
   * of bar height; a QR's rows are one module high) from the top-left of its first module at (x, y), every
   * edge on the label's dot grid. `value` and `moduleDots` (whole dots at the label's dpi) let a printer
   * draw the same symbol with its own barcode command instead of the modules.
   */
  | { op: 'modules'; symbol: 'code128' | 'qr'; x: number; y: number; moduleMm: number; rowMm: number; modules: ModuleRuns; value: string; moduleDots: number };

/**
 * A symbol's dark modules in grid cells, as runs along its rows: column, row and length, for each run.
 * Where a symbol stands is kept apart, so the copies of a waybill that show one symbol share one list.
 * Empty for a layout nobody draws.
 */
export interface ModuleRuns {
  cols: number;
  rows: number;
  runs: Uint16Array;
}

/** The rectangle a barcode's modules span (quiet zones outside it), in mm. */
export function symbolBox(op: Extract<DrawOp, { op: 'modules' }>): Rect {
  return { x: op.x, y: op.y, w: op.modules.cols * op.moduleMm, h: op.modules.rows * op.rowMm };
}

export interface LabelDrawing {
  widthMm: number;
  heightMm: number;
  dpi: number;
  ops: DrawOp[];
}
