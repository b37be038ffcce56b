// `waybill keys create|list|revoke`: credentials for every API role. Warehouse, printer and admin keys
// are API keys (`wbk_…`); courier and telephony credentials are created through their own stores, so
// a courier keeps its carrier, outlet and routes. Every credential is printed once and stored hashed.

import os from 'node:os';
import { NewApiKey, ROLES } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { telephonyStatus } from '../relay/telephonyClients';
import { issuesFromZod } from '../validation/zodIssues';
import type { Services } from '../wiring';
import { courierCommand } from './courierCommands';
import { parseOptions, EXIT, asIo, printList, type Io, type Output } from './io';

const USAGE = `usage:
  waybill keys create --role warehouse|printer --name NAME --client CLIENT
  waybill keys create --role admin --name NAME
  waybill keys create --role station --name NAME --station STATION
  waybill keys create --role courier --name NAME --carrier CODE --outlet OUTLET --device DEVICE [--route PREFIX]...
  waybill keys create --role telephony --name NAME
  waybill keys list [--json]
  waybill keys revoke <key id>`;

/** Who acts from the shell, as the audit log names them. */
export const cliOperator = () => `cli:${os.userInfo().username}@${os.hostname()}`;

export async function apiKeyCommand(args: string[], s: Services, output: Output): Promise<number> {
  const io = asIo(output);
  const [sub, ...rest] = args;
  const now = new Date();
  if (sub === 'create') {
    const roleAt = rest.indexOf('--role');
    const role = roleAt >= 0 ? rest[roleAt + 1] : undefined;
    const others = roleAt >= 0 ? [...rest.slice(0, roleAt), ...rest.slice(roleAt + 2)] : rest;
    if (role === 'courier')
      return courierCommand(['add', ...others], { couriers: s.couriers, now: () => now, audit: { record: (action, id) => auditCredential(s, action, id) } }, io);
    const { values } = parseOptions({ args: others, options: { name: { type: 'string' }, client: { type: 'string' }, station: { type: 'string' } } });
    if (!role || !(ROLES as readonly string[]).includes(role) || !values.name) {
      io.err(`waybill keys: create needs --role (${ROLES.join(', ')}) and --name\n${USAGE}`);
      return EXIT.usage;
    }
    if (role === 'telephony') {
      const { client, credential } = await s.telephony.add(values.name, now);
      await auditCredential(s, 'key_create', client.id);
      return shown(io, `telephony client ${client.id}`, credential);
    }
    const input = NewApiKey.safeParse({ name: values.name, role, ...(values.client ? { client: values.client } : {}), ...(values.station ? { station: values.station } : {}) });
    if (!input.success) throw new WaybillError('invalid_input', 'invalid key', issuesFromZod(input.error));
    const { key, credential } = await s.apiKeys.add(input.data, now);
    await auditCredential(s, 'key_create', key.id);
    return shown(io, `${key.role} key ${key.id}${key.client ? ` for client ${key.client}` : ''}${key.station ? ` for station ${key.station}` : ''}`, credential);
  }
  if (sub === 'list') {
    const { values } = parseOptions({ args: rest, options: { json: { type: 'boolean' } } });
    const keys = await s.apiKeys.list();
    const telephony = await s.telephony.list();
    const rows = [
      ...keys.map((k) => ({ id: k.id, role: k.role, client: k.client ?? (k.station ? `station:${k.station}` : null), name: k.name, status: k.revokedAt ? `revoked ${k.revokedAt}` : 'active', created: k.createdAt })),
      ...telephony.map((c) => ({ id: c.id, role: 'telephony', client: null, name: c.name, status: telephonyStatus(c), created: c.createdAt })),
    ];
    printList(io, rows, ['id', 'role', 'client', 'name', 'status', 'created'], values.json ?? false);
    if (!rows.length) io.err('no API keys or telephony clients yet (couriers: waybill couriers list)');
    return EXIT.ok;
  }
  if (sub === 'revoke' && rest.length === 1) {
    // Telephony credentials are revoked here too: an operator should not need to know which store holds an id.
    if (!(await s.apiKeys.revoke(rest[0]!, now)) && !(await s.telephony.revoke(rest[0]!, now))) {
      io.err(`waybill keys: unknown key ${rest[0]} (couriers: waybill couriers revoke)`);
      return EXIT.failure;
    }
    await auditCredential(s, 'key_revoke', rest[0]!);
    io.err(`revoked key ${rest[0]}: it no longer opens anything`);
    return EXIT.ok;
  }
  io.err(USAGE);
  return EXIT.usage;
}

/** The credential alone on stdout, so a script can capture it; the rest is for the person. */
function shown(io: Io, what: string, credential: string): number {
  io.err(`created ${what}`);
  io.out(credential);
  io.err('this credential is shown only once and cannot be recovered: store it in your secret store now');
  return EXIT.ok;
}

/** Issuing, revoking and reinstating credentials is part of the trail an investigator follows (reinstate: couriers). */
export async function auditCredential(s: Services, action: 'courier_add' | 'courier_revoke' | 'reinstate' | 'key_create' | 'key_revoke', id: string): Promise<void> {
  await s.audit.append({ at: new Date().toISOString(), actor: cliOperator(), action, outcome: 'ok', detail: action.startsWith('key') ? { key: id } : { courier: id } });
}
