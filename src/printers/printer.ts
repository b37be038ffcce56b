// Network label printers: where a job goes (host, raw TCP port), in which language and at which
// resolution. Registered by an operator; API keys print only to their own client's printers.

import { z } from 'zod';
import { BARCODE_MODES, DPIS, TEXT_MODES, PRINTER_FONT, type RenderOptions } from '../render/outputFormats';

/** The languages a printer can be sent raw: the thermal ones, and PDF for printers that print it directly. */
export const PRINTER_LANGUAGES = ['zpl', 'tspl', 'cpcl', 'pdf'] as const;
export type PrinterLanguage = (typeof PRINTER_LANGUAGES)[number];

// A host name or an IPv4/IPv6 literal; no scheme, path or port (the port is its own field).
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;

/** A printer's name, network or behind an agent: what print requests and jobs name it by. */
export const PrinterName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, 'must be 1–40 lower-case letters, digits, dots, dashes or underscores');

export const NewPrinter = z.strictObject({
  name: PrinterName,
  host: z.string().max(253).regex(HOST, 'must be a host name or IP address (no scheme or port)'),
  port: z.coerce.number().int().min(1).max(65535).default(9100),
  language: z.enum(PRINTER_LANGUAGES),
  dpi: z.coerce.number().pipe(z.literal(DPIS, { error: `must be one of ${DPIS.join(', ')}` })).default(203),
  /** The template matching the media loaded; the service default when absent. */
  template: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a template id').optional(),
  /** The API client (tenant) whose keys may print here; absent: only admins and the CLI. */
  client: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be a client id: 1–40 lower-case letters, digits or hyphens').optional(),
  /** ZPL `^GFA` compression: Z64 (zlib) is smaller; ACS (run-length hex) suits very old firmware. */
  zplCompression: z.enum(['z64', 'acs']).default('z64'),
  /**
   * The printer's own barcode commands (smaller jobs), or the modules as graphics. Printers registered
   * before this option keep 'raster', so their jobs do not change.
   */
  barcodes: z.enum(BARCODE_MODES).default('raster'),
  /** TSPL and CPCL: text in the resident `font` (GB2312) instead of raster; other languages refuse it. */
  text: z.enum(TEXT_MODES).default('raster'),
  /** The resident font for text=printer-font; TSPL TSS24.BF2 and CPCL 24 when absent. */
  font: z.string().regex(PRINTER_FONT, 'must be a printer font name such as TSS24.BF2').optional(),
});
export type NewPrinter = z.input<typeof NewPrinter>;
type PrinterFields = z.output<typeof NewPrinter>;
/** `barcodes` and `text` may be absent on records built in code: absent means 'raster'. */
export type Printer = Omit<PrinterFields, 'barcodes' | 'text'> & Partial<Pick<PrinterFields, 'barcodes' | 'text'>> & { createdAt: string; agent?: AgentLink };

/**
 * A printer reached through a warehouse agent (`waybill agent`), not by the service: its jobs go over the
 * agent's link. `key`: the agent's API key id; `seenAt`: last refreshed while the agent was connected.
 * Such a printer has no address here (host '' and port 0 in its row).
 */
export interface AgentLink {
  key: string;
  seenAt?: string;
}

/** An agent counts as online while some instance refreshed its printers within this long. */
export const AGENT_ONLINE_MS = 30_000;

/** What a printer's record asks of the jobs rendered for it. */
export function printerRenderOptions(p: Pick<Printer, 'zplCompression' | 'barcodes' | 'text' | 'font'>): RenderOptions {
  return { zplCompression: p.zplCompression, barcodes: p.barcodes ?? 'raster', text: p.text ?? 'raster', ...(p.font ? { font: p.font } : {}) };
}
