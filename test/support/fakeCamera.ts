// A fake camera feed for Chromium (--use-file-for-fake-video-capture): the QR code of a printed label,
// cut out with its quiet zone and placed on a white 640×480 frame, written as Y4M (4:2:0, grey: the
// chroma planes are neutral). The feed loops, so the page can start its camera at any time.

import fs from 'node:fs';
import jsQR from 'jsqr';
import sharp from 'sharp';

const W = 640;
const H = 480;

/** Where the first QR code on a label image is, read as a scanner would (jsQR, as the courier page uses). */
async function qrBox(png: Buffer): Promise<{ left: number; top: number; size: number; text: string }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const found = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
  if (!found) throw new Error('no QR code on the label');
  const xs = [found.location.topLeftCorner.x, found.location.topRightCorner.x, found.location.bottomLeftCorner.x, found.location.bottomRightCorner.x];
  const ys = [found.location.topLeftCorner.y, found.location.topRightCorner.y, found.location.bottomLeftCorner.y, found.location.bottomRightCorner.y];
  const side = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const margin = Math.round(side * 0.25);
  const left = Math.max(0, Math.round(Math.min(...xs)) - margin);
  const top = Math.max(0, Math.round(Math.min(...ys)) - margin);
  const size = Math.min(Math.round(side) + 2 * margin, info.width - left, info.height - top);
  return { left, top, size, text: found.data };
}

/** Writes the label's QR as a looping Y4M feed; answers the text the QR holds (to compare with what the page read). */
export async function writeQrFeed(labelPng: Buffer, file: string): Promise<string> {
  const box = await qrBox(labelPng);
  const side = 400;
  const qr = await sharp(labelPng).extract({ left: box.left, top: box.top, width: box.size, height: box.size }).resize(side, side, { kernel: 'nearest' }).greyscale().png().toBuffer();
  const frame = await sharp({ create: { width: W, height: H, channels: 3, background: '#ffffff' } })
    .composite([{ input: qr, left: (W - side) / 2, top: (H - side) / 2 }])
    .greyscale()
    .raw()
    .toBuffer();
  const luma = frame.length === W * H ? frame : Buffer.from(Array.from({ length: W * H }, (_, i) => frame[i * (frame.length / (W * H))]!));
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  const oneFrame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma, chroma]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F5:1 Ip A1:1 C420jpeg\n`), oneFrame, oneFrame]));
  return box.text;
}
