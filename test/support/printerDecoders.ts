// Test decoders for printer command streams: they turn our ZPL (^GFA, Z64 or ACS) and TSPL BITMAP back
// into bitmaps, written from the languages' rules rather than from our encoders.

import { inflateSync } from 'node:zlib';
import { createBitmap, setDot, type Bitmap } from '../../src/render/bitmap';
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

/** One label of a printer job: its dots, and the command lines drawn by the printer itself (barcodes, text). */
export interface DecodedLabel {
  bitmap: Bitmap;
  /** Lines other than graphics, fills and the page set-up, in order (TEXT lines as latin1). */
  commands: string[];
}

export function decodeTspl(tspl: Buffer, dpi = 203): Bitmap[] {
  return decodeTsplLabels(tspl, dpi).map((l) => l.bitmap);
}

/**
 * TSPL: SIZE (mm, turned into dots at `dpi`, in whole bytes like BITMAP widths), CLS, BITMAP (0 bit = black; mode 0 overwrites, 1 ORs), BAR
 * fills, PRINT. A label that is one BITMAP at 0,0 and nothing else keeps that bitmap's own size.
 */
export function decodeTsplLabels(tspl: Buffer, dpi = 203): DecodedLabel[] {
  const labels: DecodedLabel[] = [];
  let size: [number, number] = [0, 0];
  let graphics: { x: number; y: number; bytesPerRow: number; height: number; mode: number; data: Buffer }[] = [];
  let bars: [number, number, number, number][] = [];
  let commands: string[] = [];
  for (let at = 0; at < tspl.length; ) {
    if (tspl.subarray(at, at + 7).toString('ascii') === 'BITMAP ') {
      const header = /^BITMAP (\d+),(\d+),(\d+),(\d+),(\d+),/.exec(tspl.subarray(at, at + 60).toString('ascii'))!;
      const [x, y, bytesPerRow, height, mode] = header.slice(1, 6).map(Number) as [number, number, number, number, number];
      const dataStart = at + header[0].length;
      graphics.push({ x, y, bytesPerRow, height, mode, data: tspl.subarray(dataStart, dataStart + bytesPerRow * height) });
      at = dataStart + bytesPerRow * height;
      if (tspl.subarray(at, at + 2).toString('ascii') !== '\r\n') throw new Error('BITMAP data not followed by CRLF');
      at += 2;
      continue;
    }
    const end = tspl.indexOf('\r\n', at, 'ascii');
    if (end < 0) throw new Error('TSPL line without CRLF');
    const line = tspl.subarray(at, end).toString('latin1');
    at = end + 2;
    const sized = /^SIZE ([\d.]+) mm,([\d.]+) mm$/.exec(line);
    const bar = /^BAR (\d+),(\d+),(\d+),(\d+)$/.exec(line);
    if (sized) size = [Math.round((Number(sized[1]) * dpi) / 25.4), Math.round((Number(sized[2]) * dpi) / 25.4)];
    else if (bar) bars.push(bar.slice(1, 5).map(Number) as [number, number, number, number]);
    else if (line === 'PRINT 1,1') {
      const only = graphics.length === 1 && !bars.length && !commands.length && graphics[0]!.x === 0 && graphics[0]!.y === 0 ? graphics[0] : undefined;
      const bitmap = only ? createBitmap(only.bytesPerRow * 8, only.height) : createBitmap(Math.ceil(size[0] / 8) * 8, size[1]);
      for (const g of graphics)
        for (let r = 0; r < g.height; r++)
          for (let c = 0; c < g.bytesPerRow; c++) {
            const byte = ~g.data[r * g.bytesPerRow + c]! & 0xff; // 0 bit = black in TSPL
            for (let bit = 0; bit < 8; bit++) {
              const [x, y] = [g.x + c * 8 + bit, g.y + r];
              if (x >= bitmap.width || y >= bitmap.height) continue;
              const black = ((byte >> (7 - bit)) & 1) === 1;
              if (black || g.mode === 0) setDot(bitmap, x, y, black);
            }
          }
      for (const [x, y, w, h] of bars) for (let yy = y; yy < Math.min(bitmap.height, y + h); yy++) for (let xx = x; xx < Math.min(bitmap.width, x + w); xx++) setDot(bitmap, xx, yy, true);
      labels.push({ bitmap, commands });
      [graphics, bars, commands] = [[], [], []];
    } else if (!/^(GAP |DIRECTION |REFERENCE |CLS$)/.test(line)) commands.push(line);
  }
  return labels;
}

