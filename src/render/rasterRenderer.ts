// Raster outputs over one contract: every label is rasterised at the printer's resolution once, then a
// printer language only encodes the bitmap. Printer languages stream label by label with backpressure;
// PNG stacks the labels into one image, so it is written at the end.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { LabelDrawing } from '../layout/drawing';
import type { Bitmap } from './bitmap';
import { encodePng } from './pngEncoder';
import { rasteriseLabel } from './rasterise';
import type { LabelRenderer } from './renderer';

/** How one output format turns rasterised labels into bytes. */
export interface RasterEncoding {
  /** Whether each label can be written on its own as it is finished. */
  perLabel: boolean;
  encode(bitmaps: Bitmap[], label: LabelDrawing, dpi: number): Buffer | Promise<Buffer>;
  /** A per-label language that draws some operations itself (composeLabel.ts) and rasterises the rest. */
  encodeLabel?(label: LabelDrawing, dpi: number): Promise<Buffer>;
}

export const PNG: RasterEncoding = { perLabel: false, encode: (bitmaps, _label, dpi) => encodePng(bitmaps, dpi) };

export class RasterRenderer implements LabelRenderer {
  private readonly held: Bitmap[] = [];
  private last?: LabelDrawing;

  constructor(
    private readonly out: Writable,
    private readonly encoding: RasterEncoding,
    private readonly dpi: number,
  ) {}

  async addLabel(label: LabelDrawing): Promise<void> {
    if (this.encoding.encodeLabel) {
      this.last = label;
      await this.write(await this.encoding.encodeLabel(label, this.dpi));
      return;
    }
    const bitmap = await rasteriseLabel(label, this.dpi);
    this.last = label;
    if (!this.encoding.perLabel) {
      this.held.push(bitmap);
      return;
    }
    await this.write(await this.encoding.encode([bitmap], label, this.dpi));
  }

  async finish(): Promise<void> {
    if (!this.last) throw new Error('a document needs at least one label');
    if (!this.encoding.perLabel) await this.write(await this.encoding.encode(this.held, this.last, this.dpi));
    this.out.end();
    if (!this.out.writableFinished) await once(this.out, 'finish');
  }

  private async write(bytes: Buffer): Promise<void> {
    if (this.out.destroyed) throw this.out.errored ?? new Error('the output closed before the document was complete');
    if (!this.out.write(bytes)) await once(this.out, 'drain');
  }
}
