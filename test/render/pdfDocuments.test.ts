// PDF documents share work across a process (glyph lookups, parsed glyph outlines) but nothing of their
// content: each embeds its own font subset with every glyph it draws. A document rendered after others
// reads and looks exactly like the same document rendered by a fresh process, and its subsets (our own
// subsetter's) read and look exactly like fontkit's.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import type { LabelDrawing } from '../../src/layout/drawing';
import { layoutWaybill } from '../../src/layout/layoutWaybill';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { fontMetrics } from '../../src/layout/textMeasure';
import { parseOrders } from '../../src/order/readOrders';
import type { CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type CopyView } from '../../src/privacy/privacyView';
import { memoryOutput } from '../../src/render/memoryOutput';
import type { PdfRenderer as PdfRendererClass } from '../../src/render/pdfRenderer';
import { mmToPt } from '../../src/layout/units';
import { pdfText, pdfWords, rasterisePdf } from '../support/pdfProbe';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pdf-documents-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function labelsOf(i: number): LabelDrawing[] {
  const views = new Map<CopyKind, CopyView>();
  for (const s of template.labels.flatMap((l) => l.sections))
    views.set(
      s.copy,
      buildCopyView(
        { order: orders[i]!, waybillNo: `ZT48151623420${i}`, qrUrl: `https://scan.example.com/w/1AbCdEfGhIjKlMnOpQrSt${i}` },
        { copy: s.copy, title: s.title, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-12-01T08:00:00Z'), lang: 'zh' },
        s.policy,
      ),
    );
  return layoutWaybill(template, views, fontMetrics).labels;
}

async function render(Renderer: typeof PdfRendererClass, labels: LabelDrawing[], name: string): Promise<string> {
  const out = memoryOutput();
  const renderer = new Renderer(out.stream);
  for (const label of labels) await renderer.addLabel(label);
  await renderer.finish();
  const file = path.join(dir, `${name}.pdf`);
  fs.writeFileSync(file, out.bytes());
  return file;
}

/** The renderer of a process that has rendered nothing yet: its own module instances, nothing shared. */
function freshRenderer(): typeof PdfRendererClass {
  let Renderer: typeof PdfRendererClass | undefined;
  jest.isolateModules(() => {
    Renderer = (require('../../src/render/pdfRenderer') as typeof import('../../src/render/pdfRenderer')).PdfRenderer;
  });
  return Renderer!;
}

it('a document rendered after others reads and looks exactly like one from a fresh process', async () => {
  const { PdfRenderer } = await import('../../src/render/pdfRenderer');
  const others = orders.slice(1, 6).map((_, j) => labelsOf(j + 1));
  for (const [j, labels] of others.entries()) await render(PdfRenderer, labels, `other-${j}`);
  const warm = await render(PdfRenderer, labelsOf(0), 'warm');
  const cold = await render(freshRenderer(), labelsOf(0), 'cold');

  const text = await pdfText(warm);
  expect(text).toBe(await pdfText(cold));
  expect(text).toContain('ZT481516234200'); // the waybill number, searchable
  expect(text).toMatch(/[\u4e00-\u9fff]/); // and the Chinese text
  const [warmPages, coldPages] = [await rasterisePdf(warm, 100), await rasterisePdf(cold, 100)];
  expect(warmPages).toHaveLength(template.labels.length);
  warmPages.forEach((page, i) => expect(page.equals(coldPages[i]!)).toBe(true));
});

it("a document's font subsets read and look exactly like those fontkit's subsetter writes", async () => {
  const { PdfRenderer } = await import('../../src/render/pdfRenderer');
  let Fontkits: typeof PdfRendererClass | undefined;
  jest.isolateModules(() => {
    // Without the font's TrueType tables the renderer keeps the subset pdfkit made with fontkit.
    jest.doMock('../../src/fonts/fonts', () => ({ ...jest.requireActual<object>('../../src/fonts/fonts'), trueTypeFont: () => undefined }));
    Fontkits = (require('../../src/render/pdfRenderer') as typeof import('../../src/render/pdfRenderer')).PdfRenderer;
    jest.dontMock('../../src/fonts/fonts');
  });
  const labels = labelsOf(5);
  const [ours, fontkits] = [await render(PdfRenderer, labels, 'subset-ours'), await render(Fontkits!, labels, 'subset-fontkit')];
  expect(fs.readFileSync(ours).equals(fs.readFileSync(fontkits))).toBe(false); // the two subsetters did run
  expect(await pdfText(ours)).toBe(await pdfText(fontkits));
  const [a, b] = [await rasterisePdf(ours, 150), await rasterisePdf(fontkits, 150)];
  expect(a).toHaveLength(template.labels.length);
  a.forEach((page, i) => expect(page.equals(b[i]!)).toBe(true));
});

it('every line prints where layout placed it and exactly as wide as layout measured it', async () => {
  const { PdfRenderer } = await import('../../src/render/pdfRenderer');
  const labels = labelsOf(2);
  const words = await pdfWords(await render(PdfRenderer, labels, 'placed'));
  let checked = 0;
  labels.forEach((label, i) => {
    for (const op of label.ops) {
      // pdftotext splits lines into words at spaces; a line without one is one word.
      if (op.op !== 'text' || /\s/.test(op.text)) continue;
      const word = words.find((w) => w.page === i + 1 && w.text === op.text && Math.abs(w.xMin - mmToPt(op.x)) < 0.05);
      expect(word).toBeDefined();
      expect(word!.xMax - word!.xMin).toBeCloseTo(mmToPt(fontMetrics.widthMm(op.text, op.sizePt, op.bold)), 1);
      expect(word!.yMax).toBeGreaterThan(mmToPt(op.baseline));
      checked++;
    }
  });
  expect(checked).toBeGreaterThan(20);
});

it("a long document's pages compressed on the deflate thread read and look exactly like those compressed in line", async () => {
  const { PdfRenderer } = await import('../../src/render/pdfRenderer');
  // The same waybill ten times: its first labels are compressed on the event loop, its last (from page 32) on the thread.
  const once = labelsOf(3);
  const labels = Array.from({ length: 10 }, () => once).flat();
  const file = await render(PdfRenderer, labels, 'long');

  const text = (await pdfText(file)).split('\f');
  const last = labels.length - once.length;
  expect(text.slice(last, labels.length)).toEqual(text.slice(0, once.length));
  const pages = await rasterisePdf(file, 100);
  expect(pages).toHaveLength(labels.length);
  once.forEach((_, i) => expect(pages[last + i]!.equals(pages[i]!)).toBe(true));
});

it('every stream of a document but its font subsets is deflated once: it inflates to its content; the subsets are stored as they are', async () => {
  const { PdfRenderer } = await import('../../src/render/pdfRenderer');
  const bytes = fs.readFileSync(await render(PdfRenderer, labelsOf(4), 'streams'));
  const pdf = bytes.toString('latin1');
  // Each stream object: its dictionary, then exactly Length bytes between "stream\n" and "\nendstream".
  const streams = [...pdf.matchAll(/<<([^]*?)>>\nstream\n/g)].map((m) => {
    const start = m.index + m[0].length;
    const length = Number(/\/Length (\d+)/.exec(m[1]!)![1]);
    expect(pdf.slice(start + length, start + length + 10)).toBe('\nendstream');
    return { dict: m[1]!, data: bytes.subarray(start, start + length) };
  });
  // Four pages' content, two font subsets and their ToUnicode maps at least.
  expect(streams.length).toBeGreaterThanOrEqual(8);
  // A TrueType font program begins with its version: 0x00010000 or "true".
  const isFontProgram = (data: Buffer) => data.readUInt32BE(0) === 0x00010000 || data.toString('latin1', 0, 4) === 'true';
  const fonts = streams.filter(({ data }) => isFontProgram(data));
  expect(fonts).toHaveLength(2);
  for (const { dict } of fonts) expect(dict).not.toContain('/Filter');
  const contents = streams
    .filter((s) => !fonts.includes(s))
    .map(({ dict, data }) => {
      expect(dict).toContain('/Filter /FlateDecode');
      return inflateSync(data);
    });
  // Not deflated twice: no content is itself a zlib stream (header byte 0x78).
  for (const content of contents) expect(content[0]).not.toBe(0x78);
  // Each page's content begins with the flip to points from the top left.
  expect(contents.filter((c) => c.toString('latin1').startsWith('1 0 0 -1 0 '))).toHaveLength(template.labels.length);
});
