// TSPL (TSC, Gprinter, HPRT …): SIZE/GAP/CLS, the whole label as one BITMAP, PRINT. In TSPL bitmap data a
// 0 bit prints (black) and a 1 bit leaves paper white: the inverse of our bitmap, so bytes are inverted.

import type { Bitmap } from './bitmap';
import { placeInCells, type ComposedLabel } from './composeLabel';
import { encodeGb2312 } from './gb2312';
import { inkRegions } from './inkRegions';

export function encodeTspl(bitmap: Bitmap, label: { widthMm: number; heightMm: number }, gapMm = 2): Buffer {
  const header = [`SIZE ${fmt(label.widthMm)} mm,${fmt(label.heightMm)} mm`, `GAP ${fmt(gapMm)} mm,0 mm`, 'DIRECTION 0', 'REFERENCE 0,0', 'CLS', `BITMAP 0,0,${bitmap.bytesPerRow},${bitmap.height},0,`]
    .join('\r\n');
  const data = Buffer.alloc(bitmap.data.length);
  for (let i = 0; i < data.length; i++) data[i] = ~bitmap.data[i]! & 0xff;
  return Buffer.concat([Buffer.from(header, 'ascii'), data, Buffer.from('\r\nPRINT 1,1\r\n', 'ascii')]);
}

const fmt = (mm: number) => String(Math.round(mm * 100) / 100);

/** The default TSPL resident font: 24×24 dots, simplified Chinese in GB2312, on most printers sold in China. */
export const DEFAULT_TSPL_FONT = 'TSS24.BF2';
const FONT_CELL_DOTS = 24;
/** `BITMAP x,y,w,h,0,` and the CRLF after the data: what one more graphic costs. */
export const TSPL_BITMAP_OVERHEAD = 28;

/**
 * A composed label: only the inked regions of the raster as BITMAPs (drawn first: mode 0 overwrites),
 * then BAR fills, the printer's BARCODE "128" / QRCODE (error correction M, as encodeQr), and TEXT in
 * the resident font with GB2312 bytes. Strings escape `"` as TSPL's `\["]`.
 */
export function encodeTsplLabel(c: ComposedLabel, label: { widthMm: number; heightMm: number }, font = DEFAULT_TSPL_FONT, gapMm = 2): Buffer {
  const ascii = (s: string) => Buffer.from(s, 'ascii');
  const quoted = (s: string) => `"${s.replace(/"/g, '\\["]')}"`;
  const parts: Buffer[] = [ascii([`SIZE ${fmt(label.widthMm)} mm,${fmt(label.heightMm)} mm`, `GAP ${fmt(gapMm)} mm,0 mm`, 'DIRECTION 0', 'REFERENCE 0,0', 'CLS', ''].join('\r\n'))];
  for (const r of inkRegions(c.raster, TSPL_BITMAP_OVERHEAD)) {
    const w = r.bx1 - r.bx0;
    const data = Buffer.alloc(w * (r.y1 - r.y0));
    for (let y = r.y0; y < r.y1; y++)
      for (let x = r.bx0; x < r.bx1; x++) data[(y - r.y0) * w + x - r.bx0] = ~c.raster.data[y * c.raster.bytesPerRow + x]! & 0xff;
    parts.push(ascii(`BITMAP ${r.bx0 * 8},${r.y0},${w},${r.y1 - r.y0},0,`), data, ascii('\r\n'));
  }
  const lines: string[] = c.rects.map((r) => `BAR ${r.x0},${r.y0},${r.x1 - r.x0},${r.y1 - r.y0}`);
  for (const s of c.symbols)
    lines.push(
      s.symbol === 'code128'
        ? `BARCODE ${s.x},${s.y},"128",${s.height},0,0,${s.moduleDots},${s.moduleDots},${quoted(s.value)}`
        : `QRCODE ${s.x},${s.y},M,${s.moduleDots},A,0,${quoted(s.value)}`,
    );
  if (lines.length) parts.push(ascii(`${lines.join('\r\n')}\r\n`));
  for (const t of c.texts) {
    const bytes = encodeGb2312(t.text);
    if (!bytes) throw new Error('text without GB2312 bytes reached the TSPL encoder');
    const { mul, top } = placeInCells(t, FONT_CELL_DOTS);
    // `\["]` is the one escape inside a TSPL string; GB2312 bytes never include 0x22.
    parts.push(ascii(`TEXT ${t.x},${top},${quoted(font)},0,${mul},${mul},"`), Buffer.from(bytes.toString('latin1').replace(/"/g, '\\["]'), 'latin1'), ascii('"\r\n'));
  }
  parts.push(ascii('PRINT 1,1\r\n'));
  return Buffer.concat(parts);
}
