// `waybill printers add|list|remove|jobs|retry`: the registry of network printers and the jobs sent to
// them. `waybill print FILE --printer NAME` sends a new print; a job that did not reach its printer is
// kept and retried here.

import { WaybillError } from '../errors';
import { auditCancelled, retryDelivery, type DeliveryResult } from '../printers/deliverJob';
import { checkHost } from '../printers/networkPolicy';
import { NewPrinter, PRINTER_LANGUAGES, printerRenderOptions } from '../printers/printer';
import { DELIVERY_STATUSES, PRINTER_GONE, type DeliveryStatus } from '../printers/printerStore';
import { DPIS, checkRenderOptions } from '../render/outputFormats';
import { issuesFromZod } from '../validation/zodIssues';
import { deliveryDeps, printerNetworkPolicy, type Services } from '../wiring';
import { cliOperator } from './apiKeyCommands';
import { loadTemplate } from '../layout/loadTemplate';
import { parseOptions, EXIT, asIo, printList, type Io, type Output } from './io';

const USAGE = `usage:
  waybill printers add NAME --host HOST [--port 9100] --language ${PRINTER_LANGUAGES.join('|')} [--dpi ${DPIS.join('|')}]
                       [--template ID] [--client CLIENT] [--zpl-compression z64|acs]
                       [--barcodes native|raster] [--text raster|printer-font (TSPL, CPCL)] [--font TSS24.BF2|24|55]
  waybill printers list [--json] | printers remove NAME
  waybill printers jobs [--status ${DELIVERY_STATUSES.join('|')}] [--json] | printers retry JOB`;

export async function printerCommand(args: string[], s: Services, output: Output): Promise<number> {
  const io = asIo(output);
  const [sub, ...rest] = args;
  const now = new Date();
  const audit = (action: 'printer_add' | 'printer_remove', name: string) =>
    s.audit.append({ at: now.toISOString(), actor: cliOperator(), action, outcome: 'ok', detail: { printer: name } });

  if (sub === 'add') {
    const { values, positionals } = parseOptions({
      args: rest,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        language: { type: 'string' },
        dpi: { type: 'string' },
        template: { type: 'string' },
        client: { type: 'string' },
        'zpl-compression': { type: 'string' },
        barcodes: { type: 'string' },
        text: { type: 'string' },
        font: { type: 'string' },
      },
    });
    const { 'zpl-compression': zplCompression, ...options } = values;
    const input = NewPrinter.safeParse({ name: positionals[0], ...options, ...(zplCompression ? { zplCompression } : {}) });
    if (positionals.length !== 1 || !input.success)
      throw new WaybillError('invalid_input', 'invalid printer', input.success ? [{ path: ['name'], message: 'give exactly one printer name' }] : issuesFromZod(input.error));
    checkRenderOptions(input.data.language, printerRenderOptions(input.data));
    // A template that is not there would fail every print to this printer: refused now instead.
    if (input.data.template) loadTemplate(s.config.templatesDir, input.data.template);
    // Checked again before every send (the name may resolve elsewhere later); here so a mistake shows at once.
    const checked = await checkHost(input.data.host, input.data.port, printerNetworkPolicy(s.config));
    if ('refusal' in checked)
      throw new WaybillError('invalid_input', 'printers add: the printer network policy refuses this printer', [{ path: [checked.refusal.path], message: checked.refusal.message }]);
    await s.printers.addPrinter({ ...input.data, createdAt: now.toISOString() });
    await audit('printer_add', input.data.name);
    const p = input.data;
    io.err(`added printer ${p.name}: ${p.language} at ${p.dpi} dpi, raw TCP ${p.host}:${p.port}${p.client ? `, for client ${p.client}` : ', admins and CLI only'}`);
    return EXIT.ok;
  }
  if (sub === 'list') {
    const { values } = parseOptions({ args: rest, options: { json: { type: 'boolean' } } });
    const printers = await s.printers.listPrinters();
    // A printer behind a warehouse agent has no address here: the agent's key id stands in for it.
    const rows = printers.map((p) => ({ name: p.name, host: p.agent ? `agent ${p.agent.key}` : p.host, port: p.agent ? null : p.port, language: p.language, dpi: p.dpi, template: p.template ?? null, client: p.client ?? null }));
    printList(io, rows, ['name', 'host', 'port', 'language', 'dpi', 'template', 'client'], values.json ?? false);
    if (!printers.length) io.err('no printers yet (waybill printers add …)');
    return EXIT.ok;
  }
  if (sub === 'remove' && rest.length === 1) {
    const cancelled = await s.printers.removePrinter(rest[0]!, now);
    if (!cancelled) {
      io.err(`waybill printers: unknown printer ${rest[0]}`);
      return EXIT.failure;
    }
    await audit('printer_remove', rest[0]!);
    await auditCancelled(s, cancelled, PRINTER_GONE, cliOperator(), now);
    io.err(`removed printer ${rest[0]}${cancelled.length ? `; cancelled ${cancelled.length} job(s) kept for it (their bytes shredded)` : ''}`);
    return EXIT.ok;
  }
  if (sub === 'jobs') {
    const { values } = parseOptions({ args: rest, options: { status: { type: 'string' }, json: { type: 'boolean' } } });
    if (values.status && !(DELIVERY_STATUSES as readonly string[]).includes(values.status)) {
      io.err(`waybill printers: --status must be one of ${DELIVERY_STATUSES.join(', ')}`);
      return EXIT.usage;
    }
    const jobs = await s.printers.listDeliveries({ ...(values.status ? { status: values.status as DeliveryStatus } : {}), limit: 100 });
    const rows = jobs.map((j) => ({ job: j.jobId, printer: j.printer, status: j.status, attempts: j.attempts, bytes: j.byteLength, created: j.createdAt, lastError: j.lastError ?? null }));
    printList(io, rows, ['job', 'printer', 'status', 'attempts', 'bytes', 'created', 'lastError'], values.json ?? false);
    if (!jobs.length) io.err('no print jobs');
    return EXIT.ok;
  }
  if (sub === 'retry' && rest.length === 1) return reportDelivery(await retryDelivery(deliveryDeps(s), rest[0]!, cliOperator()), io);
  io.err(USAGE);
  return EXIT.usage;
}

/** One line for a delivery; a failure names the kept job and the command that retries it. */
export function reportDelivery(r: DeliveryResult, io: Io): number {
  if (r.status === 'delivered') {
    io.err(`sent job ${r.jobId} to printer ${r.printer} (${r.attempts} attempt(s))`);
    return EXIT.ok;
  }
  if (r.status === 'pending' || r.status === 'sending') {
    // A printer behind a warehouse agent: a running service sends it when the agent is connected.
    io.err(`job ${r.jobId} is kept for printer ${r.printer}'s agent (${r.status}); it goes out while the agent is connected to the service`);
    return EXIT.ok;
  }
  io.err(`waybill: ${r.error} after ${r.attempts} attempt(s); job ${r.jobId} is kept: waybill printers retry ${r.jobId}`);
  return EXIT.unavailable; // kept for a retry: a temporary failure
}
