// TSPL (TSC, Gprinter, HPRT …): SIZE/GAP/CLS, the whole label as one BITMAP, PRINT. In TSPL bitmap data a
// 0 bit prints (black) and a 1 bit leaves paper white: the inverse of our bitmap, so bytes are inverted.

import type { Bitmap } from './bitmap';

export function encodeTspl(bitmap: Bitmap, label: { widthMm: number; heightMm: number }, gapMm = 2): Buffer {
  const header = [`SIZE ${fmt(label.widthMm)} mm,${fmt(label.heightMm)} mm`, `GAP ${fmt(gapMm)} mm,0 mm`, 'DIRECTION 0', 'REFERENCE 0,0', 'CLS', `BITMAP 0,0,${bitmap.bytesPerRow},${bitmap.height},0,`]
    .join('\r\n');
  const data = Buffer.alloc(bitmap.data.length);
  for (let i = 0; i < data.length; i++) data[i] = ~bitmap.data[i]! & 0xff;
  return Buffer.concat([Buffer.from(header, 'ascii'), data, Buffer.from('\r\nPRINT 1,1\r\n', 'ascii')]);
}

const fmt = (mm: number) => String(Math.round(mm * 100) / 100);
