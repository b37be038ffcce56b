// `waybill relay …`: pool utilisation, a waybill's bindings, telephony clients and courier phones.

import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { telephonyStatus } from '../relay/telephonyClients';
import type { Services } from '../wiring';
import { auditCredential, cliOperator } from './apiKeyCommands';

const USAGE = `usage:
  waybill relay pool                          utilisation of each virtual number
  waybill relay show <waybill number>         that waybill's bindings (no real numbers)
  waybill relay clients add --name NAME       a telephony (PBX) credential, shown once
  waybill relay clients list                  telephony clients and their status (active, suspended, revoked)
  waybill relay clients revoke <client id>    the credential opens nothing any more (permanent)
  waybill relay clients reinstate <client id> lifts a suspension (after a sweep of the pool)
  waybill relay courier-phone <courier id> <number>   register a courier's work phone (stored as a keyed hash)`;

export async function relayCommand(args: string[], s: Services, log: (line: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const now = new Date();
  switch (sub) {
    case 'pool': {
      if (!s.pool.length) log('no relay pool configured (WAYBILL_RELAY_NUMBERS); labels show the carrier service number');
      for (const u of await s.relayStore.utilisation(s.pool, now))
        log(`${u.number}\tcapacity ${u.capacity}\tlive ${u.live}\tquarantined ${u.quarantined}\t${((100 * (u.live + u.quarantined)) / u.capacity).toFixed(1)} % used`);
      return 0;
    }
    case 'show': {
      const waybill = rest[0] ? await s.store.findWaybillByNo(rest[0]) : undefined;
      if (!waybill) {
        log('unknown waybill');
        return 1;
      }
      if (waybill.relayUnavailable) log('relay unavailable at print time: the label shows the carrier service number');
      for (const b of await s.relayStore.forWaybill(waybill.id)) {
        const state = b.endedAt ? `ended ${b.endedAt}` : b.expiresAt <= now.toISOString() ? 'expired' : 'live';
        log(`${b.party}\t${b.number} ext ${b.ext}\t${state}\tvalid ${b.validFrom} → ${b.expiresAt}\tquarantine until ${b.quarantineUntil}\tcallers ${b.callerPolicy}`);
      }
      return 0;
    }
    case 'clients': {
      const exit = await clientsCommand(rest, s, now, log);
      if (exit !== undefined) return exit;
      break;
    }
    case 'courier-phone': {
      const [id, number] = rest;
      const phone = number ? parsePhoneNumberFromString(number, 'CN') : undefined;
      if (!id || !phone?.isValid() || !s.relay) {
        log(!s.relay ? 'no relay pool configured' : 'usage: waybill relay courier-phone <courier id> <valid phone number>');
        return 2;
      }
      const ok = await s.couriers.setPhoneHash(id, s.relay.phoneHash(phone.number as string));
      log(ok ? `registered the work phone of courier ${id}` : 'unknown or revoked courier');
      return ok ? 0 : 1;
    }
  }
  log(USAGE);
  return 2;
}

/** `relay clients …`; undefined for a usage error. Issuing, revoking and reinstating are audited. */
async function clientsCommand(args: string[], s: Services, now: Date, log: (line: string) => void): Promise<number | undefined> {
  const [sub, arg, ...more] = args;
  if (sub === 'add' && arg === '--name' && more.length === 1) {
    const { client, credential } = await s.telephony.add(more[0]!, now);
    await auditCredential(s, 'key_create', client.id);
    log(`telephony client ${client.id} (${client.name})\ncredential (shown only once): ${credential}`);
    return 0;
  }
  if (sub === 'list' && arg === undefined) {
    const clients = await s.telephony.list();
    if (!clients.length) log('no telephony clients');
    for (const c of clients) log([c.id, c.name, telephonyStatus(c), c.createdAt].join('\t'));
    return 0;
  }
  if ((sub !== 'revoke' && sub !== 'reinstate') || arg === undefined || more.length) return undefined;
  const before = await s.telephony.get(arg);
  if (!before) {
    log(`waybill relay: unknown telephony client ${arg}`);
    return 1;
  }
  if (sub === 'revoke') {
    if (before.revokedAt) log(`telephony client ${arg} was already revoked at ${before.revokedAt}`);
    else {
      await s.telephony.revoke(arg, now);
      await auditCredential(s, 'key_revoke', arg);
      log(`revoked telephony client ${arg}: its credential no longer opens anything`);
    }
    return 0;
  }
  if (before.revokedAt) {
    log(`waybill relay: telephony client ${arg} is revoked; revocation is permanent, add a new client instead`);
    return 1;
  }
  if (!before.suspendedAt) {
    log(`telephony client ${arg} was not suspended`);
    return 0;
  }
  await s.telephony.reinstate(arg);
  await s.audit.append({ at: now.toISOString(), actor: cliOperator(), action: 'reinstate', outcome: 'ok', detail: { telephony: arg } });
  log(`reinstated telephony client ${arg} (was suspended at ${before.suspendedAt}: ${before.suspendReason ?? 'no reason given'})`);
  return 0;
}
