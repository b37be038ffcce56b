// A PDF's font subset holds every glyph the document drew, renumbered in the order it drew them, with the
// outlines and advances of the bundled font: read back by fontkit, each glyph is the original one. The file
// is a well-formed TrueType font (table and whole-font checksums), and a composite glyph's parts come along.

import fs from 'node:fs';
import * as fontkit from 'fontkit';
import { FONT_FILES, font, trueTypeFont, type FontWeight } from '../../src/fonts/fonts';
import { TrueTypeFont, type TrueTypeTables } from '../../src/fonts/trueTypeSubset';

const TEXT = '张伟欧阳娜娜收件人寄件人北京市朝阳区建国路88号SOHO现代城A座1201室浙江省杭州市西湖区龘靐齉爨ABCxyz0123456789()-转，。 ';

/** The glyphs a composite glyph is made of (fontkit's parsed outline). */
function parts(g: fontkit.Glyph): number[] | undefined {
  return (g as unknown as { _decode(): { components?: { glyphID: number }[] } | null })._decode()?.components?.map((c) => c.glyphID);
}

function drawn(g: fontkit.Glyph) {
  return { advance: g.advanceWidth, path: g.path.toSVG() };
}

function sum(b: Buffer): number {
  const padded = Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  let s = 0;
  for (let i = 0; i < padded.length; i += 4) s = (s + padded.readUInt32BE(i)) >>> 0;
  return s;
}

/** A font file's tables read straight from its bytes (long loca offsets, as the bundled font has). */
function fileTables(file: Buffer): TrueTypeTables {
  const tables = new Map<string, Buffer>();
  for (let i = 0; i < file.readUInt16BE(4); i++) {
    const entry = 12 + 16 * i;
    const offset = file.readUInt32BE(entry + 8);
    tables.set(file.toString('latin1', entry, entry + 4), file.subarray(offset, offset + file.readUInt32BE(entry + 12)));
  }
  const [loca, glyf] = [tables.get('loca')!, tables.get('glyf')!];
  return { table: (tag) => tables.get(tag), glyph: (id) => glyf.subarray(loca.readUInt32BE(id * 4), loca.readUInt32BE(id * 4 + 4)) };
}

describe.each(['regular', 'bold'] as FontWeight[])('a subset of the %s font', (weight) => {
  const whole = fontkit.create(fs.readFileSync(FONT_FILES[weight])) as fontkit.Font;
  const ids = [...TEXT].map((ch) => font(weight).glyphForCodePoint(ch.codePointAt(0)!).id);

  it('numbers glyphs in the order the document first draws them, .notdef first', () => {
    const subset = trueTypeFont(weight)!.subset();
    const numbered = ids.map((id) => subset.includeGlyph(id));
    const distinct = [...new Set(ids)];
    expect(numbered).toEqual(ids.map((id) => distinct.indexOf(id) + 1));
    expect(subset.includeGlyph(0)).toBe(0);
  });

  it('draws and advances every glyph exactly as the whole font does', () => {
    const subset = trueTypeFont(weight)!.subset();
    const numbered = ids.map((id) => subset.includeGlyph(id));
    const parsed = fontkit.create(subset.encode()) as fontkit.Font;
    expect(parsed.numGlyphs).toBe(new Set(ids).size + 1);
    expect(drawn(parsed.getGlyph(0))).toEqual(drawn(whole.getGlyph(0)));
    ids.forEach((id, i) => expect(drawn(parsed.getGlyph(numbered[i]!))).toEqual(drawn(whole.getGlyph(id))));
    expect(parsed.unitsPerEm).toBe(whole.unitsPerEm);
  });

  it('is a well-formed TrueType file: each table and the whole font check out', () => {
    const subset = trueTypeFont(weight)!.subset();
    for (const id of ids) subset.includeGlyph(id);
    const file = subset.encode();
    expect(file.readUInt32BE(0)).toBe(0x00010000);
    const tags: string[] = [];
    for (let i = 0; i < file.readUInt16BE(4); i++) {
      const entry = 12 + 16 * i;
      const tag = file.toString('latin1', entry, entry + 4);
      const [checkSum, offset, length] = [file.readUInt32BE(entry + 4), file.readUInt32BE(entry + 8), file.readUInt32BE(entry + 12)];
      expect(offset % 4).toBe(0);
      const table = Buffer.from(file.subarray(offset, offset + length));
      if (tag === 'head') table.writeUInt32BE(0, 8); // its checksum is taken with checkSumAdjustment zero
      expect(sum(table)).toBe(checkSum);
      tags.push(tag);
    }
    expect(tags).toEqual([...tags].sort());
    expect(tags).toEqual(expect.arrayContaining(['glyf', 'head', 'hhea', 'hmtx', 'loca', 'maxp']));
    expect(sum(file)).toBe(0xb1b0afba);
  });
});

