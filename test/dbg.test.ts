import fs from 'node:fs';
import { decodeBarcodes } from './support/barcodes';
import { rasterisePdf } from './support/pdfProbe';
it('dbg', async () => {
  const pdf = '/tmp/dbg.pdf';
  for (const dpi of [203, 300]) {
    const pages = await rasterisePdf(pdf, dpi);
    let fails = 0; const t = Date.now();
    for (const [i, p] of pages.entries()) { if (i % 4 !== 0) continue; const f = await decodeBarcodes(p); if (!f.some((b) => b.format === 'QR_CODE')) { fails++; fs.writeFileSync(`/tmp/fail-${dpi}-${i}.png`, p); } }
    console.log(dpi, 'fails', fails, 'ms/page', (Date.now() - t) / (pages.length / 4));
  }
}, 600000);
