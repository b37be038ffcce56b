// ZPL II: each label as one ^GFA graphic field covering the whole label, Z64 (zlib + base64 + CRC) or
// ACS (ZPL's run-length hex) compressed. Text is raster, so no printer-resident CJK font is needed.

import { deflateSync } from 'node:zlib';
import type { Bitmap } from './bitmap';
import type { ComposedLabel } from './composeLabel';

export type ZplCompression = 'z64' | 'acs';

export function encodeZpl(bitmap: Bitmap, compression: ZplCompression): Buffer {
  const total = bitmap.bytesPerRow * bitmap.height;
  const data = compression === 'z64' ? z64(bitmap.data) : acs(bitmap);
  return Buffer.from(
    `^XA^CI28^PW${bitmap.width}^LL${bitmap.height}^LH0,0^FO0,0^GFA,${total},${total},${bitmap.bytesPerRow},${data}^FS^PQ1^XZ\r\n`,
    'ascii',
  );
}

function z64(raw: Buffer): string {
  const b64 = deflateSync(raw, { level: 9 }).toString('base64');
  return `:Z64:${b64}:${crc16(b64).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** CRC-16/CCITT (polynomial 0x1021, initial 0) of the base64 text, as ZPL's Z64 expects. */
export function crc16(text: string): number {
  let crc = 0;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** ACS: per row, hex digits with run counts (G–Y = 1–19, g–z = 20–400), `,` zeros to the end, `!` ones to the end, `:` same row again. */
function acs(b: Bitmap): string {
  const rows: string[] = [];
  let previous: string | undefined;
  for (let y = 0; y < b.height; y++) {
    const hex = b.data.subarray(y * b.bytesPerRow, (y + 1) * b.bytesPerRow).toString('hex').toUpperCase();
    if (hex === previous) {
      rows.push(':');
      continue;
    }
    previous = hex;
    let body = hex;
    let tail = '';
    const trimmed = hex.replace(/0+$/, '');
    if (trimmed.length < hex.length) [body, tail] = [trimmed, ','];
    else {
      const ones = hex.replace(/F+$/, '');
      if (ones.length < hex.length) [body, tail] = [ones, '!'];
    }
    rows.push(runs(body) + tail);
  }
  return rows.join('');
}

function runs(hex: string): string {
  let out = '';
  for (let i = 0; i < hex.length; ) {
    let n = 1;
    while (i + n < hex.length && hex[i + n] === hex[i]) n++;
    out += n > 1 ? count(n) + hex[i] : hex[i];
    i += n;
  }
  return out;
}

function count(n: number): string {
  let s = 'z'.repeat(Math.floor(n / 400));
  n %= 400;
  if (n >= 20) s += String.fromCharCode('f'.charCodeAt(0) + Math.floor(n / 20));
  n %= 20;
  if (n > 0) s += String.fromCharCode('F'.charCodeAt(0) + n);
  return s;
}

/** Printable ASCII: what a barcode command of every language here carries as is (escaped where needed). */
export const printableAscii = (value: string) => /^[\x20-\x7e]*$/.test(value);

/**
 * A composed label: the raster as one ^GFA (byte for byte today's label when nothing is native), then the
 * printer's own barcodes: ^BC Code128 (automatic subsets, like bwip-js) with ^BY module width, and ^BQ
 * QR model 2 with error correction M (as encodeQr) at the layout's cell size. ^FH escapes ^ ~ _.
 */
export function encodeZplLabel(c: ComposedLabel, compression: ZplCompression): Buffer {
  const bitmap = c.raster;
  const total = bitmap.bytesPerRow * bitmap.height;
  const data = compression === 'z64' ? z64(bitmap.data) : acs(bitmap);
  const field = (value: string) => `^FH_^FD${value.replace(/[\^~_]/g, (ch) => `_${ch.charCodeAt(0).toString(16).toUpperCase()}`)}^FS`;
  const symbols = c.symbols.map((s) =>
    s.symbol === 'code128'
      ? `^BY${s.moduleDots},3,${s.height}^FO${s.x},${s.y}^BCN,${s.height},N,N,N,A${field(s.value)}`
      : `^FO${s.x},${s.y}^BQN,2,${s.moduleDots}${field(`MA,${s.value}`)}`,
  );
  return Buffer.from(
    `^XA^CI28^PW${bitmap.width}^LL${bitmap.height}^LH0,0^FO0,0^GFA,${total},${total},${bitmap.bytesPerRow},${data}^FS${symbols.join('')}^PQ1^XZ\r\n`,
    'ascii',
  );
}
