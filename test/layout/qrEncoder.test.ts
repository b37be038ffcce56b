import { randomBytes, randomInt } from 'node:crypto';
import QRCode from 'qrcode';
import { encodeQr, QR_OPTIONS } from '../../src/layout/barcodes';

// The mask is qrcode's choice, found faster: every symbol equals, module for module, the one qrcode makes
// when it picks the mask itself, whatever the data (scan URLs of every length, binary, non-ASCII).
describe('QR symbols with the mask chosen faster', () => {
  const pick = (chars: string, n: number) => Array.from({ length: n }, () => chars[randomInt(chars.length)]).join('');
  const samples = [
    ...Array.from({ length: 300 }, () => `https://scan.example.com/w/${pick('abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-', randomInt(200))}`),
    ...Array.from({ length: 100 }, () => randomBytes(1 + randomInt(300)).toString('latin1')),
    ...Array.from({ length: 50 }, () => pick('收件人派件扫码路号 0123456789', 1 + randomInt(80))),
  ];

  it('gives the symbol qrcode makes with its own mask selection', () => {
    const masks = new Set<number>();
    const sizes = new Set<number>();
    for (const data of samples) {
      const theirs = QRCode.create([{ data: Buffer.from(data, 'utf8'), mode: 'byte' }], QR_OPTIONS);
      const ours = encodeQr(data);
      expect(ours.size).toBe(theirs.modules.size);
      const size = ours.size;
      const differing = Array.from({ length: size * size }, (_, i) => i).filter((i) => ours.dark(i % size, Math.floor(i / size)) !== (theirs.modules.data[i] === 1));
      expect({ data: data.length, mask: theirs.maskPattern, differing }).toEqual({ data: data.length, mask: theirs.maskPattern, differing: [] });
      masks.add(theirs.maskPattern!);
      sizes.add(size);
    }
    // The samples exercise every mask and many symbol versions (a version ≥ 7 has version information too).
    expect(masks.size).toBe(8);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(45);
    expect(sizes.size).toBeGreaterThanOrEqual(8);
  });
});
