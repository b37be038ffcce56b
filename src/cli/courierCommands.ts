// `waybill courier …`: add, list, revoke and reinstate courier identities. A new credential is printed
// once, at add; list never shows a credential or its hash (the store does not even return the hash).

import { parseArgs } from 'node:util';
import { WaybillError, formatIssue } from '../errors';
import { courierStatus, parseNewCourier, type Courier } from '../couriers/courier';
import type { CourierStore } from '../couriers/courierStore';

const USAGE = `usage:
  waybill courier add --carrier CODE --name NAME --outlet OUTLET [--route PREFIX]... --device DEVICE
  waybill courier list
  waybill courier revoke <id>
  waybill courier reinstate <id>`;

// The same codes as EXIT in src/cli.ts, not imported from there: cli.ts pulls in the whole print
// pipeline, and it is the one that imports this module.
const EXIT = { ok: 0, failure: 1, usage: 2, badInput: 65 } as const;

class UsageError extends Error {}

export interface CourierCommandDeps {
  couriers: CourierStore;
  now: () => Date;
  /** Who issued or revoked a credential is part of the trail an investigator follows. */
  audit?: { record: (action: 'courier_add' | 'courier_revoke', courierId: string) => Promise<void> };
}

export async function courierCommand(args: string[], deps: CourierCommandDeps, log: (line: string) => void): Promise<number> {
  try {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'add':
        return await add(rest, deps, log);
      case 'list':
        return await list(rest, deps, log);
      case 'revoke':
        return await revoke(rest, deps, log);
      case 'reinstate':
        return await reinstate(rest, deps, log);
      case 'help':
      case '--help':
        log(USAGE);
        return EXIT.ok;
      case undefined:
        throw new UsageError('a courier subcommand is required');
      default:
        throw new UsageError(`unknown courier subcommand "${sub}"`);
    }
  } catch (e) {
    return report(e, log);
  }
}

async function add(args: string[], deps: CourierCommandDeps, log: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      carrier: { type: 'string' },
      name: { type: 'string' },
      outlet: { type: 'string' },
      route: { type: 'string', multiple: true },
      device: { type: 'string' },
    },
  });
  const missing = (['carrier', 'name', 'outlet', 'device'] as const).filter((k) => values[k] === undefined);
  if (missing.length) throw new UsageError(`add needs ${missing.map((k) => `--${k}`).join(', ')}`);
  // Field paths in messages are the courier's fields; only --route differs, as routes[i].
  const input = parseNewCourier({ carrier: values.carrier, name: values.name, outlet: values.outlet, routes: values.route ?? [], device: values.device });
  const { courier, credential } = await deps.couriers.add(input, deps.now());
  await deps.audit?.record('courier_add', courier.id);
  log(`added courier ${courier.id} (${courier.carrier}, outlet ${courier.outlet}, device ${courier.device})`);
  log(`credential: ${credential}`);
  log('this credential is shown only once and cannot be recovered: enter it on the handheld now (a lost one means revoke and add again)');
  return EXIT.ok;
}

async function list(args: string[], deps: CourierCommandDeps, log: (line: string) => void): Promise<number> {
  parseArgs({ args, options: {} });
  const couriers = await deps.couriers.list();
  if (couriers.length === 0) log('no couriers');
  for (const c of couriers) log(listLine(c));
  return EXIT.ok;
}

/** id, carrier, outlet, routes, device, status, created: tab-separated, built from named fields only. */
function listLine(c: Courier): string {
  const status = courierStatus(c);
  return [
    c.id,
    c.carrier,
    c.outlet,
    c.routes.length ? c.routes.join(',') : '*',
    c.device,
    status === 'suspended' ? `suspended(${c.suspendReason ?? ''})` : status,
    c.createdAt,
  ].join('\t');
}

async function revoke(args: string[], deps: CourierCommandDeps, log: (line: string) => void): Promise<number> {
  const id = onlyId(args, 'revoke');
  const before = await deps.couriers.get(id);
  if (!before || !(await deps.couriers.revoke(id, deps.now()))) return unknown(id, log);
  if (before.revokedAt) log(`courier ${id} was already revoked at ${before.revokedAt}`);
  else {
    await deps.audit?.record('courier_revoke', id);
    log(`revoked courier ${id}: its credential no longer opens any waybill`);
  }
  return EXIT.ok;
}

async function reinstate(args: string[], deps: CourierCommandDeps, log: (line: string) => void): Promise<number> {
  const id = onlyId(args, 'reinstate');
  const before = await deps.couriers.get(id);
  if (!before) return unknown(id, log);
  if (before.revokedAt || !(await deps.couriers.reinstate(id))) {
    log(`waybill courier: courier ${id} is revoked; revocation is permanent, add a new courier instead`);
    return EXIT.failure;
  }
  if (!before.suspendedAt) log(`courier ${id} was not suspended`);
  else log(`reinstated courier ${id} (was suspended at ${before.suspendedAt}: ${before.suspendReason ?? 'no reason given'})`);
  return EXIT.ok;
}

function onlyId(args: string[], sub: string): string {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(`${sub} takes exactly one courier id`);
  return positionals[0]!;
}

function unknown(id: string, log: (line: string) => void): number {
  log(`waybill courier: unknown courier ${id}`);
  return EXIT.failure;
}

function report(e: unknown, log: (line: string) => void): number {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    log(`waybill courier: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  if (e instanceof WaybillError) {
    log(`waybill courier: ${e.message}`);
    for (const issue of e.issues) log(`  ${formatIssue(issue)}`);
    return e.code === 'invalid_input' ? EXIT.badInput : EXIT.failure;
  }
  log(`waybill courier: failed: ${(e as Error).message ?? String(e)}`);
  return EXIT.failure;
}
