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
   * Barcode modules, each edge on the label's dot grid. `value` and `moduleDots` (whole dots at the
   * label's dpi) let a printer draw the same symbol with its own barcode command instead of the modules.
   */
  | { op: 'modules'; symbol: 'code128' | 'qr'; rects: Rect[]; value?: string; moduleDots?: number };

export interface LabelDrawing {
  widthMm: number;
  heightMm: number;
  dpi: number;
  ops: DrawOp[];
}
