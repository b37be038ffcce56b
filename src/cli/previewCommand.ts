// `waybill preview`: the paper a print would make, stamped 样张 / PREVIEW, into a file. It opens no store
// (nothing to create, nothing to record) and reads only the configuration's templates; orders are parsed
// and screened exactly as `waybill print` does, so a preview that passes is a print that passes validation.

import type { Config } from '../config/config';
import { loadTemplate, tailorTemplate } from '../layout/loadTemplate';
import { fontMetrics } from '../layout/textMeasure';
import { previewWaybills } from '../printing/previewWaybills';
import { JsonSink, LabelSink, type WaybillSink } from '../printing/waybillSink';
import { DPIS, labelRenderer, type Dpi, type OutputFormat } from '../render/outputFormats';
import { parseOptions, EXIT, UsageError, printWarnings, type Io } from './io';
import { readOrderFile } from './orderFile';
import { checkOutputFile, outputGuard, writeOutputFile } from './outputFile';

/** What a preview renders: a PDF, an image, or the JSON of exactly what each copy shows; not a printer language. */
export const PREVIEW_FORMATS = ['pdf', 'png', 'json'] as const satisfies readonly OutputFormat[];

export async function previewCommand(args: string[], config: Config, io: Io): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: { template: { type: 'string' }, format: { type: 'string' }, dpi: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('preview takes exactly one order file');
  if (!values.out) throw new UsageError('give --out PATH');
  const format = (values.format ?? 'pdf') as (typeof PREVIEW_FORMATS)[number];
  if (!PREVIEW_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${PREVIEW_FORMATS.join(', ')}`);
  if (values.dpi !== undefined && !DPIS.includes(Number(values.dpi) as Dpi)) throw new UsageError(`--dpi must be one of ${DPIS.join(', ')}`);
  const file = positionals[0]!;
  const started = Date.now();

  const orders = readOrderFile(file);
  if (format === 'png' && orders.length > 1) throw new UsageError('--format png holds one waybill; use pdf for several');
  const template = tailorTemplate(loadTemplate(config.templatesDir, values.template ?? 'cn-4copy'), values.dpi ? { dpi: Number(values.dpi) as Dpi } : {});
  // Checked as a print's output is (outputFile.ts): never the order file, a directory or device, or a file of the service.
  const target = checkOutputFile(values.out, outputGuard(config, [file]));

  // Written beside the target and renamed into place when complete, as a print's output is.
  const summary = await writeOutputFile(target, io, (stream) => {
    const sink: WaybillSink = format === 'json' ? new JsonSink(stream) : new LabelSink(labelRenderer(format, stream, template.dpi));
    return previewWaybills({ metrics: fontMetrics }, { orders, template, sink });
  });
  printWarnings(io, summary.warnings);
  io.err(
    `previewed ${summary.waybills} waybill(s), ${summary.labels} label(s), template ${template.id}, format ${format}, ` +
      `in ${Date.now() - started} ms (nothing created) → ${target.resolved}`,
  );
  io.out(target.resolved);
  return EXIT.ok;
}
