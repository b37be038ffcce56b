// Label options of a request: format from `?format=` or the Accept header (with a `dpi` parameter),
// template, copies and resolution from the query. One zod schema, so the OpenAPI document says the same.

import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { WaybillError } from '../errors';
import { CopyKind } from '../privacy/copyPolicy';

import {
  BARCODE_MODES,
  DPIS as DPI_NUMBERS,
  FORMAT_NAMES as FORMATS,
  OUTPUT_FORMATS,
  TEXT_MODES,
  PRINTER_FONT,
  PRINTER_FONT_LANGUAGES,
  checkRenderOptions,
  formatOfMediaType,
  type Dpi,
  type OutputFormat,
  type RenderOptions,
} from '../render/outputFormats';
import { issuesFromZod } from '../validation/zodIssues';

export type LabelFormat = OutputFormat;
const DPIS = DPI_NUMBERS.map(String) as ['203', '300'];

/** The Content-Type a format is answered with. */
export function contentTypeOf(format: LabelFormat): string {
  return format === 'json' ? 'application/json; charset=utf-8' : OUTPUT_FORMATS[format].mediaType;
}

export const LabelQuery = z
  .object({
    format: z.enum(FORMATS as [LabelFormat, ...LabelFormat[]]).optional().describe('overrides the Accept header'),
    template: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a template id').optional(),
    copies: z
      .string()
      .max(100)
      .transform((s, ctx) => {
        const kinds = s.split(',').map((c) => CopyKind.safeParse(c.trim()));
        if (kinds.every((k) => k.success)) return [...new Set(kinds.map((k) => k.data!))];
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${CopyKind.options.join(', ')}` });
        return z.NEVER;
      })
      .optional()
      .describe('which copies to print, e.g. courier,recipient; all of the template by default'),
    dpi: z
      .enum(DPIS)
      .transform((d) => Number(d) as Dpi)
      .optional()
      .describe('printer resolution the barcodes are sized for; the template default otherwise'),
    barcodes: z
      .enum(BARCODE_MODES)
      .optional()
      .describe("printer languages: 'native' sends the printer's own Code128/QR commands (module sizes in whole dots, far smaller jobs); 'raster' (default) sends them as graphics"),
    text: z
      .enum(TEXT_MODES)
      .optional()
      .describe("TSPL and CPCL: 'printer-font' prints text in the printer's resident Chinese font (GB2312); 'raster' (default) needs no printer font"),
    font: z.string().regex(PRINTER_FONT, 'must be a printer font name such as TSS24.BF2').optional().describe('the resident font for text=printer-font: TSPL TSS24.BF2 and CPCL 24 (24×24) by default; CPCL also 55 (16×16)'),
  })
  .strict();
export type LabelQuery = z.infer<typeof LabelQuery>;

export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  throw new WaybillError(
    'invalid_input',
    'the query is invalid',
    issuesFromZod(result.error).map((i) => ({ ...i, path: ['query', ...i.path] })),
  );
}

/**
 * For the routes that take no query: a parameter is refused as on the routes that take some (a typo such
 * as ?format=pdf here must not go unnoticed). Its name is not repeated: it is the caller's text.
 */
export const noQuery: RequestHandler = (req, _res, next) => {
  next(Object.keys(req.query).length ? new WaybillError('invalid_input', 'the query is invalid', [{ path: ['query'], message: 'unknown property: this takes no query' }]) : undefined);
};

/**
 * The format to answer in: `?format=` wins, then the best Accept entry we can produce (q-values honoured,
 * a `dpi` parameter read), then `fallback` for a missing Accept or a wildcard. A type the client refused
 * (q=0) is never chosen for a wildcard: `application/pdf;q=0, *\/*` gets another format, never a print it
 * said it cannot take. 406 when nothing fits.
 */
export function negotiate(req: Pick<Request, 'get'>, query: LabelQuery, fallback: LabelFormat): { format: LabelFormat; dpi?: Dpi } {
  if (query.format) return { format: query.format, ...(query.dpi ? { dpi: query.dpi } : {}) };
  const accept = req.get('accept');
  if (!accept) return { format: fallback, ...(query.dpi ? { dpi: query.dpi } : {}) };
  const all = accept.split(',').map((part, order) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const param = (name: string) => params.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
    const q = Number(param('q') ?? 1);
    return { type, q: Number.isFinite(q) ? q : 0, dpi: param('dpi'), order };
  });
  const refused = new Set(all.filter((r) => r.q <= 0).map((r) => formatOfMediaType(r.type)));
  const ranges = all.filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);
  for (const r of ranges) {
    const wildcard = r.type === '*/*' ? '' : r.type === 'application/*' ? 'application/' : undefined;
    const format =
      wildcard === undefined ? formatOfMediaType(r.type) : [fallback, ...FORMATS].find((f) => !refused.has(f) && OUTPUT_FORMATS[f].mediaType.startsWith(wildcard));
    if (!format) continue;
    const dpi = query.dpi ?? (DPIS.includes(r.dpi as (typeof DPIS)[number]) ? (Number(r.dpi) as Dpi) : undefined);
    if (r.dpi && !dpi) throw new WaybillError('not_acceptable', `dpi must be one of ${DPIS.join(', ')}`);
    return { format, ...(dpi ? { dpi } : {}) };
  }
  throw new WaybillError('not_acceptable', `no acceptable format; this service answers ${FORMATS.map((f) => OUTPUT_FORMATS[f].mediaType).join(', ')}`);
}

/** The job options of a label query, refused (naming the query field) when the format cannot honour them. */
export function renderOptionsOf(query: LabelQuery, format: LabelFormat): RenderOptions {
  const opts: RenderOptions = { ...(query.barcodes ? { barcodes: query.barcodes } : {}), ...(query.text ? { text: query.text } : {}), ...(query.font ? { font: query.font } : {}) };
  // A request's font for a format with no resident fonts is a mistake to name (printer records keep theirs).
  if (query.font && !PRINTER_FONT_LANGUAGES.includes(format))
    throw new WaybillError('invalid_input', 'a printer font is only for TSPL and CPCL', [{ path: ['query', 'font'], message: 'font needs format tspl or cpcl; other formats draw text in the bundled font' }]);
  checkRenderOptions(format, opts, ['query']);
  return opts;
}
