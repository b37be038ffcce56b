// The CJK font the project's own install brings (Noto Sans SC, TTF, OFL, from npm), opened once per
// process and shared by text measuring (layout) and drawing (renderers).

import path from 'node:path';
import * as fontkit from 'fontkit';

const PACKAGE = path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json'));

export const FONT_FILES = {
  regular: path.join(PACKAGE, '400Regular', 'NotoSansSC_400Regular.ttf'),
  bold: path.join(PACKAGE, '700Bold', 'NotoSansSC_700Bold.ttf'),
} as const;

export type FontWeight = keyof typeof FONT_FILES;

const opened = new Map<FontWeight, fontkit.Font>();

export function font(weight: FontWeight): fontkit.Font {
  let f = opened.get(weight);
  if (!f) {
    f = keepDecodedGlyphs(fontkit.openSync(FONT_FILES[weight]) as fontkit.Font);
    opened.set(weight, f);
  }
  return f;
}

/** A character's glyph in one weight: its id in the whole font and its advance as a fraction of the font size. */
export interface FontGlyph {
  id: number;
  advance: number;
}

const glyphTables: Record<FontWeight, Map<number, FontGlyph>> = { regular: new Map(), bold: new Map() };

/**
 * The glyph a code point is drawn with, looked up once per process: layout measures with these advances
 * and the renderers draw these glyphs at them, so what layout fitted is what prints.
 */
export function glyphOf(weight: FontWeight, codePoint: number): FontGlyph {
  const table = glyphTables[weight];
  let g = table.get(codePoint);
  if (!g) {
    const f = font(weight);
    const glyph = f.glyphForCodePoint(codePoint);
    g = { id: glyph.id, advance: glyph.advanceWidth / f.unitsPerEm };
    table.set(codePoint, g);
  }
  return g;
}

/**
 * Every PDF embeds a subset of the font, and fontkit's subsetter parses each glyph's outline again for
 * every document (to find compound glyphs): about a millisecond of a one-waybill PDF. fontkit already keeps
 * one glyph object per id for the font's life; this keeps each one's parsed outline with it (read-only to
 * the subsetter; a font with variations, whose outlines are transformed, is left alone). A fontkit without `_decode`
 * just runs unchanged.
 */
function keepDecodedGlyphs(f: fontkit.Font): fontkit.Font {
  type Glyph = { _decode?: () => unknown };
  if (Object.keys(f.variationAxes).length) return f;
  const getGlyph = f.getGlyph.bind(f);
  const kept = new WeakSet<object>();
  f.getGlyph = (id: number, codePoints?: number[]) => {
    const glyph = getGlyph(id, codePoints) as (fontkit.Glyph & Glyph) | null;
    if (glyph && typeof glyph._decode === 'function' && !kept.has(glyph)) {
      const decode = glyph._decode.bind(glyph);
      let decoded: unknown;
      glyph._decode = () => (decoded ??= decode());
      kept.add(glyph);
    }
    return glyph as fontkit.Glyph;
  };
  return f;
}
