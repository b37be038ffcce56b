// Test decoders for printer command streams: they turn our ZPL (^GFA, Z64 or ACS) and TSPL BITMAP back
// into bitmaps, written from the languages' rules rather than from our encoders.

import { inflateSync } from 'node:zlib';
import { createBitmap, type Bitmap } from '../../src/render/bitmap';
import { crc16 } from '../../src/render/zplEncoder';

export function decodeZpl(zpl: Buffer): Bitmap[] {
  const text = zpl.toString('ascii');
  const labels: Bitmap[] = [];
  for (const block of text.split('^XZ').filter((b) => b.includes('^XA'))) {
    const width = Number(/\^PW(\d+)/.exec(block)![1]);
    const height = Number(/\^LL(\d+)/.exec(block)![1]);
    const gf = /\^GFA,(\d+),(\d+),(\d+),([^^]*)\^FS/.exec(block)!;
    const [total, bytesPerRow, data] = [Number(gf[1]), Number(gf[3]), gf[4]!];
    const bitmap = createBitmap(width, height);
    if (bitmap.bytesPerRow !== bytesPerRow || total !== bytesPerRow * height) throw new Error('^GFA sizes do not match ^PW/^LL');
    const raw = data.startsWith(':Z64:') ? fromZ64(data) : fromAcs(data, bytesPerRow, height);
    raw.copy(bitmap.data);
    labels.push(bitmap);
  }
  return labels;
}

function fromZ64(data: string): Buffer {
  const [, , b64, crc] = data.split(':');
  if (parseInt(crc!, 16) !== crc16(b64!)) throw new Error('Z64 CRC mismatch');
  return inflateSync(Buffer.from(b64!, 'base64'));
}

function fromAcs(data: string, bytesPerRow: number, height: number): Buffer {
  const out = Buffer.alloc(bytesPerRow * height);
  let row: string[] = [];
  let previous = '0'.repeat(bytesPerRow * 2);
  let y = 0;
  let repeat = 0;
  const endRow = (fill?: string) => {
    const hex = fill === undefined ? row.join('') : row.join('').padEnd(bytesPerRow * 2, fill);
    if (hex.length !== bytesPerRow * 2) throw new Error(`ACS row ${y} has ${hex.length} hex digits`);
    Buffer.from(hex, 'hex').copy(out, y * bytesPerRow);
    previous = hex;
    row = [];
    y++;
  };
  for (const ch of data) {
    if (ch >= 'G' && ch <= 'Y') repeat += ch.charCodeAt(0) - 70;
    else if (ch >= 'g' && ch <= 'z') repeat += (ch.charCodeAt(0) - 102) * 20;
    else if (ch === ',') endRow('0');
    else if (ch === '!') endRow('F');
    else if (ch === ':') {
      row = [previous];
      endRow();
    } else {
      row.push(ch.repeat(repeat || 1));
      repeat = 0;
      if (row.join('').length === bytesPerRow * 2) endRow();
    }
  }
  if (y !== height) throw new Error(`ACS data holds ${y} rows, not ${height}`);
  return out;
}

export function decodeTspl(tspl: Buffer): Bitmap[] {
  const labels: Bitmap[] = [];
  let at = 0;
  for (;;) {
    const start = tspl.indexOf('BITMAP ', at, 'ascii');
    if (start < 0) return labels;
    const header = /^BITMAP (\d+),(\d+),(\d+),(\d+),(\d+),/.exec(tspl.subarray(start, start + 60).toString('ascii'))!;
    const [bytesPerRow, height] = [Number(header[3]), Number(header[4])];
    const dataStart = start + header[0].length;
    const bitmap = createBitmap(bytesPerRow * 8, height);
    for (let i = 0; i < bytesPerRow * height; i++) bitmap.data[i] = ~tspl[dataStart + i]! & 0xff; // 0 bit = black in TSPL
    labels.push(bitmap);
    at = dataStart + bytesPerRow * height;
    if (tspl.subarray(at, at + 13).toString('ascii') !== '\r\nPRINT 1,1\r\n') throw new Error('BITMAP not followed by PRINT');
  }
}

export function decodeCpcl(cpcl: Buffer): Bitmap[] {
  const lines = cpcl.toString('ascii').split('\r\n').filter((l) => l !== '');
  const labels: Bitmap[] = [];
  for (let i = 0; i < lines.length; ) {
    const head = /^! 0 200 200 (\d+) 1$/.exec(lines[i++]!);
    if (!head) throw new Error('not a CPCL session header');
    let width: number | undefined;
    let bitmap: Bitmap | undefined;
    for (let line = lines[i++]; line !== 'PRINT'; line = lines[i++]) {
      if (line === undefined) throw new Error('session without PRINT');
      const pw = /^PAGE-WIDTH (\d+)$/.exec(line);
      const eg = /^EG (\d+) (\d+) 0 0 ([0-9A-F]*)$/.exec(line);
      if (pw) width = Number(pw[1]);
      else if (eg) {
        const [bytesPerRow, height] = [Number(eg[1]), Number(eg[2])];
        if (height !== Number(head[1]) || eg[3]!.length !== bytesPerRow * height * 2) throw new Error('EG size mismatch');
        bitmap = createBitmap(width ?? bytesPerRow * 8, height);
        Buffer.from(eg[3]!, 'hex').copy(bitmap.data);
      } else if (line !== 'FORM') throw new Error('unexpected CPCL line');
    }
    labels.push(bitmap!);
  }
  return labels;
}
