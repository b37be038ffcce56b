// The preview mark: a word (样张 / PREVIEW) stamped in framed boxes down a diagonal of every label, as
// plain text and box ops, so every renderer (PDF text, raster → PNG and printer languages) shows it and a
// PDF reader can extract it. Stamps stay off the barcode and QR, so a scan reads their placeholders.

import { symbolBox, type DrawOp, type LabelDrawing, type Rect } from './drawing';
import type { WaybillLayout } from './layoutWaybill';
import type { TextMetrics } from './textMeasure';
import { ptToMm } from './units';

/** Roughly one stamp per this many mm of label height. */
const STAMP_PITCH_MM = 28;
const PAD_MM = 1.2;
const FRAME_MM = 0.5;

/** The layout with every label stamped with `word`, and every shown copy saying so; the input is not changed. */
export function watermarkLayout(layout: WaybillLayout, word: string, metrics: TextMetrics): WaybillLayout {
  return {
    ...layout,
    labels: layout.labels.map((label) => ({ ...label, ops: [...label.ops, ...stamps(label, word, metrics)] })),
    shown: layout.shown.map((copy) => ({ ...copy, watermark: word })),
  };
}

function stamps(label: LabelDrawing, word: string, metrics: TextMetrics): DrawOp[] {
  // About a quarter of the label's width: read at arm's length, while the text under it stays legible.
  const perPt = metrics.widthMm(word, 1, true);
  const sizePt = Math.min(22, Math.max(10, (label.widthMm * 0.27) / perPt));
  const sizeMm = ptToMm(sizePt);
  const w = perPt * sizePt + 2 * PAD_MM;
  const h = (metrics.ascent + metrics.descent) * sizeMm + 2 * PAD_MM;
  const count = Math.max(3, Math.round(label.heightMm / STAMP_PITCH_MM));
  const symbols = label.ops.flatMap((op) => (op.op === 'modules' ? [symbolBox(op)] : []));

  const boxes: Rect[] = [];
  for (let i = 0; i < count; i++) {
    // Bottom left to top right.
    const t = (i + 0.5) / count;
    boxes.push({ x: (label.widthMm - w) * t, y: (label.heightMm - h) * (1 - t), w, h });
  }
  const clear = boxes.filter((b) => !symbols.some((s) => overlaps(b, s, 1)));
  // A label that is mostly symbol still carries the mark, over them if need be.
  const placed = clear.length ? clear : boxes;
  return placed.flatMap((b): DrawOp[] => [
    { op: 'box', x: b.x, y: b.y, w: b.w, h: b.h, lineMm: FRAME_MM, fill: false },
    { op: 'text', x: b.x + PAD_MM, baseline: b.y + PAD_MM + metrics.ascent * sizeMm, sizePt, bold: true, text: word },
  ]);
}

/** Whether two rectangles come closer than `marginMm`. */
function overlaps(a: Rect, b: Rect, marginMm: number): boolean {
  return a.x < b.x + b.w + marginMm && b.x < a.x + a.w + marginMm && a.y < b.y + b.h + marginMm && b.y < a.y + a.h + marginMm;
}
