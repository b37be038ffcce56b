// The CJK font the project's own install brings (Noto Sans SC, TTF, OFL, from npm), opened once per
// process and shared by text measuring (layout) and drawing (renderers).

import fs from 'node:fs';
import path from 'node:path';
import * as fontkit from 'fontkit';
import { TrueTypeFont, type TrueTypeTables } from './trueTypeSubset';

const PACKAGE = path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json'));

export const FONT_FILES = {
  regular: path.join(PACKAGE, '400Regular', 'NotoSansSC_400Regular.ttf'),
  bold: path.join(PACKAGE, '700Bold', 'NotoSansSC_700Bold.ttf'),
} as const;

export type FontWeight = keyof typeof FONT_FILES;

interface OpenedFont {
  font: fontkit.Font;
  /** Its tables for the PDF subsetter, when it is a TrueType font whose outlines are read on use. */
  trueType?: TrueTypeFont;
}

const opened = new Map<FontWeight, OpenedFont>();

function open(weight: FontWeight): OpenedFont {
  let f = opened.get(weight);
  if (!f) {
    const { font: fk, tables } = openOutlinesOnUse(FONT_FILES[weight]);
    f = { font: fk, ...(tables ? { trueType: new TrueTypeFont(tables) } : {}) };
    opened.set(weight, f);
  }
  return f;
}

export function font(weight: FontWeight): fontkit.Font {
  return open(weight).font;
}

/** The weight's TrueType tables, for the PDF renderer's subsets; undefined for a font fontkit subsets itself. */
export function trueTypeFont(weight: FontWeight): TrueTypeFont | undefined {
  return open(weight).trueType;
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
 * Opens a TrueType font with every table read except its glyph outlines (`glyf`: 10 of each file's 10.5 MB),
 * whose bytes are read glyph by glyph when fontkit first asks for the glyph: a process uses a few hundred
 * of the 65,000. Reading the whole file cost each process start some 35 ms per weight, most of it the
 * system handing out 10 MB of fresh memory, and 20 MB of resident memory for its life. The rest of the
 * buffer is zero-filled memory that is never touched. The file stays open, so a package update under a
 * running server cannot mix two versions of the font. Any other font file is read whole.
 */
function openOutlinesOnUse(file: string): { font: fontkit.Font; tables?: TrueTypeTables } {
  const fd = fs.openSync(file, 'r');
  const bytes = Buffer.alloc(fs.fstatSync(fd).size);
  const readAt = (offset: number, length: number) => {
    if (offset < 0 || length < 0 || offset + length > bytes.length) throw new Error(`font file ${path.basename(file)}: a table lies outside the file`);
    for (let done = 0; done < length; ) {
      const n = fs.readSync(fd, bytes, offset + done, length - done, offset + done);
      if (n === 0) throw new Error(`font file ${path.basename(file)} is shorter than its tables say`);
      done += n;
    }
  };
  readAt(0, Math.min(12, bytes.length));
  if (bytes.length < 12 || bytes.readUInt32BE(0) !== 0x00010000) {
    fs.closeSync(fd);
    return { font: fontkit.create(fs.readFileSync(file)) as fontkit.Font };
  }
  const count = bytes.readUInt16BE(4);
  readAt(12, 16 * count);
  const tables = new Map<string, { offset: number; length: number }>();
  for (let i = 0; i < count; i++) {
    const entry = 12 + 16 * i;
    const table = { offset: bytes.readUInt32BE(entry + 8), length: bytes.readUInt32BE(entry + 12) };
    const tag = bytes.toString('latin1', entry, entry + 4);
    tables.set(tag, table);
    if (tag !== 'glyf') readAt(table.offset, table.length);
  }
  const glyf = tables.get('glyf');
  const f = fontkit.create(bytes) as fontkit.Font & { loca?: { offsets: number[] } };
  const offsets = f.loca?.offsets;
  if (!glyf || !offsets) {
    if (glyf) readAt(glyf.offset, glyf.length);
    fs.closeSync(fd);
    return { font: f };
  }
  const read = new Uint8Array(f.numGlyphs);
  const outline = (id: number) => {
    const start = glyf.offset + offsets[id]!;
    const end = glyf.offset + offsets[id + 1]!;
    if (!read[id]) {
      readAt(start, end - start);
      read[id] = 1;
    }
    return bytes.subarray(start, end);
  };
  const getGlyph = f.getGlyph.bind(f);
  // Every glyph fontkit decodes (for measuring, drawing, and a composite's parts) comes through getGlyph.
  f.getGlyph = (id: number, codePoints?: number[]) => {
    if (id >= 0 && id < read.length && !read[id]) outline(id);
    return getGlyph(id, codePoints);
  };
  return {
    font: f,
    tables: {
      table: (tag) => {
        const t = tables.get(tag);
        return t && tag !== 'glyf' ? bytes.subarray(t.offset, t.offset + t.length) : undefined;
      },
      glyph: outline, // ids checked by the subset (TrueTypeSubset.includeGlyph)
    },
  };
}
