// A long document whose page compression fails (the deflate thread died) fails as a whole: the error
// reaches the caller, from addLabel or finish, and nothing hangs or goes unhandled.

import fs from 'node:fs';
import path from 'node:path';
import type { LabelDrawing } from '../../src/layout/drawing';
import { layoutWaybill } from '../../src/layout/layoutWaybill';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import { memoryOutput } from '../../src/render/memoryOutput';
import { PdfRenderer } from '../../src/render/pdfRenderer';

jest.mock('../../src/render/renderThread', () => ({
  deflateInThread: () => Promise.reject(new Error('the render thread stopped (exit code 1)')),
}));

const ROOT = path.join(__dirname, '..', '..');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-1ply-76x130');

function label(): LabelDrawing {
  const views = new Map<CopyKind, CopyView>();
  for (const s of template.labels.flatMap((l) => l.sections))
    views.set(s.copy, buildCopyView({ order: orders[0]!, waybillNo: 'ZT481516234200', qrUrl: 'https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrStu' }, { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date(), lang: 'zh' }, s.policy));
  return layoutWaybill(template, views, fontMetrics).labels[0]!;
}

it.each([
  ['a long document', 200],
  ['a document that ends while its first group is on the thread', 35],
])('%s fails with the thread’s error', async (_, pages) => {
  const renderer = new PdfRenderer(memoryOutput().stream);
  const drawing = label();
  const run = async () => {
    for (let i = 0; i < pages; i++) await renderer.addLabel(drawing);
    await renderer.finish();
  };
  await expect(run()).rejects.toThrow('the render thread stopped');
});
