// 1-bit PNG written directly: a two-colour palette whose index 1 is black, so the bitmap's bytes are the
// pixel indices as they are (no conversion, no colour quantisation), and a pHYs chunk with the dpi.

import { deflateSync } from 'node:zlib';
import type { Bitmap } from './bitmap';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PALETTE = Buffer.from([0xff, 0xff, 0xff, 0x00, 0x00, 0x00]); // 0 = white paper, 1 = black dot

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** One image of the bitmaps stacked top to bottom (one per label), for viewers and raster drivers. */
export function encodePng(bitmaps: Bitmap[], dpi: number): Buffer {
  const width = Math.max(...bitmaps.map((b) => b.width));
  const height = bitmaps.reduce((h, b) => h + b.height, 0);
  const rowBytes = Math.ceil(width / 8);
  const raw = Buffer.alloc((rowBytes + 1) * height); // each row: filter type 0, then its bytes; narrower labels padded white
  let row = 0;
  for (const b of bitmaps)
    for (let y = 0; y < b.height; y++, row++) b.data.copy(raw, row * (rowBytes + 1) + 1, y * b.bytesPerRow, (y + 1) * b.bytesPerRow);

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([1, 3, 0, 0, 0], 8); // bit depth 1, palette, deflate, no filter method, no interlace
  const dotsPerMetre = Math.round(dpi / 0.0254);
  const phys = Buffer.alloc(9);
  phys.writeUInt32BE(dotsPerMetre, 0);
  phys.writeUInt32BE(dotsPerMetre, 4);
  phys[8] = 1; // unit: metre
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('PLTE', PALETTE), chunk('pHYs', phys), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}
