// Text metrics from the same font the renderers draw with, so what fits in layout fits on paper.

import { glyphOf, type FontWeight } from '../fonts/fonts';
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
    // Glyph 0 is the font's "missing" box; the glyph table is the one layout measured the text with.
    const missing = new Set<string>();
    for (const ch of text) if (glyphOf('regular', ch.codePointAt(0)!).id === 0 && !/\s/.test(ch)) missing.add(ch);
    return [...missing];
  },
};
