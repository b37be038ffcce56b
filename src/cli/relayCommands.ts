// `waybill relay …`: pool utilisation, a waybill's bindings, telephony clients and courier phones.

import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Services } from '../wiring';

const USAGE = `usage:
  waybill relay pool                          utilisation of each virtual number
  waybill relay show <waybill number>         that waybill's bindings (no real numbers)
  waybill relay clients add --name NAME       a telephony (PBX) credential, shown once
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
      const name = rest[0] === 'add' && rest[1] === '--name' ? rest[2] : undefined;
      if (!name) break;
      const { client, credential } = await s.telephony.add(name, now);
      log(`telephony client ${client.id} (${client.name})\ncredential (shown only once): ${credential}`);
      return 0;
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
