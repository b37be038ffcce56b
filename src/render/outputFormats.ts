// The output formats as one typed table: media type (and the aliases print agents send), and the
// renderer that writes it. `json` is not a renderer: it reports what each copy shows.

import type { Writable } from 'node:stream';
import { PdfRenderer } from './pdfRenderer';
import { PNG, RasterRenderer } from './rasterRenderer';
import type { LabelRenderer } from './renderer';
import { WaybillError } from '../errors';
import { composeLabel, type BarcodeMode, type TextMode } from './composeLabel';
import { CPCL_FONT_CELLS, DEFAULT_CPCL_FONT, encodeCpcl, encodeCpclLabel, type CpclGraphics } from './cpclEncoder';
import { gb2312Drawable } from './gb2312';
import { DEFAULT_TSPL_FONT, encodeTspl, encodeTsplLabel } from './tsplEncoder';
import { encodeZpl, encodeZplLabel, printableAscii } from './zplEncoder';

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
  /** Printer languages: the printer's own barcode commands, or the modules as graphics (today's output). */
  barcodes?: BarcodeMode;
  /** TSPL and CPCL: text in a printer-resident font (`font`), or raster (no printer font needed). */
  text?: TextMode;
  /** The resident font: a TSPL font name (TSS24.BF2 by default), a CPCL font number (24 by default). */
  font?: string;
  /** CPCL graphics: binary COMPRESSED-GRAPHICS of the inked regions, or today's whole-label hex. */
  cpclGraphics?: CpclGraphics;
}

export const BARCODE_MODES = ['native', 'raster'] as const satisfies readonly BarcodeMode[];
export const TEXT_MODES = ['raster', 'printer-font'] as const satisfies readonly TextMode[];
/** A printer font as the printer knows it: a TSPL name such as TSS24.BF2 (quoted in commands, so no quotes), a CPCL number. */
export const PRINTER_FONT = /^[A-Za-z0-9_.-]{1,24}$/;
/** The languages with a resident Chinese font to draw text in. */
export const PRINTER_FONT_LANGUAGES: readonly OutputFormat[] = ['tspl', 'cpcl'];

/**
 * Job options a format cannot honour, refused with the field named (`path` is where the caller took
 * them from: the query, a CLI flag, a printer record).
 */
export function checkRenderOptions(format: OutputFormat, opts: RenderOptions, path: (string | number)[] = []): void {
  if (opts.text === 'printer-font' && !PRINTER_FONT_LANGUAGES.includes(format))
    throw new WaybillError('invalid_input', 'text=printer-font is only for TSPL and CPCL printers', [{ path: [...path, 'text'], message: 'printer-font needs TSPL or CPCL; other languages print text as raster' }]);
  if (opts.font !== undefined && !PRINTER_FONT.test(opts.font))
    throw new WaybillError('invalid_input', 'the printer font name is invalid', [{ path: [...path, 'font'], message: 'must be a printer font name such as TSS24.BF2' }]);
  if (opts.font !== undefined && format === 'cpcl' && !(opts.font in CPCL_FONT_CELLS))
    throw new WaybillError('invalid_input', 'the CPCL font is not one we can size', [{ path: [...path, 'font'], message: `must be one of the CPCL Chinese fonts ${Object.keys(CPCL_FONT_CELLS).join(', ')}` }]);
}

export function labelRenderer(format: Exclude<OutputFormat, 'json'>, out: Writable, dpi: number, opts: RenderOptions = {}): LabelRenderer {
  checkRenderOptions(format, opts);
  const barcodes = opts.barcodes ?? 'raster';
  switch (format) {
    case 'pdf':
      return new PdfRenderer(out);
    case 'png':
      return new RasterRenderer(out, PNG, dpi);
    case 'zpl': {
      const compression = opts.zplCompression ?? 'z64';
      // Z64 already squeezes white paper; only native barcodes change a ZPL label.
      if (barcodes === 'raster') return new RasterRenderer(out, { perLabel: true, encode: ([bitmap]) => encodeZpl(bitmap!, compression) }, dpi);
      const compose = { barcodes, text: 'raster', rects: false, canCarry: (_s: unknown, v: string) => printableAscii(v) } as const;
      return new RasterRenderer(out, { perLabel: true, encode: ([bitmap]) => encodeZpl(bitmap!, compression), encodeLabel: async (label, d) => encodeZplLabel(await composeLabel(label, d, compose), compression) }, dpi);
    }
    case 'tspl': {
      const compose = { barcodes, text: opts.text ?? 'raster', rects: true, canCarry: (_s: unknown, v: string) => printableAscii(v), canDraw: gb2312Drawable } as const;
      const font = opts.font ?? DEFAULT_TSPL_FONT;
      return new RasterRenderer(out, { perLabel: true, encode: ([bitmap], label) => encodeTspl(bitmap!, label), encodeLabel: async (label, d) => encodeTsplLabel(await composeLabel(label, d, compose), label, font) }, dpi);
    }
    case 'cpcl': {
      const graphics = opts.cpclGraphics ?? 'cg';
      const text = opts.text ?? 'raster';
      if (graphics === 'eg' && barcodes === 'raster' && text === 'raster') return new RasterRenderer(out, { perLabel: true, encode: ([bitmap]) => encodeCpcl(bitmap!) }, dpi);
      const compose = { barcodes, text, rects: graphics === 'cg', canCarry: (_s: unknown, v: string) => printableAscii(v), canDraw: gb2312Drawable } as const;
      const font = opts.font ?? DEFAULT_CPCL_FONT;
      return new RasterRenderer(out, { perLabel: true, encode: ([bitmap]) => encodeCpcl(bitmap!), encodeLabel: async (label, d) => encodeCpclLabel(await composeLabel(label, d, compose), graphics, font) }, dpi);
    }
  }
}
