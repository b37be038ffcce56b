// PDF backend (pdfkit): one page per label, vector text in the bundled CJK font, barcode modules as
// filled rectangles. Pages stream out as they are finished, so a batch's memory stays bounded.

import PDFDocument from 'pdfkit';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { font, type FontWeight } from '../fonts/fonts';
import type { DrawOp, LabelDrawing } from '../layout/drawing';
import { mmToPt } from '../layout/units';
import type { LabelRenderer } from './renderer';

const MAX_BUFFERED_BYTES = 1 << 20;
/**
 * pdfkit shapes every word with fontkit and caches the result in a plain dictionary per font per
 * document: a one-waybill PDF starts cold (its fixed labels, titles and carrier names shaped again), and
 * a 10,000-waybill batch keeps every address it ever shaped. One dictionary per weight, shared by all
 * documents and started afresh once it holds MAX_SHAPED_RUNS, fixes both. Safe to share: a run depends
 * only on the font and the text, and pdfkit copies a run's positions before changing one.
 */
const MAX_SHAPED_RUNS = 5_000;
/** How often (in pages, and in new documents) the dictionaries are counted: counting walks every key. */
const SHAPED_RUNS_CHECK_EVERY = 64;
const shapedRuns = new Map<FontWeight, Record<string, unknown>>();
let documents = 0;
function shapedRunsOf(weight: FontWeight, count: boolean): Record<string, unknown> {
  let runs = shapedRuns.get(weight);
  if (!runs || (count && Object.keys(runs).length >= MAX_SHAPED_RUNS)) {
    runs = Object.create(null) as Record<string, unknown>;
    shapedRuns.set(weight, runs);
  }
  return runs;
}

/** The part of a pdfkit object reference the page tree needs once the page itself is written. */
interface PageRef {
  id: number;
  gen: number;
}

/**
 * pdfkit keeps every page's dictionary in the page tree (`Kids`) until the document ends, and with it
 * the page's content and resource objects: about 0.8 kB a page, 50 MB in a 10,000-waybill batch. Once
 * addPage has written the previous page, the tree only needs its "id gen R": that entry is swapped for a
 * bare reference of the same class (pdfkit writes a reference by `instanceof` and `toString`), so the
 * page's objects can be collected. Should pdfkit's internals change, this does nothing (and memory grows).
 */
function releaseWrittenPage(doc: PDFKit.PDFDocument): void {
  const kids = (doc as unknown as { _root?: { data?: { Pages?: { data?: { Kids?: PageRef[] } } } } })._root?.data?.Pages?.data?.Kids;
  const written = kids && kids.length >= 2 ? kids[kids.length - 2] : undefined;
  if (!kids || !written || !Object.hasOwn(written, 'data')) return;
  kids[kids.length - 2] = Object.create(Object.getPrototypeOf(written) as object, { id: { value: written.id }, gen: { value: written.gen } }) as PageRef;
}

export class PdfRenderer implements LabelRenderer {
  private readonly doc: PDFKit.PDFDocument;
  private pages = 0;
  /** This document's two fonts, given the shared dictionaries of shaped runs. */
  private readonly shapers: { weight: FontWeight; font: { layoutCache?: unknown } }[] = [];
  private readonly names: Record<'regular' | 'bold', string>;
  private readonly done: Promise<void>;

  constructor(private readonly out: Writable) {
    this.doc = new PDFDocument({
      autoFirstPage: false,
      compress: true,
      // Our font as the default, so pdfkit does not parse its built-in Helvetica metrics for every document.
      font: font('regular') as unknown as string,
      // Metadata names the product only: never a person, an order or a file name.
      info: { Title: 'Waybills', Creator: 'privacy-waybill', Producer: 'privacy-waybill' },
    });
    // Registered under their PostScript names: pdfkit files the default font under that name, so the
    // first switch to it is a cache hit instead of a re-open plus a costly font comparison per document.
    this.names = { regular: font('regular').postscriptName, bold: font('bold').postscriptName };
    this.doc.registerFont(this.names.regular, font('regular') as unknown as string);
    this.doc.registerFont(this.names.bold, font('bold') as unknown as string);
    for (const weight of ['bold', 'regular'] as const) {
      // `_font` is the font just selected; `layoutCache` the dictionary pdfkit reads and fills.
      const selected = (this.doc.font(this.names[weight]) as unknown as { _font?: { layoutCache?: unknown } })._font;
      if (selected && 'layoutCache' in selected) this.shapers.push({ weight, font: selected });
    }
    this.shareShapedRuns(++documents % SHAPED_RUNS_CHECK_EVERY === 0);
    this.done = new Promise((resolve, reject) => {
      out.once('finish', resolve);
      out.once('error', reject);
      this.doc.once('error', reject);
    });
    // The output may fail before finish() awaits this (a client gone mid-batch): that must not be an
    // unhandled rejection, which ends the process. finish() still sees the error.
    this.done.catch(() => undefined);
    this.doc.pipe(out);
  }

  async addLabel(label: LabelDrawing): Promise<void> {
    this.doc.addPage({ size: [mmToPt(label.widthMm), mmToPt(label.heightMm)], margin: 0 });
    this.pages++;
    if (this.pages % SHAPED_RUNS_CHECK_EVERY === 0) this.shareShapedRuns(true);
    releaseWrittenPage(this.doc);
    for (const op of label.ops) this.draw(op);
    // pdfkit buffers output until the event loop runs; yield so pages reach the output, and wait while
    // the output is full, so memory stays bounded whatever the batch size.
    do {
      // An output that is gone (a client that went away, a failed file) never drains: stop, do not spin.
      if (this.out.destroyed) throw this.out.errored ?? new Error('the output closed before the document was complete');
      if (this.out.writableNeedDrain) await once(this.out, 'drain');
      else await new Promise((resolve) => setImmediate(resolve));
    } while (this.doc.readableLength > MAX_BUFFERED_BYTES || this.out.writableNeedDrain);
  }

  private shareShapedRuns(count: boolean): void {
    for (const s of this.shapers) s.font.layoutCache = shapedRunsOf(s.weight, count);
  }

  async finish(): Promise<void> {
    if (this.pages === 0) throw new Error('a PDF needs at least one label');
    this.doc.end();
    await this.done;
  }

  private draw(op: DrawOp): void {
    const doc = this.doc;
    switch (op.op) {
      case 'text':
        doc
          .font(op.bold ? this.names.bold : this.names.regular)
          .fontSize(op.sizePt)
          .text(op.text, mmToPt(op.x), mmToPt(op.baseline), { lineBreak: false, baseline: 'alphabetic' });
        return;
      case 'line':
        doc.moveTo(mmToPt(op.x1), mmToPt(op.y1)).lineTo(mmToPt(op.x2), mmToPt(op.y2)).lineWidth(mmToPt(op.widthMm)).stroke('#000');
        return;
      case 'box': {
        const r = [mmToPt(op.x), mmToPt(op.y), mmToPt(op.w), mmToPt(op.h)] as const;
        if (op.fill) doc.rect(...r).fill('#000');
        if (op.lineMm > 0) doc.rect(...r).lineWidth(mmToPt(op.lineMm)).stroke('#000');
        return;
      }
      case 'modules':
        // One path for all modules of a symbol: compact and drawn without anti-aliasing seams.
        for (const m of op.rects) doc.rect(mmToPt(m.x), mmToPt(m.y), mmToPt(m.w), mmToPt(m.h));
        doc.fill('#000');
        return;
    }
  }
}
