// PDF backend (pdfkit): one page per label, vector text in the bundled CJK font, barcode modules as
// filled rectangles. Pages stream out as they are finished, so a batch's memory stays bounded.

import PDFDocument from 'pdfkit';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { font } from '../fonts/fonts';
import type { DrawOp, LabelDrawing } from '../layout/drawing';
import { mmToPt } from '../layout/units';
import type { LabelRenderer } from './renderer';

const MAX_BUFFERED_BYTES = 1 << 20;

export class PdfRenderer implements LabelRenderer {
  private readonly doc: PDFKit.PDFDocument;
  private pages = 0;
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
