#!/usr/bin/env node
// The `waybill` command. It wires configuration, store and keys once, then calls the use cases.
// Output files are checked before anything is stored, written beside their target and renamed into place
// only when complete (src/cli/outputFile.ts).

import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from './config/config';
import { WaybillError } from './errors';
import { listTemplates, loadTemplate, tailorTemplate, type LoadedTemplate } from './layout/loadTemplate';
import { fontMetrics } from './layout/textMeasure';
import { printWaybills, reprintOrders, type PrintRequest, type PrintSummary } from './printing/printWaybills';
import { CLI_CLIENT, ClientId } from './auth/apiKey';
import { JsonSink, LabelSink, type WaybillSink } from './printing/waybillSink';
import { BARCODE_MODES, DPIS, FORMAT_NAMES, TEXT_MODES, checkRenderOptions, labelRenderer, type Dpi, type OutputFormat, type RenderOptions } from './render/outputFormats';
import type { BarcodeMode, TextMode } from './render/composeLabel';
import { printerRenderOptions } from './printers/printer';
import { checkpointDeps, deliveryDeps, openServices, relayDeps, sweepDeadPrints, type Services } from './wiring';
import { memoryOutput } from './render/memoryOutput';
import { printProgress, type Progress } from './cli/progress';
import { readOrderFile } from './cli/orderFile';
import { checkOutputFile, outputGuard, writeOutputFile } from './cli/outputFile';
import { useRenderThreadForEveryPrint } from './render/renderThread';
import { suggestion } from './validation/suggestion';
import { parseOptions, EXIT, STD_IO, UsageError, asIo, printList, printWarnings, reportError, stdOutputFailed, type Io, type Output } from './cli/io';
// The other commands' modules load when their command runs (`await import`): the server, the agent, the
// webhook client and the rest would otherwise cost every `waybill print` a third of a second of start-up.

const USAGE = `usage:
  waybill init [--demo]   (the data directory's settings file; --demo adds a demo relay pool)
  waybill print <orders.json|.ndjson> [--client ID] [--reprint] [--template ID] [--format ${FORMAT_NAMES.join('|')}] [--dpi ${DPIS.join('|')}] --out PATH
  waybill print <orders.json|.ndjson> [--client ID] [--reprint] [--template ID] --printer NAME   (raw TCP to a registered network printer)
        print options for printer languages: [--barcodes native|raster] [--text raster|printer-font (TSPL, CPCL) [--font TSS24.BF2|24|55]]
  waybill preview <orders.json|.ndjson> [--template ID] [--format pdf|png|json] [--dpi ${DPIS.join('|')}] --out PATH   (stamped 样张/PREVIEW; creates nothing)
  waybill templates [--json]
  waybill serve [--port 8080] [--host 127.0.0.1] [--workers N]   (the warehouse API; docs at /docs; N processes, default one per core)
  waybill printers add NAME --host HOST [--port 9100] --language zpl|tspl|cpcl|pdf [--dpi 203|300] [--template ID] [--client ID] [--zpl-compression z64|acs]
                       [--barcodes native|raster] [--text raster|printer-font] [--font TSS24.BF2|24|55]
  waybill printers list [--json] | printers remove NAME | printers jobs [--status STATUS] [--json] | printers retry JOB
  waybill webhooks add (--client ID | --admin) --url URL [--events a,b] | webhooks list [--json] | webhooks remove ID
  waybill webhooks rotate-secret ID | webhooks redeliver EVENT   (signed webhook endpoints; secrets shown once)
  waybill couriers add --carrier CODE --name NAME --outlet OUTLET --device DEVICE [--route PREFIX …]
  waybill couriers list [--json] | couriers revoke ID | couriers reinstate ID
  waybill couriers pair ID   (a one-use code, 10 minutes, to pair a handheld) | couriers devices ID [--json] | couriers revoke-device ID DEVICE
  waybill stations list [--json] | stations reinstate STATION   (parcel stations; a suspension is lifted by hand)
  waybill event <waybill number> picked_up|delivered|returned|cancelled|after_sales
  waybill event <waybill number> --correct STATUS --reason TEXT   (admin correction, audited)
  waybill assign <waybill number> --outlet OUTLET   (pickup by that outlet's couriers)
  waybill purge
  waybill audit verify [--checkpoints DIR|FILE] [--public-key FILE] | audit checkpoint [--out FILE]
  waybill audit waybill <no> | audit trace <copy code> | audit rows   (rows rewritten outside the service)
  waybill alerts [--kind KIND] [--since 24h|7d|DATE] [--limit N] [--json]   (what looked like abuse, newest first)
  waybill keys create --role warehouse|printer|admin|courier|telephony --name NAME [--client ID] …
  waybill keys list [--json] | keys revoke ID
  waybill keys rotate [NEW-ID] | keys retire ID | keys status   (master keys)
  waybill keys rotate-audit [NEW-ID] | keys audit-public [--out FILE]   (audit chain key, checkpoint public key)
  waybill relay pool [--json] | relay show <waybill no> | relay courier-phone ID NUMBER
  waybill relay clients add --name NAME | relay clients list [--json] | relay clients revoke|reinstate ID
  waybill store copy [--to postgres://…]   (the SQLite store into an empty PostgreSQL database)
  waybill agent --service URL --key wbk_… --printers printers.json [--component --component-key wbk_… [--component-variant cainiao|pdd|douyin|kuaishou] [--component-wss] [--component-origin https://erp.example.com]…] [--allow-http]   (warehouse print agent; keys also from WAYBILL_AGENT_KEY, WAYBILL_AGENT_COMPONENT_KEY)

Data (credentials, lists, paths) goes to stdout, everything else to stderr. Exit codes: 0 done, 1 done but
the answer is no (e.g. a broken audit chain), 64 usage, 65 bad input, 66 missing file, 70 internal error,
75 try again later, 78 bad configuration.
Settings: environment variables or the data directory's waybill.config.json (see README).`;


