// Self-test of the PDF/barcode probes, built only from third-party parts (pdfkit, bwip-js, poppler,
// zxing): if a privacy test later says "no leak", that verdict is only worth something when these
// probes demonstrably see the text, metadata and barcodes that really are on the page.
import { createWriteStream, promises as fs } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import PDFDocument from 'pdfkit';
import bwipjs from 'bwip-js';
import { decodeBarcodes, type DecodedBarcode } from './barcodes';
import { pdfMetadata, pdfPageCount, pdfText, rasterisePdf } from './pdfProbe';

const PAGE_W_MM = 100;
const PAGE_H_MM = 180;
const CODE128_MODULE_MM = 0.375; // 3 dots at 203 dpi
const QR_MODULE_MM = 0.5;
const BAR_HEIGHT_MM = 12;
const CJK_FONT = path.join(
  path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json')),
  '400Regular',
  'NotoSansSC_400Regular.ttf',
);

const pt = (mm: number) => (mm * 72) / 25.4;

const QR_LONG = 'https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv';
const QR_40 = 'https://scan.example.com/w/Ab-9_zQ-x_Y7K'; // 40 chars, mixed case, '-' and '_'
const WAYBILL = 'ZT1234567890128';

type Doc = InstanceType<typeof PDFDocument>;

/** Code128 as filled vector rectangles; returns the symbol width in mm (quiet zones excluded). */
function drawCode128(doc: Doc, text: string, xMm: number, yMm: number, vertical = false): number {
  const [symbol] = bwipjs.raw('code128', text, {}) as { sbs: number[] }[];
  if (!symbol) throw new Error(`bwip-js produced no code128 for ${text}`);
  let offset = 0;
  symbol.sbs.forEach((modules, i) => {
    const a = offset * CODE128_MODULE_MM;
    const len = modules * CODE128_MODULE_MM;
    // sbs alternates bar, space, bar …, starting with a bar.
    if (i % 2 === 0) {
      if (vertical) doc.rect(pt(xMm), pt(yMm + a), pt(BAR_HEIGHT_MM), pt(len));
      else doc.rect(pt(xMm + a), pt(yMm), pt(len), pt(BAR_HEIGHT_MM));
    }
    offset += modules;
  });
  doc.fill('black');
  return offset * CODE128_MODULE_MM;
}

/** QR as filled vector rectangles (one per horizontal run of dark modules); returns side in mm. */
function drawQr(doc: Doc, text: string, xMm: number, yMm: number): number {
  const [symbol] = bwipjs.raw('qrcode', text, {}) as { pixs: number[]; pixx: number; pixy: number }[];
  if (!symbol) throw new Error(`bwip-js produced no qrcode for ${text}`);
  for (let y = 0; y < symbol.pixy; y++) {
    for (let x = 0; x < symbol.pixx; ) {
      if (symbol.pixs[y * symbol.pixx + x] !== 1) {
        x++;
        continue;
      }
      const start = x;
      while (x < symbol.pixx && symbol.pixs[y * symbol.pixx + x] === 1) x++;
      doc.rect(pt(xMm + start * QR_MODULE_MM), pt(yMm + y * QR_MODULE_MM), pt((x - start) * QR_MODULE_MM), pt(QR_MODULE_MM));
    }
  }
  doc.fill('black');
  return symbol.pixx * QR_MODULE_MM;
}

async function writePdf(file: string, info: Record<string, string>, draw: (doc: Doc) => void): Promise<void> {
  const doc = new PDFDocument({ size: [pt(PAGE_W_MM), pt(PAGE_H_MM)], margin: 0, info });
  const out = createWriteStream(file);
  doc.pipe(out);
  draw(doc);
  doc.end();
  await once(out, 'finish');
}

const sortBarcodes = (list: DecodedBarcode[]) =>
  [...list].sort((a, b) => a.format.localeCompare(b.format) || a.text.localeCompare(b.text));