it('a subset with more outlines than short loca offsets reach (a large batch) takes the long form', () => {
  const whole = fontkit.create(fs.readFileSync(FONT_FILES.regular)) as fontkit.Font & { head: { indexToLocFormat: number } };
  const subset = trueTypeFont('regular')!.subset();
  const ids = Array.from({ length: 3000 }, (_, i) => 30_000 - i * 9);
  for (const id of ids) subset.includeGlyph(id);
  const parsed = fontkit.create(subset.encode()) as fontkit.Font & { head: { indexToLocFormat: number } };
  expect(parsed.head.indexToLocFormat).toBe(1);
  for (const i of [0, 1, 1500, 2999]) expect(drawn(parsed.getGlyph(i + 1))).toEqual(drawn(whole.getGlyph(ids[i]!)));
  const small = trueTypeFont('regular')!.subset();
  small.includeGlyph(ids[0]!);
  expect((fontkit.create(small.encode()) as typeof parsed).head.indexToLocFormat).toBe(0);
});

it("a composite glyph's parts join the subset, and it refers to them by their new numbers", () => {
  const tables = fileTables(fs.readFileSync(FONT_FILES.regular));
  const real = font('regular');
  const [a, b] = [real.glyphForCodePoint('张'.codePointAt(0)!).id, real.glyphForCodePoint('A'.codePointAt(0)!).id];
  // The bundled font has no composites: glyph 3 stands in for one, drawing `a` as it is and `b` moved and scaled.
  const composite = Buffer.alloc(10 + 8 + 10);
  composite.writeInt16BE(-1, 0);
  composite.writeUInt16BE(0x0001 | 0x0020, 10); // ARG_1_AND_2_ARE_WORDS | MORE_COMPONENTS
  composite.writeUInt16BE(a, 12);
  composite.writeUInt16BE(0x0008, 18); // WE_HAVE_A_SCALE, byte offsets
  composite.writeUInt16BE(b, 20);
  composite.writeInt8(100, 22);
  composite.writeInt8(-50, 23);
  composite.writeUInt16BE(0x2000, 24); // 0.5 in F2Dot14
  const withComposite = new TrueTypeFont({ table: (tag) => tables.table(tag), glyph: (id) => (id === 3 ? composite : tables.glyph(id)) });

  const subset = withComposite.subset();
  expect(subset.includeGlyph(3)).toBe(1);
  const parsed = fontkit.create(subset.encode()) as fontkit.Font;
  expect(parsed.numGlyphs).toBe(4);
  expect(parts(parsed.getGlyph(1))).toEqual([2, 3]);
  expect(drawn(parsed.getGlyph(2))).toEqual(drawn(real.getGlyph(a)));
  expect(drawn(parsed.getGlyph(3))).toEqual(drawn(real.getGlyph(b)));
  expect(parsed.getGlyph(1).path.commands).toHaveLength(real.getGlyph(a).path.commands.length + real.getGlyph(b).path.commands.length);
  // The original's bytes are untouched: a later document's subset numbers the parts afresh.
  expect(composite.readUInt16BE(12)).toBe(a);
});
