#!/usr/bin/env node
// The `waybill` command. It wires configuration, store and keys once, then calls the use cases.
// Output files are written beside their target and renamed into place only when complete.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './config/config';
import { WaybillError, formatIssue } from './errors';
import { listTemplates, loadTemplate, tailorTemplate, type LoadedTemplate } from './layout/loadTemplate';
import { fontMetrics } from './layout/textMeasure';
import { parseOrders } from './order/readOrders';
import { printWaybills, reprintOrders, type PrintRequest, type PrintSummary } from './printing/printWaybills';
import { CLI_CLIENT, ClientId } from './auth/apiKey';
import { JsonSink, LabelSink, type WaybillSink } from './printing/waybillSink';
import { partialPath } from './printing/printLeases';
import { DPIS, FORMAT_NAMES, labelRenderer, type Dpi, type OutputFormat } from './render/outputFormats';
import { auditCommand } from './cli/auditCommands';
import { courierCommand } from './cli/courierCommands';
import { assignCommand, eventCommand, keysCommand, purgeCommand } from './cli/lifecycleCommands';
import { serveCommand } from './cli/serveCommand';
import { initCommand } from './cli/initCommand';
import { checkpointDeps, deliveryDeps, openServices, relayDeps, type Services } from './wiring';
import { relayCommand } from './cli/relayCommands';
import { auditCredential, cliOperator } from './cli/apiKeyCommands';
import { printerCommand, reportDelivery } from './cli/printerCommands';
import { storeCommand } from './cli/storeCommands';
import { previewCommand } from './cli/previewCommand';
import { deliverNew } from './printers/deliverJob';
import { memoryOutput } from './render/memoryOutput';
import { printProgress, type Progress } from './cli/progress';

const USAGE = `usage:
  waybill init [--demo]   (the data directory's settings file; --demo adds a demo relay pool)
  waybill print <orders.json|.ndjson> [--template ID] [--format ${FORMAT_NAMES.join('|')}] [--dpi ${DPIS.join('|')}] --out PATH
  waybill print <orders.json|.ndjson> [--template ID] --printer NAME   (raw TCP to a registered network printer)
  waybill preview <orders.json|.ndjson> [--template ID] [--format pdf|png|json] [--dpi 203|300] --out PATH   (stamped 样张/PREVIEW; creates nothing)
  waybill printers add|list|remove|jobs|retry …
  waybill templates
  waybill serve [--port 8080] [--host 127.0.0.1]   (the warehouse API; docs at /docs)
  waybill couriers add|list|revoke|reinstate …
  waybill event <waybill number> picked_up|delivered|returned|cancelled|after_sales
  waybill event <waybill number> --correct STATUS --reason TEXT   (admin correction, audited)
  waybill assign <waybill number> --outlet OUTLET   (pickup by that outlet's couriers)
  waybill purge
  waybill audit verify [--checkpoints DIR|FILE] [--public-key FILE] | audit checkpoint [--out FILE]
  waybill audit waybill <no> | audit trace <copy code>
  waybill keys create --role warehouse|printer|admin|courier|telephony --name NAME [--client C] …
  waybill keys list | keys revoke <id>
  waybill keys rotate [NEW-ID] | keys retire ID | keys status   (master keys)
  waybill keys rotate-audit [NEW-ID] | keys audit-public   (audit chain key, checkpoint public key)
  waybill relay pool | relay show <waybill no> | relay courier-phone <id> <number>
  waybill relay clients add --name NAME | relay clients list | relay clients revoke|reinstate <id>
  waybill store copy [--to postgres://…]   (the SQLite store into an empty PostgreSQL database)

environment: WAYBILL_DATA_DIR, DATABASE_URL, WAYBILL_SCAN_BASE_URL, WAYBILL_MASTER_KEY, WAYBILL_TOKEN_KEY (see README)`;


export const EXIT = { ok: 0, failure: 1, usage: 2, badInput: 65 } as const;

class UsageError extends Error {}

