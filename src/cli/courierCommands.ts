// `waybill courier …`: add, list, revoke and reinstate courier identities, and pair their handhelds. A new
// credential is printed once, at add; list never shows a credential or its hash (the store does not even
// return the hash). A pairing code is printed once, at pair; only its hash is kept.

import QRCode from 'qrcode';
import { courierStatus, parseNewCourier } from '../couriers/courier';
import { PAIRING_MINUTES, pairUrl } from '../couriers/courierDevice';
import type { CourierStore } from '../couriers/courierStore';
import { parseOptions, EXIT, UsageError, asIo, printList, reportError, type Io, type Output } from './io';

const USAGE = `usage:
  waybill courier add --carrier CODE --name NAME --outlet OUTLET [--route PREFIX]... --device DEVICE
  waybill courier list [--json]
  waybill courier revoke <id>
  waybill courier reinstate <id>
  waybill courier pair <id>   (a one-use code for one more handheld: the code on stdout, its link and QR on stderr)
  waybill courier devices <id> [--json]
  waybill courier revoke-device <id> <device>`;


export interface CourierCommandDeps {
  couriers: CourierStore;
  now: () => Date;
  /** Who issued or revoked a credential is part of the trail an investigator follows. */
  audit?: {
    record: (action: 'courier_add' | 'courier_revoke' | 'reinstate', courierId: string) => Promise<void>;
    /** Pairing codes issued and devices revoked: the courier and device ids, never the code. */
    device?: (action: 'pairing_issue' | 'device_revoke', courierId: string, deviceId?: string) => Promise<void>;
  };
  /** The QR base URL (config scanBaseUrl): its origin serves the courier app a pairing link opens. */
  scanBaseUrl?: string;
}

export async function courierCommand(args: string[], deps: CourierCommandDeps, output: Output): Promise<number> {
  const io = asIo(output);
  try {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'add':
        return await add(rest, deps, io);
      case 'list':
        return await list(rest, deps, io);
      case 'revoke':
        return await revoke(rest, deps, io);
      case 'reinstate':
        return await reinstate(rest, deps, io);
      case 'pair':
        return await pair(rest, deps, io);
      case 'devices':
        return await devices(rest, deps, io);
      case 'revoke-device':
        return await revokeDevice(rest, deps, io);
      case 'help':
      case '--help':
        io.err(USAGE);
        return EXIT.ok;
      case undefined:
        throw new UsageError('a courier subcommand is required');
      default:
        throw new UsageError(`unknown courier subcommand "${sub}"`);
    }
  } catch (e) {
    return reportError(e, io, USAGE, 'waybill courier');
  }
}

