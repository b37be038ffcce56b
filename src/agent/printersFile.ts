// The agent's printers file (`waybill agent --printers printers.json`): the warehouse's printers as the
// agent reaches them. Only names, languages and options go to the service; connections stay local.

import { z } from 'zod';
import { WaybillError } from '../errors';
import { PrinterName } from '../printers/printer';
import { checkRenderOptions, DPIS, PRINTER_FONT } from '../render/outputFormats';

export const PrinterConnection = z.discriminatedUnion('kind', [
  /** Raw TCP ("port 9100"). Reached from the agent, on the warehouse LAN. */
  z.strictObject({ kind: z.literal('tcp'), host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535).default(9100) }),
  /** A USB printer's device file, written raw (e.g. /dev/usb/lp0). */
  z.strictObject({ kind: z.literal('usb'), device: z.string().regex(/^\/dev\/[A-Za-z0-9/_.-]+$/, 'must be a device file under /dev') }),
  /** A CUPS queue, sent raw with `lp -d QUEUE -o raw`. */
  z.strictObject({ kind: z.literal('cups'), queue: z.string().regex(/^[A-Za-z0-9_.-]{1,127}$/, 'must be a CUPS queue name') }),
]);
export type PrinterConnection = z.infer<typeof PrinterConnection>;

const AgentPrinterFields = z.strictObject({
  name: PrinterName,
  language: z.enum(['zpl', 'tspl', 'cpcl']),
  dpi: z.number().pipe(z.literal(DPIS, { error: `must be one of ${DPIS.join(', ')}` })).default(203),
  /** The template matching the media loaded; the service default when absent. */
  template: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a template id').optional(),
  /** Barcodes as the printer's own commands (smaller jobs) or drawn into the raster. */
  barcodes: z.enum(['native', 'raster']).default('native'),
  /** Text drawn into the raster (no printer font needed) or, for TSPL and CPCL printers with a resident Chinese font, in that font. */
  text: z.enum(['raster', 'printer-font']).default('raster'),
  /** The resident font for printer-font: TSPL TSS24.BF2 and CPCL 24 when absent. */
  font: z.string().regex(PRINTER_FONT, 'must be a printer font name such as TSS24.BF2').optional(),
  connection: PrinterConnection,
});

/** The options must suit the language (the rules of every print request), each refusal at its field. */
function optionsSuitLanguage<T extends z.ZodType<{ language: 'zpl' | 'tspl' | 'cpcl'; text: 'raster' | 'printer-font'; font?: string | undefined }>>(schema: T) {
  return schema.superRefine((p, ctx) => {
    try {
      checkRenderOptions(p.language, { text: p.text, ...(p.font ? { font: p.font } : {}) });
    } catch (e) {
      if (!(e instanceof WaybillError)) throw e;
      for (const issue of e.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  });
}

export const AgentPrinter = optionsSuitLanguage(AgentPrinterFields);
export type AgentPrinter = z.output<typeof AgentPrinter>;
/** What the service learns of a printer: never a host, port, device or queue (strict: such a field is refused). */
export const AnnouncedPrinter = optionsSuitLanguage(AgentPrinterFields.omit({ connection: true }));
export type AnnouncedPrinter = z.infer<typeof AnnouncedPrinter>;

export const PrintersFile = z.strictObject({ printers: z.array(AgentPrinter).min(1).max(64) });
