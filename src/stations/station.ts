// Parcel stations (驿站): pure rules. A station holds a parcel after a courier drops it off, shows the
// buyer a pickup code (取件码, shelf-tier-sequence) and hands it over when the buyer's phone's last four
// digits match the sealed order. Stations never see personal data: only numbers, codes and match/no match.

import { z } from 'zod';

/** A station id: given by the operator when the station's key is created (the audit and custody name it). */
export const StationId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be 1–40 lower-case letters, digits or hyphens');

/** The custodian a waybill gets on arrival: couriers' ids never contain a colon, so the two cannot clash. */
export const stationCustodian = (stationId: string): string => `station:${stationId}`;

/** Pickup codes are unique per station per station-day; stations in China keep Beijing time (UTC+8, no DST). */
const DAY_OFFSET_MS = 8 * 3_600_000;
export function stationDay(at: Date): string {
  return new Date(at.getTime() + DAY_OFFSET_MS).toISOString().slice(0, 10);
}

export const PICKUP_CODE = /^[1-9][0-9]?-[1-9]-[0-9]{4}$/;
export const PickupCode = z.string().regex(PICKUP_CODE, 'must be a pickup code like 3-2-0147');

/** Where a parcel is shelved: given by the station, or the defaults (shelf 1, tier 1). */
export const Shelf = z
  .object({
    shelf: z.number().int().min(1).max(99).optional().describe('the shelf the parcel is put on (1–99; default 1)'),
    tier: z.number().int().min(1).max(9).optional().describe('the tier of the shelf (1–9; default 1)'),
  })
  .strict();
export type Shelf = z.infer<typeof Shelf>;

/** `shelf-tier-sequence`, the sequence (1–9999) unique per station and day, so the code is too. */
export function pickupCode(shelf: Shelf, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > 9999) throw new RangeError('pickup sequence out of range');
  return `${shelf.shelf ?? 1}-${shelf.tier ?? 1}-${String(sequence).padStart(4, '0')}`;
}

/** What a station asks about: a waybill number or a pickup code, and the four digits the buyer says. */
export const VerifyRequest = z
  .object({
    waybillNo: z.string().regex(/^[A-Z0-9]{6,30}$/, 'must be a waybill number').optional(),
    pickupCode: PickupCode.optional(),
    phoneLast4: z.string().regex(/^[0-9]{4}$/, 'must be 4 digits'),
  })
  .strict()
  .refine((r) => (r.waybillNo === undefined) !== (r.pickupCode === undefined), { message: 'give either waybillNo or pickupCode', path: ['waybillNo'] });
export type VerifyRequest = z.infer<typeof VerifyRequest>;

/** The last four digits of a phone number (E.164 as sealed; extensions are kept apart). */
export function lastFour(phone: string): string {
  return phone.replace(/[^0-9]/g, '').slice(-4).padStart(4, '0');
}