async function add(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const { values } = parseOptions({
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
  io.err(`added courier ${courier.id} (${courier.carrier}, outlet ${courier.outlet}, device ${courier.device})`);
  io.out(credential); // alone on stdout, for a script to capture
  io.err('this credential is shown only once and cannot be recovered: enter it on the handheld now (a lost one means revoke and add again)');
  return EXIT.ok;
}

async function list(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const { values } = parseOptions({ args, options: { json: { type: 'boolean' } } });
  const rows = (await deps.couriers.list()).map((c) => {
    const status = courierStatus(c);
    return {
      id: c.id,
      carrier: c.carrier,
      outlet: c.outlet,
      routes: c.routes.length ? c.routes.join(',') : '*',
      device: c.device,
      status: status === 'suspended' ? `suspended(${c.suspendReason ?? ''})` : status,
      created: c.createdAt,
    };
  });
  printList(io, rows, ['id', 'carrier', 'outlet', 'routes', 'device', 'status', 'created'], values.json ?? false);
  if (rows.length === 0) io.err('no couriers yet');
  return EXIT.ok;
}

async function revoke(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const id = onlyId(args, 'revoke');
  const before = await deps.couriers.get(id);
  if (!before || !(await deps.couriers.revoke(id, deps.now()))) return unknown(id, io);
  if (before.revokedAt) io.err(`courier ${id} was already revoked at ${before.revokedAt}`);
  else {
    await deps.audit?.record('courier_revoke', id);
    io.err(`revoked courier ${id}: its credential no longer opens any waybill`);
  }
  return EXIT.ok;
}

async function reinstate(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const id = onlyId(args, 'reinstate');
  const before = await deps.couriers.get(id);
  if (!before) return unknown(id, io);
  if (before.revokedAt || !(await deps.couriers.reinstate(id))) {
    io.err(`waybill courier: courier ${id} is revoked; revocation is permanent, add a new courier instead`);
    return EXIT.failure;
  }
  if (!before.suspendedAt) io.err(`courier ${id} was not suspended`);
  else {
    // Lifting a harvest's suspension is as much part of the trail as the suspension.
    await deps.audit?.record('reinstate', id);
    io.err(`reinstated courier ${id} (was suspended at ${before.suspendedAt}: ${before.suspendReason ?? 'no reason given'})`);
  }
  return EXIT.ok;
}

async function pair(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const id = onlyId(args, 'pair');
  const before = await deps.couriers.get(id);
  if (!before) return unknown(id, io);
  if (before.revokedAt || before.suspendedAt) {
    io.err(`waybill courier: courier ${id} is ${before.revokedAt ? 'revoked' : 'suspended'}: no device can be paired`);
    return EXIT.failure;
  }
  const { code, expiresAt } = await deps.couriers.pair(id, deps.now());
  await deps.audit?.device?.('pairing_issue', id);
  io.out(code); // alone on stdout, for a script to capture
  if (deps.scanBaseUrl) {
    const url = pairUrl(deps.scanBaseUrl, code);
    io.err(`open on the courier's handheld: ${url}`);
    io.err((await QRCode.toString(url, { type: 'utf8' })).trimEnd());
  }
  io.err(`pairing code for courier ${id}: valid ${PAIRING_MINUTES} minutes, one use (until ${expiresAt}; a new code voids this one)`);
  return EXIT.ok;
}

async function devices(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const { values, positionals } = parseOptions({ args, options: { json: { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('devices takes exactly one courier id');
  const id = positionals[0]!;
  const courier = await deps.couriers.get(id);
  if (!courier) return unknown(id, io);
  // A revoked courier's devices are refused whatever their own state: the list says so.
  const rows = (await deps.couriers.devices(id)).map((d) => ({
    id: d.id,
    name: d.name,
    status: d.revokedAt ? `revoked ${d.revokedAt}` : courier.revokedAt ? `refused (courier revoked ${courier.revokedAt})` : 'active',
    created: d.createdAt,
    lastUsed: d.lastUsedAt ?? null,
  }));
  printList(io, rows, ['id', 'name', 'status', 'created', 'lastUsed'], values.json ?? false);
  if (rows.length === 0) io.err(`courier ${id} has no paired devices (waybill couriers pair ${id})`);
  return EXIT.ok;
}

async function revokeDevice(args: string[], deps: CourierCommandDeps, io: Io): Promise<number> {
  const { positionals } = parseOptions({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 2) throw new UsageError('revoke-device takes a courier id and a device id');
  const [id, deviceId] = positionals as [string, string];
  const before = (await deps.couriers.devices(id)).find((d) => d.id === deviceId);
  if (!before || !(await deps.couriers.revokeDevice(id, deviceId, deps.now()))) {
    io.err(`waybill courier: courier ${id} has no device ${deviceId}`);
    return EXIT.failure;
  }
  if (before.revokedAt) io.err(`device ${deviceId} was already revoked at ${before.revokedAt}`);
  else {
    await deps.audit?.device?.('device_revoke', id, deviceId);
    io.err(`revoked device ${deviceId} of courier ${id}: its credential no longer opens any waybill`);
  }
  return EXIT.ok;
}

function onlyId(args: string[], sub: string): string {
  const { positionals } = parseOptions({ args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(`${sub} takes exactly one courier id`);
  return positionals[0]!;
}

function unknown(id: string, io: Io): number {
  io.err(`waybill courier: unknown courier ${id}`);
  return EXIT.failure;
}
