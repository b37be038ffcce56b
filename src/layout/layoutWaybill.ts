// Layout: a template plus the privacy views of one waybill's copies become drawing lists in mm, one per
// label. Imports no renderer; sees only masked views, never an order.

import { WaybillError } from '../errors';
import type { CopyKind } from '../privacy/copyPolicy';
import type { CopyView, TextField } from '../privacy/privacyView';
import { code128Modules, code128Width, encodeCode128, encodeQr, placeCode128, placeQr, qrModules, qrSize, type Placed, type QrMatrix } from './barcodes';
import type { DrawOp, LabelDrawing, ModuleRuns, Rect } from './drawing';
import { fitText } from './fitText';
import type { LoadedTemplate, ResolvedSection } from './loadTemplate';
import type { Element, TextElement } from './templateSchema';
import type { TextMetrics } from './textMeasure';
import { ptToMm } from './units';

const LINE_HEIGHT = 1.2;
const MIN_FONT_PT = 5;

/** Exactly what one printed copy shows: the text of every bound field as drawn, and the symbols. */
export interface ShownCopy {
  copy: CopyKind;
  fields: Partial<Record<TextField, string>>;
  barcode?: string;
  qr?: string;
  /** The preview mark stamped over the copy's label (watermark.ts); absent on real paper. */
  watermark?: string;
  /** The piece of a multi-piece waybill this copy belongs to (set by printing when it lays out pieces). */
  pieceNo?: number;
}

export interface WaybillLayout {
  labels: LabelDrawing[];
  shown: ShownCopy[];
  /** Problems a person should know about (e.g. text shortened to fit); never personal data. */
  warnings: string[];
}

/**
 * `symbols`: the encoded barcodes to reuse; the pieces of a multi-piece waybill pass one cache, since they
 * all carry the waybill's one QR token.
 */
export function layoutWaybill(template: LoadedTemplate, views: ReadonlyMap<CopyKind, CopyView>, metrics: TextMetrics, symbols = new SymbolCache()): WaybillLayout {
  const shown: ShownCopy[] = [];
  const warnings: string[] = [];
  const texts = new FittedTexts(metrics);
  const labels = template.labels.map((label): LabelDrawing => {
    const ops: DrawOp[] = [];
    for (const section of label.sections) {
      const view = views.get(section.copy);
      if (!view) throw new Error(`no view for the ${section.copy} copy`);
      const copy: ShownCopy = { copy: section.copy, fields: {} };
      for (const element of section.elements) {
        const drawn = isFixed(element) ? fixedOps(element, section, metrics, warnings) : drawElement(element, section, view, template.dpi, texts, symbols, copy, warnings);
        for (const op of drawn) ops.push(op);
      }
      shown.push(copy);
    }
    return { widthMm: label.widthMm, heightMm: label.heightMm, dpi: template.dpi, ops };
  });
  return { labels, shown, warnings };
}

type FixedElement = Extract<Element, { type: 'line' | 'box' | 'static' }>;

function isFixed(element: Element): element is FixedElement {
  return element.type === 'line' || element.type === 'box' || element.type === 'static';
}

/**
 * A template's lines, boxes and fixed texts are the same on every waybill: each is laid out once per
 * loaded template section (and metrics) and its frozen ops reused, with the warning it raised, if any.
 */
const fixedCache = new WeakMap<ResolvedSection, Map<FixedElement, { metrics: TextMetrics; ops: readonly DrawOp[]; warnings: string[] }>>();

function fixedOps(element: FixedElement, section: ResolvedSection, metrics: TextMetrics, warnings: string[]): readonly DrawOp[] {
  let bySection = fixedCache.get(section);
  if (!bySection) fixedCache.set(section, (bySection = new Map()));
  let cached = bySection.get(element);
  if (cached?.metrics !== metrics) {
    const raised: string[] = [];
    const ops = drawFixed(element, section, metrics, raised);
    cached = { metrics, ops: Object.freeze(ops.map((op) => Object.freeze(op))), warnings: raised };
    bySection.set(element, cached);
  }
  warnings.push(...cached.warnings);
  return cached.ops;
}