export function decodeCpcl(cpcl: Buffer): Bitmap[] {
  return decodeCpclLabels(cpcl).map((l) => l.bitmap);
}

/**
 * CPCL sessions: `! 0 200 200 height 1`, PAGE-WIDTH, EG (hex) and CG (binary) graphics at x,y (black dots
 * only), LINE fills (a horizontal line's width grows down, a vertical one's right), FORM, PRINT.
 */
export function decodeCpclLabels(cpcl: Buffer): DecodedLabel[] {
  const labels: DecodedLabel[] = [];
  let at = 0;
  const readLine = () => {
    const end = cpcl.indexOf('\r\n', at, 'ascii');
    if (end < 0) throw new Error('CPCL line without CRLF');
    const line = cpcl.subarray(at, end).toString('latin1');
    at = end + 2;
    return line;
  };
  while (at < cpcl.length) {
    const head = /^! 0 200 200 (\d+) 1$/.exec(readLine());
    if (!head) throw new Error('not a CPCL session header');
    const height = Number(head[1]);
    let bitmap: Bitmap | undefined;
    const commands: string[] = [];
    const blit = (bytesPerRow: number, rows: number, x0: number, y0: number, data: Buffer) => {
      bitmap ??= createBitmap(bytesPerRow * 8, height);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < bytesPerRow * 8; c++)
          if ((data[r * bytesPerRow + (c >> 3)]! >> (7 - (c & 7))) & 1 && x0 + c < bitmap.width && y0 + r < bitmap.height) setDot(bitmap, x0 + c, y0 + r, true);
    };
    for (;;) {
      if (at >= cpcl.length) throw new Error('session without PRINT');
      if (cpcl.subarray(at, at + 3).toString('ascii') === 'CG ') {
        const cg = /^CG (\d+) (\d+) (\d+) (\d+) /.exec(cpcl.subarray(at, at + 40).toString('ascii'))!;
        const [bytesPerRow, rows, x, y] = cg.slice(1, 5).map(Number) as [number, number, number, number];
        const start = at + cg[0].length;
        blit(bytesPerRow, rows, x, y, cpcl.subarray(start, start + bytesPerRow * rows));
        at = start + bytesPerRow * rows;
        if (cpcl.subarray(at, at + 2).toString('ascii') !== '\r\n') throw new Error('CG data not followed by CRLF');
        at += 2;
        continue;
      }
      const line = readLine();
      if (line === 'PRINT') break;
      const pw = /^PAGE-WIDTH (\d+)$/.exec(line);
      const eg = /^EG (\d+) (\d+) (\d+) (\d+) ([0-9A-F]*)$/.exec(line);
      const ln = /^LINE (\d+) (\d+) (\d+) (\d+) (\d+)$/.exec(line);
      if (pw) bitmap = createBitmap(Number(pw[1]), height);
      else if (eg) {
        const [bytesPerRow, rows, x, y] = eg.slice(1, 5).map(Number) as [number, number, number, number];
        if (eg[5]!.length !== bytesPerRow * rows * 2) throw new Error('EG size mismatch');
        if (x === 0 && y === 0 && rows !== height) throw new Error('EG size mismatch');
        blit(bytesPerRow, rows, x, y, Buffer.from(eg[5]!, 'hex'));
      } else if (ln) {
        const [x0, y0, x1, y1, w] = ln.slice(1, 6).map(Number) as [number, number, number, number, number];
        const [rx0, ry0, rx1, ry1] = y0 === y1 ? [x0, y0, x1, y0 + w] : [x0, y0, x0 + w, y1];
        for (let y = ry0; y < Math.min(height, ry1); y++) for (let x = rx0; x < Math.min(bitmap!.width, rx1); x++) setDot(bitmap!, x, y, true);
      } else if (line !== 'FORM') commands.push(line);
    }
    labels.push({ bitmap: bitmap!, commands });
  }
  return labels;
}
