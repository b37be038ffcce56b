// Text metrics from the same font the renderers draw with, so what fits in layout fits on paper.

import { font, glyphOf, type FontWeight } from '../fonts/fonts';
import { ptToMm } from './units';

export interface TextMetrics {
  /** Width of a single line of text in mm. */
  widthMm(text: string, sizePt: number, bold: boolean): number;
  /** Baseline offset from the top of a line box, as a fraction of the font size. */
  readonly ascent: number;
  readonly descent: number;
  /** Characters the font cannot draw (they would print as empty boxes). */
  missingGlyphs(text: string): string[];
}

/** A character's advance width, as a fraction of the font size. */
export function advance(weight: FontWeight, codePoint: number): number {
  return glyphOf(weight, codePoint).advance;
}

export const fontMetrics: TextMetrics = {
  widthMm(text, sizePt, bold) {
    let em = 0;
    for (const ch of text) em += advance(bold ? 'bold' : 'regular', ch.codePointAt(0)!);
    return ptToMm(em * sizePt);
  },
  // Noto Sans SC's typographic ascender/descender (880/-120 per 1000).
  ascent: 0.88,
  descent: 0.12,
  missingGlyphs(text) {
    const f = font('regular');
    return [...new Set([...text].filter((ch) => !/\s/.test(ch) && !f.hasGlyphForCodePoint(ch.codePointAt(0)!)))];
  },
};