export { EXIT };

const COMMANDS = ['init', 'print', 'preview', 'templates', 'serve', 'couriers', 'stations', 'event', 'assign', 'purge', 'audit', 'alerts', 'keys', 'relay', 'printers', 'store', 'webhooks', 'agent'];

/** A command's own lines of the usage (all of it for no or an unknown command). */
function usageOf(command: string | undefined): string {
  const lines = USAGE.split('\n').filter((l) => command !== undefined && l.startsWith(`  waybill ${command} `) || l === `  waybill ${command}`);
  return lines.length ? `usage:\n${lines.join('\n')}` : USAGE;
}

/** Runs one `waybill` command; resolves with its exit code. */
export async function main(argv: string[], output: Output = STD_IO, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const io = asIo(output);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (e) {
    io.err(`waybill: ${(e as Error).message}`);
    return EXIT.config;
  }
  const [command, ...rest] = argv;
  const usage = usageOf(command);
  try {
    // Every command explains itself: its lines of the usage, on stdout (asked for, so it is the output).
    if (command !== undefined && COMMANDS.includes(command) && (rest.includes('--help') || rest.includes('-h'))) {
      io.out(usage);
      return EXIT.ok;
    }
    switch (command) {
      case 'preview':
        return await (await import('./cli/previewCommand')).previewCommand(rest, config, io);
      case 'init':
        return (await import('./cli/initCommand')).initCommand(rest, config, io);
      case 'print':
        return await printCommand(rest, config, io);
      case 'templates': {
        const { values } = parseOptions({ args: rest, options: { json: { type: 'boolean' } } });
        const rows = listTemplates(config.templatesDir).map((id) => ({ id, name: loadTemplate(config.templatesDir, id).name }));
        printList(io, rows, ['id', 'name'], values.json ?? false);
        return EXIT.ok;
      }
      case 'serve': {
        // Several workers: a primary forks them (serveCluster.ts); each worker comes back here.
        const { isServeWorker, serveWorker, servePrimary, workerCount } = await import('./cli/serveCluster');
        if (isServeWorker()) return await serveWorker(rest, config, io);
        const workers = workerCount(rest, config);
        if (workers > 1) return await servePrimary(rest, config, workers, io);
        const services = await openServices(config, (m) => io.err(`warning: ${m}`));
        let running;
        try {
          running = await (await import('./cli/serveCommand')).serveCommand(rest, services, io);
        } catch (e) {
          await services.close();
          throw e;
        }
        await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        io.err('shutting down: finishing running requests');
        await running.shutdown();
        await services.close();
        return EXIT.ok;
      }
      case 'couriers': {
        const [{ courierCommand }, { auditCredential, cliOperator }] = await Promise.all([import('./cli/courierCommands'), import('./cli/apiKeyCommands')]);
        return await withServices(config, io, (s) =>
          courierCommand(
            rest,
            {
              couriers: s.couriers,
              now: () => new Date(),
              scanBaseUrl: config.scanBaseUrl,
              audit: {
                record: (action, id) => auditCredential(s, action, id),
                // Never the pairing code: the courier, and the device for a revocation.
                device: (action, courier, device) =>
                  s.audit.append({ at: new Date().toISOString(), actor: cliOperator(), action, outcome: 'ok', detail: { courier, ...(device ? { device } : {}) } }).then(() => undefined),
              },
            },
            io,
          ),
        );
      }
      case 'stations': {
        const { stationCommand } = await import('./cli/stationCommands');
        return await withServices(config, io, (s) => stationCommand(rest, s, io));
      }
      case 'event': {
        const { eventCommand } = await import('./cli/lifecycleCommands');
        return await withServices(config, io, (s) => eventCommand(rest, s, io));
      }
      case 'assign': {
        const { assignCommand } = await import('./cli/lifecycleCommands');
        return await withServices(config, io, (s) => assignCommand(rest, s, io));
      }
      case 'purge': {
        parseOptions({ args: rest, options: {}, strict: true, allowPositionals: false }); // it takes nothing: a typo never purges
        const { purgeCommand } = await import('./cli/lifecycleCommands');
        return await withServices(config, io, (s) => purgeCommand(s, io));
      }
      case 'audit': {
        const { auditCommand } = await import('./cli/auditCommands');
        const { suspensionsLifted } = await import('./stations/stationStore');
        return await withServices(config, io, (s) =>
          auditCommand(
            rest,
            {
              audit: s.audit,
              findCopyPrint: (c) => s.store.findCopyPrint(c),
              findWaybillByNo: (no) => s.store.findWaybillByNo(no),
              checkpoints: checkpointDeps(s),
              outputGuard: outputGuard(config),
              checkRows: async () => {
                const couriers = await s.couriers.checkRows();
                return [
                  { kind: 'waybill states', check: await s.store.checkStates() },
                  { kind: 'relay bindings', check: await s.relayStore.checkTerms() },
                  { kind: 'api keys', check: await s.apiKeys.checkRows() },
                  { kind: 'couriers', check: couriers.couriers },
                  { kind: 'courier devices', check: couriers.devices },
                  { kind: 'telephony clients', check: await s.telephony.checkRows() },
                  { kind: 'station suspensions', check: await suspensionsLifted(s) },
                ];
              },
            },
            io,
          ),
        );
      }
      case 'alerts': {
        const { alertsCommand } = await import('./cli/alertCommands');
        return await withServices(config, io, (s) => alertsCommand(rest, s.store, io));
      }
      case 'keys': {
        const { keysCommand } = await import('./cli/lifecycleCommands');
        return await withServices(config, io, (s) => keysCommand(rest, s, io));
      }
      case 'relay': {
        const { relayCommand } = await import('./cli/relayCommands');
        return await withServices(config, io, (s) => relayCommand(rest, s, io));
      }
      case 'printers': {
        const { printerCommand } = await import('./cli/printerCommands');
        return await withServices(config, io, (s) => printerCommand(rest, s, io));
      }
      case 'store':
        return await (await import('./cli/storeCommands')).storeCommand(rest, config, io);
      case 'webhooks': {
        const { webhookCommand } = await import('./cli/webhookCommands');
        return await withServices(config, io, (s) => webhookCommand(rest, s, io));
      }
      case 'agent':
        // No store here: the agent runs at the warehouse and reaches the service over its URL.
        return await (await import('./agent/agentCommand')).agentCommand(rest, env, io, new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve)));
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return EXIT.ok;
      case undefined:
        throw new UsageError('a command is required');
      default:
        throw new UsageError(`unknown command "${command}"${suggestion(command, COMMANDS)}`);
    }
  } catch (e) {
    return reportError(e, io, usage);
  }
}