export async function main(
  argv: string[],
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  try {
    const [command, ...rest] = argv;
    const config = loadConfig(env);
    switch (command) {
      case 'preview':
        return await previewCommand(rest, config, log, (m) => new UsageError(m));
      case 'init':
        return initCommand(rest, config, log);
      case 'print':
        return await printCommand(rest, config, log);
      case 'templates':
        for (const id of listTemplates(config.templatesDir)) log(`${id}\t${loadTemplate(config.templatesDir, id).name}`);
        return EXIT.ok;
      case 'serve': {
        const services = await openServices(config, (m) => log(`warning: ${m}`));
        const running = await serveCommand(rest, services, log);
        await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        log('shutting down: finishing running requests');
        await running.shutdown();
        await services.close();
        return EXIT.ok;
      }
      case 'couriers':
        return await withServices(config, log, (s) =>
          courierCommand(rest, { couriers: s.couriers, now: () => new Date(), audit: { record: (action, id) => auditCredential(s, action, id) } }, log),
        );
      case 'event':
        return await withServices(config, log, (s) => eventCommand(rest, s, log));
      case 'assign':
        return await withServices(config, log, (s) => assignCommand(rest, s, log));
      case 'purge':
        return await withServices(config, log, (s) => purgeCommand(s, log));
      case 'audit':
        return await withServices(config, log, (s) =>
          auditCommand(rest, { audit: s.audit, findCopyPrint: (c) => s.store.findCopyPrint(c), checkpoints: checkpointDeps(s) }, log),
        );
      case 'keys':
        return await withServices(config, log, (s) => keysCommand(rest, s, log));
      case 'relay':
        return await withServices(config, log, (s) => relayCommand(rest, s, log));
      case 'printers':
        return await withServices(config, log, (s) => printerCommand(rest, s, log));
      case 'store':
        return await storeCommand(rest, config, log);
      case undefined:
      case 'help':
      case '--help':
        log(USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    return report(e, log);
  }
}

async function withServices(config: Config, log: (line: string) => void, run: (s: Services) => Promise<number>): Promise<number> {
  const services = await openServices(config, (m) => log(`warning: ${m}`));
  try {
    return await run(services);
  } finally {
    await services.close();
  }
}

async function printCommand(args: string[], config: Config, log: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      template: { type: 'string' },
      format: { type: 'string' },
      dpi: { type: 'string' },
      out: { type: 'string' },
      printer: { type: 'string' },
      client: { type: 'string' },
      reprint: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('print takes exactly one order file');
  if (!values.out === !values.printer) throw new UsageError('give --out PATH (a file) or --printer NAME (a network printer)');
  if (values.printer && (values.format || values.dpi)) throw new UsageError("--printer prints in the printer's own language and resolution; leave out --format and --dpi");
  const format = (values.format ?? 'pdf') as OutputFormat;
  if (!FORMAT_NAMES.includes(format)) throw new UsageError(`--format must be one of ${FORMAT_NAMES.join(', ')}`);
  if (values.dpi !== undefined && !DPIS.includes(Number(values.dpi) as Dpi)) throw new UsageError(`--dpi must be one of ${DPIS.join(', ')}`);
  const file = positionals[0]!;
  const started = Date.now();
  // Order ids are unique per client, as in the API: a second run of the same orders is refused.
  const client = ClientId.safeParse(values.client ?? CLI_CLIENT);
  if (!client.success) throw new UsageError(`--client ${client.error.issues[0]!.message}`);
  const clientId = client.data;

  // Everything that can be refused is checked before any output or store write.
  if (!fs.existsSync(file)) throw new WaybillError('invalid_input', `${file}: no such file`);
  const orders = parseOrders(fs.readFileSync(file), path.basename(file));
  if (format === 'png' && orders.length > 1) throw new UsageError('--format png holds one waybill; use pdf (or a printer language) for several');
  const validated = { orders: orders.length, ms: Date.now() - started };
  let progress: Progress | undefined;

  return withServices(config, log, async (services) => {
    // What killed prints left (provisional relay numbers, .partial files) goes before this one starts.
    await services.leases.sweep();
    const deps = {
      store: services.store,
      audit: services.audit,
      keys: services.keys,
      scanBaseUrl: config.scanBaseUrl,
      metrics: fontMetrics,
      maxLifetimeDays: config.maxLifetimeDays,
      relay: relayDeps(services),
      leases: services.leases,
    };
    progress = printProgress(validated);
    const request = { orders, clientId, channel: 'cli' as const, operator: os.userInfo().username, source: path.basename(file), onProgress: progress?.update };
    const print = (req: PrintRequest & { clientId: string }) => (values.reprint ? reprintOrders(deps, req) : printWaybills(deps, req));
    const done = (summary: PrintSummary, template: LoadedTemplate, format: string, where: string) => {
      progress?.stop();
      for (const w of summary.warnings) log(`warning: ${w}`);
      log(
        `printed ${summary.waybills.length} waybill(s), ${summary.labels} label(s), template ${template.id}, ` +
          `format ${format}, job ${summary.jobId}, in ${Date.now() - started} ms → ${where}`,
      );
    };

    if (values.printer) {
      const printer = await services.printers.getPrinter(values.printer);
      if (!printer) throw new WaybillError('invalid_input', `no printer named "${values.printer}" (waybill printers list)`);
      const template = tailorTemplate(loadTemplate(config.templatesDir, values.template ?? printer.template ?? 'cn-4copy'), { dpi: printer.dpi });
      const out = memoryOutput();
      const sink = new LabelSink(labelRenderer(printer.language, out.stream, printer.dpi, { zplCompression: printer.zplCompression }));
      const summary = await print({ ...request, template, format: printer.language, sink, host: `printer:${printer.name}` });
      done(summary, template, printer.language, `printer ${printer.name}`);
      return reportDelivery(await deliverNew(deliveryDeps(services), { jobId: summary.jobId, printer, bytes: out.bytes(), actor: cliOperator() }), log);
    }

    const template = tailorTemplate(loadTemplate(config.templatesDir, values.template ?? 'cn-4copy'), values.dpi ? { dpi: Number(values.dpi) as Dpi } : {});
    const out = path.resolve(values.out!);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const temp = partialPath(out);
    try {
      const stream = fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 });
      const sink: WaybillSink = format === 'json' ? new JsonSink(stream) : new LabelSink(labelRenderer(format, stream, template.dpi));
      const summary = await print({ ...request, template, format, sink, host: os.hostname(), output: temp });
      fs.chmodSync(temp, 0o644);
      fs.renameSync(temp, out);
      done(summary, template, format, out);
      return EXIT.ok;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }).finally(() => progress?.stop());
}

function report(e: unknown, log: (line: string) => void): number {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    log(`waybill: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (e instanceof WaybillError) {
    // One problem, one line: a lone issue says it more precisely than the summary.
    if (e.issues.length === 1) {
      log(`waybill: ${formatIssue(e.issues[0]!)}`);
      return e.code === 'internal' ? EXIT.failure : EXIT.badInput;
    }
    log(`waybill: ${e.message}`);
    for (const issue of e.issues.slice(0, 50)) log(`  ${formatIssue(issue)}`);
    if (e.issues.length > 50) log(`  … and ${e.issues.length - 50} more`);
    return e.code === 'internal' ? EXIT.failure : EXIT.badInput;
  }
  // Unexpected errors: the message only (no stack with data), and a non-zero exit.
  log(`waybill: failed: ${(e as Error).message ?? String(e)}`);
  return EXIT.failure;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
