// What the SQLite and PostgreSQL stores of credential holders share: courier and telephony client rows
// and their mapping. The credential hash stays in the row: no Courier or TelephonyClient carries it.

import type { Courier } from '../couriers/courier';
import { secretMatches } from '../auth/credentials';
import type { TelephonyClient } from '../relay/telephonyClients';

export interface CourierRow {
  id: string;
  carrier: string;
  name: string;
  outlet: string;
  routes: string;
  device: string;
  credential_hash: Buffer;
  created_at: string;
  revoked_at: string | null;
  suspended_at: string | null;
  suspend_reason: string | null;
}

export function toCourier(row: CourierRow): Courier {
  return {
    id: row.id,
    carrier: row.carrier as Courier['carrier'],
    name: row.name,
    outlet: row.outlet,
    routes: JSON.parse(row.routes) as string[],
    device: row.device,
    createdAt: row.created_at,
    ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
    ...(row.suspended_at ? { suspendedAt: row.suspended_at } : {}),
    ...(row.suspend_reason ? { suspendReason: row.suspend_reason } : {}),
  };
}

export interface TelephonyRow {
  id: string;
  name: string;
  credential_hash: Buffer;
  created_at: string;
  revoked_at: string | null;
}

/** The client a live row belongs to when `secret` is its credential's (compared in constant time). */
export function authenticatedTelephonyClient(row: TelephonyRow | undefined, secret: string): TelephonyClient | undefined {
  if (!row || row.revoked_at || !secretMatches(secret, row.credential_hash)) return undefined;
  return { id: row.id, name: row.name, createdAt: row.created_at };
}
