// 1-bit label raster: row-major, MSB first, rows padded to whole bytes, bit 1 = black (printed) dot.

export interface Bitmap {
  width: number;
  height: number;
  bytesPerRow: number;
  data: Buffer;
}

export function createBitmap(width: number, height: number): Bitmap {
  const bytesPerRow = Math.ceil(width / 8);
  return { width, height, bytesPerRow, data: Buffer.alloc(bytesPerRow * height) };
}

export function getDot(b: Bitmap, x: number, y: number): boolean {
  return ((b.data[y * b.bytesPerRow + (x >> 3)]! >> (7 - (x & 7))) & 1) === 1;
}

export function setDot(b: Bitmap, x: number, y: number, black: boolean): void {
  const i = y * b.bytesPerRow + (x >> 3);
  const bit = 0x80 >> (x & 7);
  b.data[i] = black ? b.data[i]! | bit : b.data[i]! & ~bit;
}
