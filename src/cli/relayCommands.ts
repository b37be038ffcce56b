// `waybill relay …`: pool utilisation, a waybill's bindings, telephony clients and courier phones.

import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { telephonyStatus } from '../relay/telephonyClients';
import type { Services } from '../wiring';
import { auditCredential, cliOperator } from './apiKeyCommands';
import { parseOptions, EXIT, printList, UsageError, type Io } from './io';

const USAGE = `usage:
  waybill relay pool [--json]                 utilisation of each virtual number
  waybill relay show <waybill number>         that waybill's bindings (no real numbers)
  waybill relay clients add --name NAME       a telephony (PBX) credential, shown once
  waybill relay clients list [--json]         telephony clients and their status (active, suspended, revoked)
  waybill relay clients revoke <client id>    the credential opens nothing any more (permanent)
  waybill relay clients reinstate <client id> lifts a suspension (after a sweep of the pool)
  waybill relay courier-phone <courier id> <number>   register a courier's work phone (stored as a keyed hash)`;

export async function relayCommand(args: string[], s: Services, io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const now = new Date();
  switch (sub) {
    case 'pool': {
      const { values } = parseOptions({ args: rest, options: { json: { type: 'boolean' } } });
      if (!s.pool.length) io.err('no relay pool configured (WAYBILL_RELAY_NUMBERS); labels show the carrier service number');
      const rows = (await s.relayStore.utilisation(s.pool, now)).map((u) => ({
        number: u.number,
        capacity: u.capacity,
        live: u.live,
        quarantined: u.quarantined,
        used: `${((100 * (u.live + u.quarantined)) / u.capacity).toFixed(1)} %`,
      }));
      if (rows.length) printList(io, rows, ['number', 'capacity', 'live', 'quarantined', 'used'], values.json ?? false);
      return EXIT.ok;
    }
    case 'show': {
      const numbers = rest.filter((a) => a !== '--json');
      if (numbers.length !== 1) throw new UsageError('relay show takes one waybill number');
      const waybill = await s.store.findWaybillByNo(numbers[0]!);
      if (!waybill) {
        io.err('unknown waybill');
        return EXIT.failure;
      }
      if (waybill.relayUnavailable) io.err('relay unavailable at print time: the label shows the carrier service number');
      const rows = (await s.relayStore.forWaybill(waybill.id)).map((b) => ({
        party: b.party,
        number: b.number,
        ext: b.ext,
        // A binding whose terms were rewritten in the database reaches nobody (docs/relay.md).
        state: b.rewritten ? 'rewritten (refused)' : b.endedAt ? `ended ${b.endedAt}` : b.expiresAt <= now.toISOString() ? 'expired' : 'live',
        valid: `${b.validFrom} → ${b.expiresAt}`,
        quarantine: b.quarantineUntil,
        callers: b.callerPolicy,
      }));
      printList(io, rows, ['party', 'number', 'ext', 'state', 'valid', 'quarantine', 'callers'], rest.includes('--json'));
      return EXIT.ok;
    }
    case 'clients': {
      const exit = await clientsCommand(rest, s, now, io);
      if (exit !== undefined) return exit;
      break;
    }
    case 'courier-phone': {
      const [id, number] = rest;
      const phone = number ? parsePhoneNumberFromString(number, 'CN') : undefined;
      if (!id || !phone?.isValid() || rest.length !== 2) throw new UsageError('usage: waybill relay courier-phone <courier id> <valid phone number>');
      if (!s.relay) {
        io.err('no relay pool configured');
        return EXIT.failure;
      }
      const ok = await s.couriers.setPhoneHash(id, s.relay.phoneHash(phone.number as string));
      io.err(ok ? `registered the work phone of courier ${id}` : 'unknown or revoked courier');
      return ok ? EXIT.ok : EXIT.failure;
    }
  }
  io.err(USAGE);
  return EXIT.usage;
}

/** `relay clients …`; undefined for a usage error. Issuing, revoking and reinstating are audited. */
async function clientsCommand(args: string[], s: Services, now: Date, io: Io): Promise<number | undefined> {
  const [sub, arg, ...more] = args;
  if (sub === 'add' && arg === '--name' && more.length === 1) {
    const { client, credential } = await s.telephony.add(more[0]!, now);
    await auditCredential(s, 'key_create', client.id);
    io.err(`created telephony client ${client.id} (${client.name})`);
    io.out(credential); // alone on stdout, for a script to capture
    io.err('this credential is shown only once and cannot be recovered: store it in your secret store now');
    return EXIT.ok;
  }
  if (sub === 'list' && (arg === undefined || (arg === '--json' && !more.length))) {
    const clients = await s.telephony.list();
    printList(io, clients.map((c) => ({ id: c.id, name: c.name, status: telephonyStatus(c), created: c.createdAt })), ['id', 'name', 'status', 'created'], arg === '--json');
    if (!clients.length) io.err('no telephony clients yet');
    return EXIT.ok;
  }
  if ((sub !== 'revoke' && sub !== 'reinstate') || arg === undefined || more.length) return undefined;
  const before = await s.telephony.get(arg);
  if (!before) {
    io.err(`waybill relay: unknown telephony client ${arg}`);
    return EXIT.failure;
  }
  if (sub === 'revoke') {
    if (before.revokedAt) io.err(`telephony client ${arg} was already revoked at ${before.revokedAt}`);
    else {
      await s.telephony.revoke(arg, now);
      await auditCredential(s, 'key_revoke', arg);
      io.err(`revoked telephony client ${arg}: its credential no longer opens anything`);
    }
    return EXIT.ok;
  }
  if (before.revokedAt) {
    io.err(`waybill relay: telephony client ${arg} is revoked; revocation is permanent, add a new client instead`);
    return EXIT.failure;
  }
  if (!before.suspendedAt) {
    io.err(`telephony client ${arg} was not suspended`);
    return EXIT.ok;
  }
  await s.telephony.reinstate(arg);
  await s.audit.append({ at: now.toISOString(), actor: cliOperator(), action: 'reinstate', outcome: 'ok', detail: { telephony: arg } });
  io.err(`reinstated telephony client ${arg} (was suspended at ${before.suspendedAt}: ${before.suspendReason ?? 'no reason given'})`);
  return EXIT.ok;
}