async function withServices(config: Config, io: Io, run: (s: Services) => Promise<number>): Promise<number> {
  const services = await openServices(config, (m) => io.err(`warning: ${m}`));
  try {
    return await run(services);
  } finally {
    await services.close();
  }
}

async function printCommand(args: string[], config: Config, io: Io): Promise<number> {
  const { values, positionals } = parseOptions({
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
      barcodes: { type: 'string' },
      text: { type: 'string' },
      font: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('print takes exactly one order file');
  if (values.barcodes !== undefined && !(BARCODE_MODES as readonly string[]).includes(values.barcodes)) throw new UsageError(`--barcodes must be one of ${BARCODE_MODES.join(', ')}`);
  if (values.text !== undefined && !(TEXT_MODES as readonly string[]).includes(values.text)) throw new UsageError(`--text must be one of ${TEXT_MODES.join(', ')}`);
  // Job options from the flags; with --printer they override the printer's record for this job.
  const jobOptions: RenderOptions = {
    ...(values.barcodes ? { barcodes: values.barcodes as BarcodeMode } : {}),
    ...(values.text ? { text: values.text as TextMode } : {}),
    ...(values.font ? { font: values.font } : {}),
  };
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

  // The render thread starts while the orders are read and checked: the barcodes (and a long print's
  // pages) are made there; it never holds the process.
  if (!values.printer) useRenderThreadForEveryPrint();
  // Everything that can be refused is checked before any output or store write.
  const orders = readOrderFile(file);
  if (format === 'png' && orders.length > 1) throw new UsageError('--format png holds one waybill; use pdf (or a printer language) for several');
  // Flags that do not go together are the command line's mistake (64), named by their flag.
  try {
    if (!values.printer) checkRenderOptions(format, jobOptions);
  } catch (e) {
    if (!(e instanceof WaybillError)) throw e;
    throw new UsageError(e.issues.map((i) => `--${String(i.path.at(-1))}: ${i.message}`).join('; '));
  }
  // The output file: its real path, never the order file, a directory or device, or the data directory's
  // keys and database; its folder created and writable. Refused here, before the store is opened.
  const target = values.out ? checkOutputFile(values.out, outputGuard(config, [file])) : undefined;
  const validated = { orders: orders.length, ms: Date.now() - started };
  let progress: Progress | undefined;

  return withServices(config, io, async (services) => {
    // What killed prints left (provisional relay numbers, staged records, .partial files) goes before this one starts.
    await sweepDeadPrints(services);
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
    const request = { orders, releaseOrders: true, clientId, channel: 'cli' as const, operator: os.userInfo().username, source: path.basename(file), onProgress: progress?.update };
    const print = (req: PrintRequest & { clientId: string }) => (values.reprint ? reprintOrders(deps, req) : printWaybills(deps, req));
    const done = (summary: PrintSummary, template: LoadedTemplate, format: string, where: string) => {
      progress?.stop();
      printWarnings(io, summary.warnings);
      io.err(
        `printed ${summary.waybills.length} waybill(s), ${summary.labels} label(s), template ${template.id}, ` +
          `format ${format}, job ${summary.jobId}, in ${Date.now() - started} ms → ${where}`,
      );
    };

    if (values.printer) {
      const printer = await services.printers.getPrinter(values.printer);
      if (!printer) throw new WaybillError('invalid_input', `no printer named "${values.printer}" (waybill printers list)`);
      const template = tailorTemplate(loadTemplate(config.templatesDir, values.template ?? printer.template ?? 'cn-4copy'), { dpi: printer.dpi });
      const out = memoryOutput();
      const opts = { ...printerRenderOptions(printer), ...jobOptions };
      checkRenderOptions(printer.language, opts);
      const sink = new LabelSink(labelRenderer(printer.language, out.stream, printer.dpi, opts));
      const summary = await print({ ...request, template, format: printer.language, sink, host: `printer:${printer.name}` });
      done(summary, template, printer.language, `printer ${printer.name}`);
      const [{ deliverNew }, { reportDelivery }, { cliOperator }] = await Promise.all([import('./printers/deliverJob'), import('./cli/printerCommands'), import('./cli/apiKeyCommands')]);
      return reportDelivery(await deliverNew(deliveryDeps(services), { jobId: summary.jobId, printer, bytes: out.bytes(), actor: cliOperator() }), io);
    }

    const template = tailorTemplate(loadTemplate(config.templatesDir, values.template ?? 'cn-4copy'), values.dpi ? { dpi: Number(values.dpi) as Dpi } : {});
    // The .partial is created here and now, not when the stream gets round to opening it: a print refused
    // before its first byte (an order id or waybill number already used) would otherwise leave the file
    // behind the cleanup. It is removed on failure and on SIGINT/SIGTERM (outputFile.ts).
    const summary = await writeOutputFile(
      target!,
      io,
      (stream, partial) => {
        const sink: WaybillSink = format === 'json' ? new JsonSink(stream) : new LabelSink(labelRenderer(format, stream, template.dpi, jobOptions));
        return print({ ...request, template, format, sink, host: os.hostname(), output: partial });
      },
      values.reprint ? '; the reprint was recorded: --reprint prints these waybills again' : '; the waybills were created: --reprint prints them',
    );
    await summary.placed?.(); // the file is in place: the run's lease can go
    done(summary, template, format, target!.resolved);
    io.out(target!.resolved);
    return EXIT.ok;
  }).finally(() => progress?.stop());
}


if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code === EXIT.ok && stdOutputFailed() ? EXIT.internal : code;
  });
}