function drawFixed(element: FixedElement, section: ResolvedSection, metrics: TextMetrics, warnings: string[]): DrawOp[] {
  const dx = section.x;
  const dy = section.y;
  switch (element.type) {
    case 'line':
      return [{ op: 'line', x1: element.x1 + dx, y1: element.y1 + dy, x2: element.x2 + dx, y2: element.y2 + dy, widthMm: element.widthMm }];
    case 'box':
      return [{ op: 'box', x: element.x + dx, y: element.y + dy, w: element.w, h: element.h, lineMm: element.lineMm, fill: element.fill }];
    case 'static':
      return drawText({ ...element, maxLines: 1, minFontPt: undefined }, element.text, dx, dy, metrics, () =>
        warnings.push(`${section.copy} copy: static text does not fit its box`),
      );
  }
}

/** The elements that show this waybill's data: its fields, barcode and QR. */
function drawElement(
  element: Exclude<Element, FixedElement>,
  section: ResolvedSection,
  view: CopyView,
  dpi: number,
  texts: FittedTexts,
  symbols: SymbolCache,
  shown: ShownCopy,
  warnings: string[],
): DrawOp[] {
  const dx = section.x;
  const dy = section.y;
  switch (element.type) {
    case 'text': {
      const value = view.fields[element.field];
      if (value === undefined) throw new Error(`the ${section.copy} view has no ${element.field}`);
      if (value === '') return [];
      const missing = texts.missingGlyphs(value);
      if (missing) warnings.push(`${section.copy} copy: ${element.field} has ${missing} character(s) the font cannot draw`);
      const fitted = texts.fit(element, element.prefix + value, dx, dy);
      if (fitted.truncated) warnings.push(`${section.copy} copy: ${element.field} was shortened to fit its box`);
      shown.fields[element.field] = fitted.lines.map((o) => o.text).join('\n').slice(element.prefix.length);
      return fitted.lines;
    }
    case 'code128': {
      const placed = symbols.placeCode128(view.barcode, { x: element.x + dx, y: element.y + dy, w: element.w, h: element.h }, dpi);
      if (!placed) throw new WaybillError('invalid_template', `${section.copy} copy: the Code128 box is too narrow for ${view.barcode.length} characters at ${dpi} dpi`);
      shown.barcode = view.barcode;
      return [{ op: 'modules', symbol: 'code128', ...placed, value: view.barcode }];
    }
    case 'qr': {
      if (!view.qr) throw new Error(`the ${section.copy} view has no QR`);
      const box = { x: element.x + dx, y: element.y + dy, w: element.size, h: element.size };
      const placed = symbols.placeQr(view.qr, box, dpi);
      if (!placed) throw new WaybillError('invalid_template', `${section.copy} copy: the QR box is too small at ${dpi} dpi`);
      shown.qr = view.qr;
      return [{ op: 'modules', symbol: 'qr', ...placed, value: view.qr }];
    }
  }
}

type TextBox = Pick<TextElement, 'x' | 'y' | 'w' | 'h' | 'fontPt' | 'minFontPt' | 'maxLines' | 'align' | 'bold'>;
type TextOp = Extract<DrawOp, { op: 'text' }>;

/**
 * One waybill's fitted field texts: its copies mostly show the same value in a box of the same size (the
 * same masked name, area and codes on each of four copies), which is fitted and checked for missing
 * glyphs once. Lines are kept relative to their box's corner.
 */
class FittedTexts {
  private readonly fitted = new Map<string, { lines: readonly TextOp[]; truncated: boolean }>();
  private readonly missing = new Map<string, number>();

  constructor(private readonly metrics: TextMetrics) {}

  /** The text fitted in the element's box, its lines placed in the section at (dx, dy). */
  fit(el: TextBox, text: string, dx: number, dy: number): { lines: TextOp[]; truncated: boolean } {
    const key = `${boxKey(el)}\n${text}`;
    let fitted = this.fitted.get(key);
    if (!fitted) {
      let truncated = false;
      const lines = drawText({ ...el, x: 0, y: 0 }, text, 0, 0, this.metrics, () => (truncated = true));
      this.fitted.set(key, (fitted = { lines, truncated }));
    }
    const x = el.x + dx;
    const y = el.y + dy;
    return { lines: fitted.lines.map((line) => ({ ...line, x: line.x + x, baseline: line.baseline + y })), truncated: fitted.truncated };
  }

