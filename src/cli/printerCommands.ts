// `waybill printers add|list|remove|jobs|retry`: the registry of network printers and the jobs sent to
// them. `waybill print FILE --printer NAME` sends a new print; a job that did not reach its printer is
// kept and retried here.

import { parseArgs } from 'node:util';
import { WaybillError } from '../errors';
import { retryDelivery, type DeliveryResult } from '../printers/deliverJob';
import { checkHost } from '../printers/networkPolicy';
import { NewPrinter, PRINTER_LANGUAGES } from '../printers/printer';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../printers/printerStore';
import { DPIS } from '../render/outputFormats';
import { issuesFromZod } from '../validation/zodIssues';
import { deliveryDeps, printerNetworkPolicy, type Services } from '../wiring';
import { cliOperator } from './apiKeyCommands';

const USAGE = `usage:
  waybill printers add NAME --host HOST [--port 9100] --language ${PRINTER_LANGUAGES.join('|')} [--dpi ${DPIS.join('|')}]
                       [--template ID] [--client CLIENT] [--zpl-compression z64|acs]
  waybill printers list | printers remove NAME
  waybill printers jobs [--status ${DELIVERY_STATUSES.join('|')}] | printers retry JOB`;

export async function printerCommand(args: string[], s: Services, log: (line: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const now = new Date();
  const audit = (action: 'printer_add' | 'printer_remove', name: string) =>
    s.audit.append({ at: now.toISOString(), actor: cliOperator(), action, outcome: 'ok', detail: { printer: name } });

  if (sub === 'add') {
    const { values, positionals } = parseArgs({
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
      },
    });
    const { 'zpl-compression': zplCompression, ...options } = values;
    const input = NewPrinter.safeParse({ name: positionals[0], ...options, ...(zplCompression ? { zplCompression } : {}) });
    if (positionals.length !== 1 || !input.success)
      throw new WaybillError('invalid_input', 'invalid printer', input.success ? [{ path: ['name'], message: 'give exactly one printer name' }] : issuesFromZod(input.error));
    // Checked again before every send (the name may resolve elsewhere later); here so a mistake shows at once.
    const checked = await checkHost(input.data.host, input.data.port, printerNetworkPolicy(s.config));
    if ('refusal' in checked)
      throw new WaybillError('invalid_input', 'printers add: the printer network policy refuses this printer', [{ path: [checked.refusal.path], message: checked.refusal.message }]);
    await s.printers.addPrinter({ ...input.data, createdAt: now.toISOString() });
    await audit('printer_add', input.data.name);
    const p = input.data;
    log(`added printer ${p.name}: ${p.language} at ${p.dpi} dpi, raw TCP ${p.host}:${p.port}${p.client ? `, for client ${p.client}` : ', admins and CLI only'}`);
    return 0;
  }
  if (sub === 'list') {
    const printers = await s.printers.listPrinters();
    if (!printers.length) log('no printers (waybill printers add …)');
    for (const p of printers) log([p.name, `${p.host}:${p.port}`, p.language, `${p.dpi}dpi`, p.template ?? 'default template', p.client ?? '*'].join('\t'));
    return 0;
  }
  if (sub === 'remove' && rest.length === 1) {
    if (!(await s.printers.removePrinter(rest[0]!))) {
      log(`waybill printers: unknown printer ${rest[0]}`);
      return 1;
    }
    await audit('printer_remove', rest[0]!);
    log(`removed printer ${rest[0]}`);
    return 0;
  }
  if (sub === 'jobs') {
    const { values } = parseArgs({ args: rest, options: { status: { type: 'string' } } });
    if (values.status && !(DELIVERY_STATUSES as readonly string[]).includes(values.status)) {
      log(`waybill printers: --status must be one of ${DELIVERY_STATUSES.join(', ')}`);
      return 2;
    }
    const jobs = await s.printers.listDeliveries({ ...(values.status ? { status: values.status as DeliveryStatus } : {}), limit: 100 });
    if (!jobs.length) log('no print jobs');
    for (const j of jobs) log([j.jobId, j.printer, j.status, `${j.attempts} attempt(s)`, `${j.byteLength} bytes`, j.createdAt, j.lastError ?? ''].join('\t').trimEnd());
    return 0;
  }
  if (sub === 'retry' && rest.length === 1) return reportDelivery(await retryDelivery(deliveryDeps(s), rest[0]!, cliOperator()), log);
  log(USAGE);
  return 2;
}

/** One line for a delivery; a failure names the kept job and the command that retries it. */
export function reportDelivery(r: DeliveryResult, log: (line: string) => void): number {
  if (r.status === 'delivered') {
    log(`sent job ${r.jobId} to printer ${r.printer} (${r.attempts} attempt(s))`);
    return 0;
  }
  log(`waybill: ${r.error} after ${r.attempts} attempt(s); job ${r.jobId} is kept: waybill printers retry ${r.jobId}`);
  return 1;
}
