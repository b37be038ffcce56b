// The bundled font is opened without reading its glyph outlines up front (they are read per glyph on
// first use): every glyph must still draw, measure and embed exactly as from the whole file.

import fs from 'node:fs';
import * as fontkit from 'fontkit';
import { FONT_FILES, font, type FontWeight } from '../../src/fonts/fonts';

const TEXT = '张伟欧阳娜娜收件人寄件人北京市朝阳区建国路88号SOHO现代城A座1201室浙江省杭州市西湖区龘靐齉爨ABCxyz0123456789()-转，。';

describe.each(['regular', 'bold'] as FontWeight[])('the %s font, outlines read on use', (weight) => {
  const whole = fontkit.create(fs.readFileSync(FONT_FILES[weight])) as fontkit.Font;
  const lazy = font(weight);

  it('draws and measures every character as the whole file does', () => {
    for (const ch of TEXT) {
      const a = whole.glyphForCodePoint(ch.codePointAt(0)!);
      const b = lazy.glyphForCodePoint(ch.codePointAt(0)!);
      expect({ id: b.id, advance: b.advanceWidth, path: b.path.toSVG() }).toEqual({ id: a.id, advance: a.advanceWidth, path: a.path.toSVG() });
    }
  });

  it('embeds the same subset bytes as the whole file', () => {
    const subset = (f: fontkit.Font) => {
      const s = f.createSubset();
      for (const ch of TEXT) s.includeGlyph(f.glyphForCodePoint(ch.codePointAt(0)!));
      return Buffer.from(s.encode());
    };
    expect(subset(lazy).equals(subset(whole))).toBe(true);
  });
});
