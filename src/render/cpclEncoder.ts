// CPCL (Zebra mobile printers): one session per label: the `!` header, PAGE-WIDTH in dots, the whole label
// as one EXPANDED-GRAPHICS field in hex (bit 1 = black, as in our bitmap), FORM, PRINT. Lines end in CRLF.

import type { Bitmap } from './bitmap';
import { placeInCells, type ComposedLabel } from './composeLabel';
import { encodeGb2312 } from './gb2312';
import { inkRegions } from './inkRegions';

export function encodeCpcl(bitmap: Bitmap): Buffer {
  if (bitmap.bytesPerRow !== Math.ceil(bitmap.width / 8) || bitmap.data.length !== bitmap.bytesPerRow * bitmap.height)
    throw new Error('bitmap sizes are inconsistent');
  const lines = [
    // Zebra's CPCL manual writes the two resolution fields as the literal 200 200 in every form.
    `! 0 200 200 ${bitmap.height} 1`,
    `PAGE-WIDTH ${bitmap.width}`,
    `EG ${bitmap.bytesPerRow} ${bitmap.height} 0 0 ${bitmap.data.toString('hex').toUpperCase()}`,
    'FORM',
    'PRINT',
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'ascii');
}

export type CpclGraphics = 'cg' | 'eg';
/**
 * The resident Chinese fonts of CPCL printers sold in China, by font number: the cell side in dots.
 * 24 is 24×24 (the default, the size of TSPL's TSS24.BF2), 55 is 16×16.
 */
export const CPCL_FONT_CELLS: Record<string, number> = { '24': 24, '55': 16 };
export const DEFAULT_CPCL_FONT = '24';

/** `CG w h x y ` and the CRLF after the data: what one more graphic costs. */
export const CPCL_CG_OVERHEAD = 22;

/**
 * A composed label. `cg`: only the inked regions of the raster, each a COMPRESSED-GRAPHICS field (binary,
 * half the bytes of hex), then LINE fills (a horizontal LINE's width grows down from y0, a vertical one's
 * right from x0), then the printer's BARCODE 128 and B QR (model 2, error correction M, as encodeQr), then
 * TEXT in the resident `font` with GB2312 bytes (COUNTRY CHINA, SETMAG for whole multiples of the cell;
 * GB2312 bytes are all ≥ 0xA1, so the CRLF that ends a TEXT line never occurs inside one).
 * `eg`: today's whole-label EXPANDED-GRAPHICS hex, for firmware that mishandles binary data.
 */
export function encodeCpclLabel(c: ComposedLabel, graphics: CpclGraphics = 'cg', font = DEFAULT_CPCL_FONT): Buffer {
  if (graphics === 'eg' && !c.rects.length && !c.symbols.length && !c.texts.length) return encodeCpcl(c.raster);
  const ascii = (s: string) => Buffer.from(s, 'ascii');
  const parts: Buffer[] = [ascii(`! 0 200 200 ${c.height} 1\r\nPAGE-WIDTH ${c.width}\r\n`)];
  const regions = graphics === 'eg' ? [{ bx0: 0, bx1: c.raster.bytesPerRow, y0: 0, y1: c.raster.height }] : inkRegions(c.raster, CPCL_CG_OVERHEAD);
  for (const r of regions) {
    const w = r.bx1 - r.bx0;
    const data = Buffer.alloc(w * (r.y1 - r.y0));
    for (let y = r.y0; y < r.y1; y++) c.raster.data.copy(data, (y - r.y0) * w, y * c.raster.bytesPerRow + r.bx0, y * c.raster.bytesPerRow + r.bx1);
    const head = `${w} ${r.y1 - r.y0} ${r.bx0 * 8} ${r.y0} `;
    parts.push(graphics === 'cg' ? Buffer.concat([ascii(`CG ${head}`), data, ascii('\r\n')]) : ascii(`EG ${head}${data.toString('hex').toUpperCase()}\r\n`));
  }
  const lines = c.rects.map((r) => (r.x1 - r.x0 >= r.y1 - r.y0 ? `LINE ${r.x0} ${r.y0} ${r.x1} ${r.y0} ${r.y1 - r.y0}` : `LINE ${r.x0} ${r.y0} ${r.x0} ${r.y1} ${r.x1 - r.x0}`));
  for (const s of c.symbols)
    lines.push(s.symbol === 'code128' ? `BARCODE 128 ${s.moduleDots} 1 ${s.height} ${s.x} ${s.y} ${s.value}` : `B QR ${s.x} ${s.y} M 2 U ${s.moduleDots}\r\nMA,${s.value}\r\nENDQR`);
  if (lines.length) parts.push(ascii(`${lines.join('\r\n')}\r\n`));
  const cell = CPCL_FONT_CELLS[font];
  if (c.texts.length && !cell) throw new Error('an unknown CPCL font reached the encoder');
  if (c.texts.length) parts.push(ascii('COUNTRY CHINA\r\n'));
  let mag = 0;
  for (const t of c.texts) {
    const bytes = encodeGb2312(t.text);
    if (!bytes) throw new Error('text without GB2312 bytes reached the CPCL encoder');
    const { mul, top } = placeInCells(t, cell!);
    if (mul !== mag) parts.push(ascii(`SETMAG ${mul} ${mul}\r\n`));
    mag = mul;
    parts.push(ascii(`TEXT ${font} 0 ${t.x} ${top} `), bytes, ascii('\r\n'));
  }
  // SETMAG outlives the label on the printer: back to the font's own size.
  parts.push(ascii(`${mag ? 'SETMAG 0 0\r\n' : ''}FORM\r\nPRINT\r\n`));
  return Buffer.concat(parts);
}
