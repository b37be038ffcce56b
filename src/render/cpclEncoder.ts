// CPCL (Zebra mobile printers): one session per label: the `!` header, PAGE-WIDTH in dots, the whole label
// as one EXPANDED-GRAPHICS field in hex (bit 1 = black, as in our bitmap), FORM, PRINT. Lines end in CRLF.

import type { Bitmap } from './bitmap';

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
