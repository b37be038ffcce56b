// The order contract (DESIGN §5) as zod schemas: the single source for validation, the Order type and,
// later, the API documentation. Phones leave this module normalised to E.164.

import { z } from 'zod';
import { printableText } from '../validation/printableText';
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { CARRIER_CODES } from './carriers';

const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as CN or US')
  .refine((c) => isSupportedCountry(c), 'unknown country code');

/** Mainland China: the address hierarchy down to the district is routing data; street and detail are sealed. */
export const ChineseAddress = z
  .object({
    country: z.literal('CN'),
    province: printableText(20),
    city: printableText(20),
    district: printableText(20),
    street: printableText(120),
    detail: printableText(120).optional(),
    postalCode: z.string().regex(/^\d{6}$/, 'must be 6 digits').optional(),
  })
  .strict();
export type ChineseAddress = z.infer<typeof ChineseAddress>;

/** Everywhere else: country, region, city and postal code route the parcel; line1/line2 are sealed. */
export const InternationalAddress = z
  .object({
    country: countryCode.refine((c) => c !== 'CN', 'Chinese addresses use province/city/district/street'),
    region: printableText(40).optional(),
    city: printableText(60),
    postalCode: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9 -]{1,10}$/, 'must be a postal code').optional(),
    line1: printableText(120),
    line2: printableText(120).optional(),
  })
  .strict();
export type InternationalAddress = z.infer<typeof InternationalAddress>;

export type Address = ChineseAddress | InternationalAddress;

/** Picks the address shape by country, so errors name the fields of the right shape. */
export const Address = z.unknown().transform((value, ctx): Address => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be an address object' });
    return z.NEVER;
  }
  const country = (value as { country?: unknown }).country;
  const shape = country === 'CN' ? ChineseAddress : InternationalAddress;
  const parsed = shape.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom', path: issue.path });
    return z.NEVER;
  }
  return parsed.data;
});

const PartyInput = z
  .object({
    name: printableText(64).refine((s) => /\p{L}/u.test(s), 'must contain letters'),
    phone: z.string().trim().min(3, 'must be a phone number').max(32, 'must be at most 32 characters'),
    address: Address,
  })
  .strict();

/** A party with its phone normalised to E.164, the default region taken from its address country. */
export const Party = PartyInput.transform((party, ctx) => {
  const region = party.address.country as CountryCode;
  const phone = parsePhoneNumberFromString(party.phone, region);
  if (!phone || !phone.isValid()) {
    // The message names the region, never the digits.
    ctx.addIssue({ code: 'custom', path: ['phone'], message: `not a valid phone number (default region ${region})` });
    return z.NEVER;
  }
  return { ...party, phone: phone.number as string };
});
export type Party = z.infer<typeof Party>;

export const Parcel = z
  .object({
    weightKg: z.number().positive('must be positive').max(1000, 'must be at most 1000 kg'),
    pieces: z.number().int('must be a whole number').min(1).max(999).default(1),
    contents: printableText(40).optional(),
  })
  .strict();
export type Parcel = z.infer<typeof Parcel>;

export const Order = z
  .object({
    orderId: printableText(64),
    carrier: z.enum(CARRIER_CODES),
    service: z.enum(['standard', 'express', 'economy']).default('standard'),
    waybillNo: z
      .string()
      .regex(/^[A-Z]{1,3}\d{8,20}$/, 'must be a carrier prefix followed by 8–20 digits')
      .optional(),
    sender: Party,
    recipient: Party,
    parcel: Parcel,
    routingCode: printableText(32).optional(),
  })
  .strict()
  .refine((o) => o.waybillNo === undefined || o.waybillNo.startsWith(o.carrier), {
    path: ['waybillNo'],
    message: 'must start with the carrier code',
  });
export type Order = z.infer<typeof Order>;
export type OrderInput = z.input<typeof Order>;