  /** How many distinct characters of the text the font cannot draw. */
  missingGlyphs(text: string): number {
    let count = this.missing.get(text);
    if (count === undefined) this.missing.set(text, (count = this.metrics.missingGlyphs(text).length));
    return count;
  }
}

/** What a text box's fitting depends on besides the text: its size and type settings, once per template element. */
const boxKeys = new WeakMap<TextBox, string>();
function boxKey(el: TextBox): string {
  let key = boxKeys.get(el);
  if (key === undefined) boxKeys.set(el, (key = [el.w, el.h, el.fontPt, el.minFontPt, el.maxLines, el.align, el.bold].join(' ')));
  return key;
}

function drawText(el: TextBox, text: string, dx: number, dy: number, metrics: TextMetrics, onTruncate: () => void): TextOp[] {
  const measure = (t: string, size: number) => metrics.widthMm(t, size, el.bold);
  const fit = fitText(
    {
      text,
      widthMm: el.w,
      heightMm: el.h,
      maxPt: el.fontPt,
      minPt: Math.min(el.fontPt, el.minFontPt ?? Math.max(MIN_FONT_PT, el.fontPt * 0.6)),
      maxLines: el.maxLines,
      lineHeight: LINE_HEIGHT,
    },
    measure,
  );
  if (fit.truncated) onTruncate();
  const lineMm = ptToMm(fit.sizePt * LINE_HEIGHT);
  const sizeMm = ptToMm(fit.sizePt);
  // Centre the glyphs' ascent+descent inside each line box.
  const baselineOffset = (lineMm - (metrics.ascent + metrics.descent) * sizeMm) / 2 + metrics.ascent * sizeMm;
  return fit.lines.map((line, i): TextOp => {
    const width = measure(line, fit.sizePt);
    const x = el.align === 'left' ? el.x : el.align === 'right' ? el.x + el.w - width : el.x + (el.w - width) / 2;
    return { op: 'text', x: x + dx, baseline: el.y + dy + i * lineMm + baselineOffset, sizePt: fit.sizePt, bold: el.bold, text: line };
  });
}

/**
 * Encodes each symbol once per waybill, however many copies (and pieces) draw it, so they share one list
 * of modules; holds the last of each kind. A cache for a layout nobody draws (`draw: false`, a JSON
 * answer) only sizes the symbols: their boxes are checked as on paper, and their modules are left out
 * (barcodes.ts, code128Width).
 */
export class SymbolCache {
  private bars?: { data: string; modules: ModuleRuns };
  private matrix?: { data: string; modules: ModuleRuns };

  /** `encoded`: symbols already encoded (elsewhere, e.g. ahead on another thread) for their data. */
  constructor(
    private readonly encoded: { qr?: { data: string; qr: QrMatrix }; code128?: ReadonlyMap<string, number[]> } = {},
    private readonly draw = true,
  ) {}

  placeCode128(data: string, box: Rect, dpi: number): PlacedSymbol | undefined {
    if (this.bars?.data !== data) {
      const modules = this.draw ? code128Modules(this.encoded.code128?.get(data) ?? encodeCode128(data)) : unencoded(code128Width(data), 1);
      this.bars = { data, modules };
    }
    const { modules } = this.bars;
    const placed = placeCode128(modules.cols, box, dpi);
    return placed && { ...placed, modules };
  }

  placeQr(data: string, box: Rect, dpi: number): PlacedSymbol | undefined {
    if (this.matrix?.data !== data) {
      const modules = this.draw ? qrModules(this.encoded.qr?.data === data ? this.encoded.qr.qr : encodeQr(data)) : unencoded(qrSize(data));
      this.matrix = { data, modules };
    }
    const { modules } = this.matrix;
    const placed = placeQr(modules.cols, box, dpi);
    return placed && { ...placed, modules };
  }
}

/** A symbol's size in modules, without them. */
const unencoded = (cols: number, rows = cols): ModuleRuns => ({ cols, rows, runs: new Uint16Array(0) });

type PlacedSymbol = Placed & { modules: ModuleRuns };