describe('test support probes (pdfkit → poppler → zxing)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'support-self-'));
    // KEEP_PROBE_DIR=1 keeps the generated PDFs for a look when a probe misbehaves.
    if (process.env.KEEP_PROBE_DIR) console.log(dir);
  });
  afterAll(async () => {
    if (process.env.KEEP_PROBE_DIR) return;
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('a 100×180 mm label with two QR codes side by side and three Code128 symbols', () => {
    let pdf: string;
    beforeAll(async () => {
      pdf = path.join(dir, 'label.pdf');
      await writePdf(pdf, { Title: 'Probe self-test label', Author: '张三', Recipient: 'Jane Roe' }, (doc) => {
        doc.font('Helvetica').fontSize(10).fillColor('black').text('Probe self-test: Deliver to J*** R**', pt(5), pt(4));
        // Two QR codes in one row: the case zxing's single-symbol QR finder gets wrong.
        drawQr(doc, QR_LONG, 5, 14);
        drawQr(doc, QR_40, 60, 14);
        doc.moveTo(pt(2), pt(46)).lineTo(pt(98), pt(46)).lineWidth(0.7).stroke();
        // Quiet zones: 10 modules = 3.75 mm around every Code128.
        drawCode128(doc, WAYBILL, 8, 52);
        doc.fontSize(9).text(WAYBILL, pt(8), pt(65));
        // Two short symbols sharing scan rows, 10+ mm apart.
        const w = drawCode128(doc, 'R-07', 5, 80);
        drawCode128(doc, 'C2/44', 5 + w + 10, 80);
        doc.moveTo(pt(2), pt(96)).lineTo(pt(98), pt(96)).stroke();
        doc.fontSize(8).text('Relay phone 138****0000 ext 4711', pt(5), pt(100));
      });
    });

    it('extracts the page text', async () => {
      const text = await pdfText(pdf);
      expect(text).toContain('Probe self-test: Deliver to J*** R**');
      expect(text).toContain('Relay phone 138****0000 ext 4711');
    });

    it('reports metadata including standard, UTF-16 and custom Info keys', async () => {
      const meta = await pdfMetadata(pdf);
      expect(meta).toContain('Probe self-test label');
      expect(meta).toContain('张三');
      expect(meta).toContain('Jane Roe');
      await expect(pdfPageCount(pdf)).resolves.toBe(1);
    });

    it('rasterises to one 300 dpi page and decodes all five symbols', async () => {
      const pages = await rasterisePdf(pdf, 300);
      expect(pages).toHaveLength(1);
      const started = performance.now();
      const found = await decodeBarcodes(pages[0]!);
      const ms = performance.now() - started;
      console.log(`decodeBarcodes: ${found.length} symbols in ${ms.toFixed(0)} ms (1181×2126 px page)`);
      expect(sortBarcodes(found)).toEqual(
        sortBarcodes([
          { format: 'QR_CODE', text: QR_LONG },
          { format: 'QR_CODE', text: QR_40 },
          { format: 'CODE_128', text: WAYBILL },
          { format: 'CODE_128', text: 'R-07' },
          { format: 'CODE_128', text: 'C2/44' },
        ]),
      );
      expect(QR_40).toHaveLength(40);
      expect(ms).toBeLessThan(5000);
    });

    it('is deterministic', async () => {
      const [page] = await rasterisePdf(pdf, 300);
      const first = await decodeBarcodes(page!);
      const second = await decodeBarcodes(page!);
      expect(second).toEqual(first);
    });
  });

  it('finds 4 Code128 (one vertical) and 2 stacked QR codes among CJK text and ruled lines', async () => {
    const pdf = path.join(dir, 'busy.pdf');
    await writePdf(pdf, { Title: 'busy' }, (doc) => {
      doc.registerFont('cjk', CJK_FONT);
      doc.rect(pt(1), pt(1), pt(98), pt(178)).lineWidth(1).stroke();
      doc.font('cjk').fontSize(11).text('收件人：张*  上海市浦东新区  派送网点 0571', pt(4), pt(3));
      drawCode128(doc, WAYBILL, 6, 12);
      doc.moveTo(pt(1), pt(26)).lineTo(pt(99), pt(26)).stroke();
      drawQr(doc, QR_LONG, 6, 30);
      doc.font('cjk').fontSize(9).text('寄件人：李*\n电话 139****1234\n备注：易碎品 轻放', pt(34), pt(32), { width: pt(45) });
      drawQr(doc, QR_40, 6, 62);
      doc.font('cjk').fontSize(9).text('扫码查看物流 第二联', pt(34), pt(66));
      doc.moveTo(pt(1), pt(90)).lineTo(pt(99), pt(90)).stroke();
      // A caption on the same scan rows, left of the symbol (outside its 3.75 mm quiet zone).
      doc.font('cjk').fontSize(9).text('单号', pt(4), pt(97));
      drawCode128(doc, 'ZT0000000001', 16, 94);
      drawCode128(doc, 'ABCdef-123', 6, 112);
      drawCode128(doc, 'V99', 82, 120, true); // bars run across → symbol reads top to bottom
      doc.font('cjk').fontSize(8).text('第一联 派件联 · 签收人（签名）____________', pt(4), pt(170));
    });

    const [page] = await rasterisePdf(pdf, 300);
    const started = performance.now();
    const found = await decodeBarcodes(page!);
    console.log(`decodeBarcodes (busy page): ${found.length} symbols in ${(performance.now() - started).toFixed(0)} ms`);
    expect(sortBarcodes(found)).toEqual(
      sortBarcodes([
        { format: 'QR_CODE', text: QR_LONG },
        { format: 'QR_CODE', text: QR_40 },
        { format: 'CODE_128', text: WAYBILL },
        { format: 'CODE_128', text: 'ZT0000000001' },
        { format: 'CODE_128', text: 'ABCdef-123' },
        { format: 'CODE_128', text: 'V99' },
      ]),
    );
    expect(await pdfText(pdf)).toContain('扫码查看物流');
  });

  it('returns nothing for a page without barcodes', async () => {
    const pdf = path.join(dir, 'empty.pdf');
    await writePdf(pdf, { Title: 'empty' }, (doc) => {
      doc.font('Helvetica').fontSize(12).text('No symbols here, only text.', pt(5), pt(5));
    });
    const [page] = await rasterisePdf(pdf, 300);
    await expect(decodeBarcodes(page!)).resolves.toEqual([]);
  });

  it('explains a missing PDF clearly', async () => {
    await expect(pdfText(path.join(dir, 'missing.pdf'))).rejects.toThrow(/pdftotext/);
  });
});
