// API keys and the roles they carry. Warehouse and printer keys belong to one client (a tenant) and see
// only its waybills; admin keys see every client. Couriers and telephony clients hold their own
// credentials (`wbc_…`, `wbt_…`) with the same shape, so one bearer header serves every role.

import { z } from 'zod';
import { StationId } from '../stations/station';

export const API_ROLES = ['warehouse', 'printer', 'admin', 'station'] as const;
export const ROLES = [...API_ROLES, 'courier', 'telephony'] as const;
export type ApiRole = (typeof API_ROLES)[number];
export type Role = (typeof ROLES)[number];

/** A client (tenant) id: waybills, order-id uniqueness, keys and printers belong to one. */
export const ClientId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be 1–40 lower-case letters, digits or hyphens');

/** The client of waybills printed from the command line without --client. */
export const CLI_CLIENT = 'local';

const name = z.string().regex(/^[\p{L}\p{N} ._-]{1,40}$/u, 'must be 1–40 letters, digits, spaces, dots, dashes or underscores');

export const NewApiKey = z
  .object({
    name,
    role: z.enum(API_ROLES, { error: `must be one of ${API_ROLES.join(', ')}` }),
    /** The tenant whose waybills the key may create and read; required for warehouse and printer keys. */
    client: ClientId.optional(),
    /** The parcel station a station key acts for (required for station keys, refused for others). */
    station: StationId.optional(),
  })
  .strict()
  .refine((k) => (k.role === 'admin' || k.role === 'station') === (k.client === undefined), {
    message: 'warehouse and printer keys need a client; admin and station keys have none',
    path: ['client'],
  })
  .refine((k) => (k.role === 'station') === (k.station !== undefined), { message: 'station keys need a station; other keys have none', path: ['station'] });
export type NewApiKey = z.infer<typeof NewApiKey>;

export interface ApiKey {
  id: string;
  name: string;
  role: ApiRole;
  client?: string;
  station?: string;
  createdAt: string;
  revokedAt?: string;
}

/** Who is calling, once authenticated. */
export type Principal =
  | { role: 'warehouse' | 'printer'; id: string; client: string }
  | { role: 'admin'; id: string }
  /** A parcel station: sees no personal data, only arrivals, match/no match, and `delivered` after a match. */
  | { role: 'station'; id: string; station: string }
  /** `device`: the paired device whose credential (wbd_) was presented; absent for the courier's own (wbc_). */
  | { role: 'courier'; id: string; carrier: string; device?: string }
  | { role: 'telephony'; id: string };

/** The audit actor for a principal: role and key id, never a name a person typed. */
export function actorOf(p: Principal): string {
  return `${p.role}:${p.id}`;
}
