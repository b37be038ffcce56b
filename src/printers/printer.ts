// Network label printers: where a job goes (host, raw TCP port), in which language and at which
// resolution. Registered by an operator; API keys print only to their own client's printers.

import { z } from 'zod';
import { DPIS } from '../render/outputFormats';

/** The languages a printer can be sent raw: the thermal ones, and PDF for printers that print it directly. */
export const PRINTER_LANGUAGES = ['zpl', 'tspl', 'cpcl', 'pdf'] as const;
export type PrinterLanguage = (typeof PRINTER_LANGUAGES)[number];

// A host name or an IPv4/IPv6 literal; no scheme, path or port (the port is its own field).
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;

export const NewPrinter = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, 'must be 1–40 lower-case letters, digits, dots, dashes or underscores'),
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
});
export type NewPrinter = z.input<typeof NewPrinter>;
export type Printer = z.output<typeof NewPrinter> & { createdAt: string };
