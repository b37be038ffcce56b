#!/usr/bin/env node
// The `waybill` command. It wires configuration, store and keys once, then calls the use cases.
// Output files are written beside their target and renamed into place only when complete.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './config/config';
import { WaybillError, formatIssue } from './errors';
import { listTemplates, loadTemplate, tailorTemplate } from './layout/loadTemplate';
import { fontMetrics } from './layout/textMeasure';
import { parseOrders } from './order/readOrders';
import { printWaybills } from './printing/printWaybills';
import { JsonSink, LabelSink, type WaybillSink } from './printing/waybillSink';
import { DPIS, FORMAT_NAMES, labelRenderer, type Dpi, type OutputFormat } from './render/outputFormats';
import { auditCommand } from './cli/auditCommands';
import { courierCommand } from './cli/courierCommands';
import { eventCommand, keysCommand, purgeCommand } from './cli/lifecycleCommands';
import { serveCommand } from './cli/serveCommand';
import { openServices, relayDeps, type Services } from './wiring';
import { relayCommand } from './cli/relayCommands';

const USAGE = `usage:
  waybill print <orders.json|.ndjson> [--template ID] [--format pdf|png|json] [--dpi 203|300] --out PATH
  waybill templates
  waybill serve [--port 8080] [--host 127.0.0.1]   (the warehouse API; docs at /docs)
  waybill couriers add|list|revoke|reinstate …
  waybill event <waybill number> picked_up|delivered|returned|cancelled|after_sales
  waybill purge
  waybill audit verify | audit waybill <no> | audit trace <copy code>
  waybill keys create --role warehouse|printer|admin|courier|telephony --name NAME [--client C] …
  waybill keys list | keys revoke <id>
  waybill keys rotate [NEW-ID] | keys retire ID | keys status   (master keys)
  waybill relay pool | relay show <waybill no> | relay clients add --name NAME | relay courier-phone <id> <number>

environment: WAYBILL_DATA_DIR, WAYBILL_SCAN_BASE_URL, WAYBILL_MASTER_KEY, WAYBILL_TOKEN_KEY (see README)`;


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
      case 'print':
        return await printCommand(rest, config, log);
      case 'templates':
        for (const id of listTemplates(config.templatesDir)) log(`${id}\t${loadTemplate(config.templatesDir, id).name}`);
        return EXIT.ok;
      case 'serve': {
        const services = openServices(config, (m) => log(`warning: ${m}`));
        const running = await serveCommand(rest, services, log);
        await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
        log('shutting down: finishing running requests');
        await running.shutdown();
        await services.close();
        return EXIT.ok;
      }
      case 'couriers':
        return await withServices(config, log, (s) =>
          courierCommand(rest, { couriers: s.couriers, now: () => new Date(), audit: { record: (action, id) => auditOperator(s, action, id) } }, log),
        );
      case 'event':
        return await withServices(config, log, (s) => eventCommand(rest, s, log));
      case 'purge':
        return await withServices(config, log, (s) => purgeCommand(s, log));
      case 'audit':
        return await withServices(config, log, (s) => auditCommand(rest, { audit: s.audit, findCopyPrint: (c) => s.store.findCopyPrint(c) }, log));
      case 'keys':
        return await withServices(config, log, (s) => keysCommand(rest, s, log));
      case 'relay':
        return await withServices(config, log, (s) => relayCommand(rest, s, log));
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
  const services = openServices(config, (m) => log(`warning: ${m}`));
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
    options: { template: { type: 'string', default: 'cn-4copy' }, format: { type: 'string', default: 'pdf' }, dpi: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('print takes exactly one order file');
  if (!values.out) throw new UsageError('--out PATH is required');
  if (!FORMAT_NAMES.includes(values.format as OutputFormat)) throw new UsageError(`--format must be one of ${FORMAT_NAMES.join(', ')}`);
  const format = values.format as OutputFormat;
  if (values.dpi !== undefined && !DPIS.includes(Number(values.dpi) as Dpi)) throw new UsageError(`--dpi must be one of ${DPIS.join(', ')}`);
  const file = positionals[0]!;
  const started = Date.now();

  // Everything that can be refused is checked before any output or store write.
  const template = tailorTemplate(loadTemplate(config.templatesDir, values.template), values.dpi ? { dpi: Number(values.dpi) as Dpi } : {});
  if (!fs.existsSync(file)) throw new WaybillError('invalid_input', `${file}: no such file`);
  const orders = parseOrders(fs.readFileSync(file, 'utf8'), path.basename(file));
  if (format === 'png' && orders.length > 1) throw new UsageError('--format png holds one waybill; use pdf (or a printer language) for several');

  const out = path.resolve(values.out);
  return withServices(config, log, async (services) => {
    const { store, keys, audit } = services;
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const temp = path.join(path.dirname(out), `.${path.basename(out)}.${randomBytes(6).toString('hex')}.partial`);
    try {
      const stream = fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 });
      const sink: WaybillSink = format === 'json' ? new JsonSink(stream) : new LabelSink(labelRenderer(format, stream, template.dpi));
      const summary = await printWaybills(
        { store, audit, keys, scanBaseUrl: config.scanBaseUrl, metrics: fontMetrics, maxLifetimeDays: config.maxLifetimeDays, relay: relayDeps(services) },
        { orders, template, format, sink, channel: 'cli', host: os.hostname(), operator: os.userInfo().username, source: path.basename(file) },
      );
      fs.chmodSync(temp, 0o644);
      fs.renameSync(temp, out);
      for (const w of summary.warnings) log(`warning: ${w}`);
      log(
        `printed ${summary.waybills.length} waybill(s), ${summary.labels} label(s), template ${template.id}, ` +
          `format ${format}, job ${summary.jobId}, in ${Date.now() - started} ms → ${out}`,
      );
      return EXIT.ok;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  });
}

async function auditOperator(s: Services, action: 'courier_add' | 'courier_revoke', courierId: string): Promise<void> {
  await s.audit.append({ at: new Date().toISOString(), actor: `cli:${os.userInfo().username}@${os.hostname()}`, action, outcome: 'ok', detail: { courier: courierId } });
}

function report(e: unknown, log: (line: string) => void): number {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    log(`waybill: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (e instanceof WaybillError) {
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
