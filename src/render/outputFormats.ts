// The output formats as one typed table: media type (and the aliases print agents send), and the
// renderer that writes it. `json` is not a renderer: it reports what each copy shows.

import type { Writable } from 'node:stream';
import { PdfRenderer } from './pdfRenderer';
import { PNG, RasterRenderer } from './rasterRenderer';
import type { LabelRenderer } from './renderer';
import { encodeCpcl } from './cpclEncoder';
import { encodeTspl } from './tsplEncoder';
import { encodeZpl } from './zplEncoder';

export const OUTPUT_FORMATS = {
  pdf: { mediaType: 'application/pdf', aliases: [] as string[] },
  png: { mediaType: 'image/png', aliases: [] as string[] },
  zpl: { mediaType: 'application/vnd.zebra.zpl', aliases: ['text/zpl', 'application/zpl', 'x-application/zpl'] },
  tspl: { mediaType: 'application/vnd.tsc.tspl', aliases: ['text/tspl', 'application/tspl'] },
  cpcl: { mediaType: 'application/vnd.zebra.cpcl', aliases: ['text/cpcl'] },
  json: { mediaType: 'application/json', aliases: [] as string[] },
} as const;
export type OutputFormat = keyof typeof OUTPUT_FORMATS;
export const FORMAT_NAMES = Object.keys(OUTPUT_FORMATS) as OutputFormat[];
export const DPIS = [203, 300] as const;
export type Dpi = (typeof DPIS)[number];

/** The format a media type names, aliases included; undefined when we do not produce it. */
export function formatOfMediaType(type: string): OutputFormat | undefined {
  return FORMAT_NAMES.find((f) => OUTPUT_FORMATS[f].mediaType === type || (OUTPUT_FORMATS[f].aliases as readonly string[]).includes(type));
}

/** Per-printer choices a format may take; the defaults suit current printers. */
export interface RenderOptions {
  zplCompression?: 'z64' | 'acs';
}

export function labelRenderer(format: Exclude<OutputFormat, 'json'>, out: Writable, dpi: number, opts: RenderOptions = {}): LabelRenderer {
  switch (format) {
    case 'pdf':
      return new PdfRenderer(out);
    case 'png':
      return new RasterRenderer(out, PNG, dpi);
    case 'zpl':
      return new RasterRenderer(out, { perLabel: true, encode: ([bitmap]) => encodeZpl(bitmap!, opts.zplCompression ?? 'z64') }, dpi);
    case 'tspl':
      return new RasterRenderer(out, { perLabel: true, encode: ([bitmap], label) => encodeTspl(bitmap!, label) }, dpi);
    case 'cpcl':
      return new RasterRenderer(out, { perLabel: true, encode: ([bitmap]) => encodeCpcl(bitmap!) }, dpi);
  }
}
