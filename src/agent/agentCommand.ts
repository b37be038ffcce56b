// `waybill agent --service URL --key wbk_… --printers printers.json [--component …]`: the warehouse agent
// as a long-running command. The key may come from WAYBILL_AGENT_KEY instead (so it is not in `ps`);
// logs are JSON lines on stderr, without job content or personal data. SIGTERM/SIGINT stop it cleanly.

import fs from 'node:fs';
import { WaybillError } from '../errors';
import { issuesFromZod } from '../validation/zodIssues';
import { parseOptions, NoInput, UsageError, type Io } from '../cli/io';
import { startAgent, agentUrl, type AgentLog } from './agent';
import { agentHost } from './agentHost';
import { startComponent, VARIANTS, type ComponentVariant, type RunningComponent } from './component/component';
import { PrintersFile, type AgentPrinter } from './printersFile';

/** Reads and checks the printers file (names unique). */
export function readPrintersFile(file: string): AgentPrinter[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new NoInput(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WaybillError('invalid_input', 'the printers file is not JSON');
  }
  const parsed = PrintersFile.safeParse(json);
  if (!parsed.success) throw new WaybillError('invalid_input', 'the printers file is invalid', issuesFromZod(parsed.error));
  const seen = new Set<string>();
  parsed.data.printers.forEach((p, i) => {
    if (seen.has(p.name)) throw new WaybillError('invalid_input', 'the printers file names a printer twice', [{ path: ['printers', i, 'name'], message: 'is already used by an earlier printer' }]);
    seen.add(p.name);
  });
  return parsed.data.printers;
}

/** Runs the agent until `until` resolves (the CLI: a signal). */
export async function agentCommand(args: string[], env: NodeJS.ProcessEnv, io: Io, until: Promise<unknown>): Promise<number> {
  const { values } = parseOptions({
    args,
    options: {
      service: { type: 'string' },
      key: { type: 'string' },
      printers: { type: 'string' },
      component: { type: 'boolean' },
      'component-key': { type: 'string' },
      'component-variant': { type: 'string' },
      'component-wss': { type: 'boolean' },
      'component-origin': { type: 'string', multiple: true },
      'allow-http': { type: 'boolean' },
    },
  });
  if (!values.service) throw new UsageError('--service URL is required');
  try {
    agentUrl(values.service);
  } catch {
    throw new UsageError('--service must be an http:// or https:// URL');
  }
  // The key and every job (QR tokens) would cross the network readable by anyone on the path.
  const { protocol, hostname } = new URL(values.service);
  if (protocol === 'http:' && !isLoopbackHost(hostname) && !values['allow-http'])
    throw new UsageError('--service must be https:// unless it is on this machine (or pass --allow-http for a network you trust)');
  const key = values.key ?? env.WAYBILL_AGENT_KEY;
  if (!key || !key.startsWith('wbk_')) throw new UsageError('a printer-role API key is required: --key wbk_… or WAYBILL_AGENT_KEY');
  if (!values.printers) throw new UsageError('--printers printers.json is required');
  const componentKey = values['component-key'] ?? env.WAYBILL_AGENT_COMPONENT_KEY;
  const variant = (values['component-variant'] ?? 'cainiao') as ComponentVariant;
  if (values.component) {
    if (!componentKey || !componentKey.startsWith('wbk_')) throw new UsageError('--component needs a warehouse-role API key: --component-key wbk_… or WAYBILL_AGENT_COMPONENT_KEY');
    if (!(variant in VARIANTS)) throw new UsageError(`--component-variant must be one of ${Object.keys(VARIANTS).join(', ')}`);
    for (const [i, o] of (values['component-origin'] ?? []).entries())
      if (!URL.canParse(o) || !/^https?:$/.test(new URL(o).protocol)) throw new UsageError(`--component-origin #${i + 1} must be a web origin such as https://erp.example.com`);
  }
  const printers = readPrintersFile(values.printers);
  const ports = env.WAYBILL_AGENT_LP ? { lp: env.WAYBILL_AGENT_LP } : {};

  const log: AgentLog = (entry) => io.err(JSON.stringify({ time: new Date().toISOString(), service: 'waybill-agent', ...entry }));
  const agent = startAgent({ service: values.service, key, printers, log, ports });
  let component: RunningComponent | undefined;
  try {
    if (values.component)
      component = await startComponent(agentHost({ service: values.service, componentKey: componentKey!, printers, ports }), { variant, origins: values['component-origin'] ?? [], ...(values['component-wss'] ? { wss: true } : {}) });
    if (component) log({ level: 'info', event: 'component_listening', url: component.url, ...(component.wssUrl ? { wssUrl: component.wssUrl } : {}) });
    await until;
    log({ level: 'info', event: 'stopping' });
  } finally {
    await component?.close();
    await agent.stop();
  }
  return 0;
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
