// `npm run bench:bytes`: bytes of one four-copy waybill (cn-4copy by default) per printer language,
// resolution and job option. "before" is today's whole-label raster (one ^GFA, one BITMAP, one EG hex);
// the other columns are what labelRenderer sends with each option. Prints a table; asserts nothing.

import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/config';
import { layoutWaybill } from '../layout/layoutWaybill';
import { loadTemplate, tailorTemplate } from '../layout/loadTemplate';
import { fontMetrics } from '../layout/textMeasure';
import { parseOrders } from '../order/readOrders';
import type { CopyKind } from '../privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../privacy/privacyView';
import { encodeCpcl } from '../render/cpclEncoder';
import { memoryOutput } from '../render/memoryOutput';
import { DPIS, labelRenderer, type RenderOptions } from '../render/outputFormats';
import { rasteriseLabel } from '../render/rasterise';
import { encodeTspl } from '../render/tsplEncoder';
import { encodeZpl } from '../render/zplEncoder';
import type { LabelDrawing } from '../layout/drawing';

const templateId = process.argv[2] ?? 'cn-4copy';
const QR_URL = 'https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStUv';

type Language = 'zpl' | 'tspl' | 'cpcl';
const OPTIONS: Record<Language, [string, RenderOptions][]> = {
  zpl: [
    ['default', {}],
    ['barcodes=native', { barcodes: 'native' }],
  ],
  tspl: [
    ['default', {}],
    ['barcodes=native', { barcodes: 'native' }],
    ['native+printer-font', { barcodes: 'native', text: 'printer-font' }],
  ],
  cpcl: [
    ['default (CG)', {}],
    ['barcodes=native', { barcodes: 'native' }],
    ['native+printer-font', { barcodes: 'native', text: 'printer-font' }],
    ['graphics=eg (today)', { cpclGraphics: 'eg' }],
  ],
};

async function labelsAt(dpi: number): Promise<LabelDrawing[]> {
  const template = tailorTemplate(loadTemplate(path.join(PACKAGE_ROOT, 'templates'), templateId), { dpi: dpi as 203 | 300 });
  const order = parseOrders(fs.readFileSync(path.join(PACKAGE_ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson')[0]!;
  const views = new Map<CopyKind, CopyView>();
  for (const s of template.labels.flatMap((l) => l.sections))
    views.set(s.copy, buildCopyView({ order, waybillNo: 'ZT4815162342001', qrUrl: QR_URL }, { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date(), lang: 'zh' }, s.policy));
  return layoutWaybill(template, views, fontMetrics).labels;
}

async function before(language: Language, labels: LabelDrawing[], dpi: number): Promise<number> {
  let total = 0;
  for (const label of labels) {
    const bitmap = await rasteriseLabel(label, dpi);
    total += (language === 'zpl' ? encodeZpl(bitmap, 'z64') : language === 'tspl' ? encodeTspl(bitmap, label) : encodeCpcl(bitmap)).length;
  }
  return total;
}

async function after(language: Language, labels: LabelDrawing[], dpi: number, opts: RenderOptions): Promise<number> {
  const out = memoryOutput();
  const renderer = labelRenderer(language, out.stream, dpi, opts);
  for (const label of labels) await renderer.addLabel(label);
  await renderer.finish();
  return out.bytes().length;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const rows: string[][] = [['language', 'dpi', 'option', 'before', 'after', 'saved']];
  for (const dpi of DPIS) {
    const labels = await labelsAt(dpi);
    for (const language of ['zpl', 'tspl', 'cpcl'] as const) {
      const was = await before(language, labels, dpi);
      for (const [name, opts] of OPTIONS[language]) {
        const now = await after(language, labels, dpi, opts);
        rows.push([language, String(dpi), name, kb(was), kb(now), `${Math.round((1 - now / was) * 100)}%`]);
      }
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`Bytes of one ${templateId} waybill (${(await labelsAt(203)).length} labels):\n`);
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
