// Addresses as order systems send them: mainland-China division fields or one line of text (checked
// against the official division table and returned canonical, with the deepest division's code), and
// international addresses. Only routing-level parts are ever printed; street and detail are sealed.

import { z } from 'zod';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { checkDivisions } from '../address/checkDivisions';
import { divisionNames } from '../address/divisions';
import { splitAddress, type SplitProblem } from '../address/splitAddress';
import { printableText } from '../validation/printableText';
import { issuesFromZod } from '../validation/zodIssues';

const countryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as CN or US')
  .refine((c) => isSupportedCountry(c), 'unknown country code');

const postalCodeCN = z.string().regex(/^\d{6}$/, 'must be 6 digits');

/**
 * Mainland China, as a warehouse system sends it: division fields, then street and detail. The
 * divisions are checked against the official table and normalised (浙江 → 浙江省); street and detail
 * are sealed and never printed.
 */
const ChineseAddressFields = z
  .object({
    country: z.literal('CN'),
    province: printableText(20),
    city: printableText(20),
    /** Left out only where the city has no counties (东莞, 中山, 儋州, 嘉峪关 …). */
    district: printableText(20).optional(),
    street: printableText(120),
    detail: printableText(120).optional(),
    postalCode: postalCodeCN.optional(),
  })
  .strict()
  .describe('a mainland-China address as division fields, checked against the official division table; street and detail are sealed');

/** Mainland China as one line of text ("浙江省杭州市西湖区文三路90号…"), split against the division table. */
const ChineseAddressText = z
  .object({ country: z.literal('CN'), text: printableText(200), postalCode: postalCodeCN.optional() })
  .strict()
  .describe('a mainland-China address as one line, split into divisions and the sealed rest; a plain string is the same');

/** A mainland-China address after the check: canonical division names, the deepest one's code, the sealed rest. */
export const ChineseAddress = z.object({
  country: z.literal('CN'),
  province: z.string(),
  city: z.string(),
  district: z.string().optional(),
  street: z.string(),
  detail: z.string().optional(),
  postalCode: z.string().optional(),
  /** GB/T 2260 code of the deepest division (absent in orders sealed before divisions were checked). */
  areaCode: z.string().optional(),
});
export type ChineseAddress = z.infer<typeof ChineseAddress>;

const SPLIT_PROBLEMS: Record<SplitProblem, string> = {
  unknown: 'does not start with a mainland-China province, city or district',
  ambiguous: 'names a district that exists in several places: add the province and city',
  no_district: 'does not say which district or county of the city',
  no_street: 'has no street after the divisions',
};

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

/** The shapes an address may be written in, for the API document. */
export const ADDRESS_INPUTS = [
  ChineseAddressFields,
  ChineseAddressText,
  z.string().min(1).describe('a mainland-China address as one line ("浙江省杭州市西湖区文三路90号…")'),
  InternationalAddress,
];

/**
 * The country as order systems write it: in lower case too (cn, us), and left out of a mainland-China
 * address, which names its province or is one line of text (and has no line1, as an Ontario one would).
 */
function withCountry(value: object): object {
  const country = (value as { country?: unknown }).country;
  if (typeof country === 'string' && /^[a-z]{2}$/iu.test(country)) return { ...value, country: country.toUpperCase() };
  if (country === undefined && ('province' in value || 'text' in value) && !('line1' in value)) return { ...value, country: 'CN' };
  return value;
}

/**
 * Picks the address shape (a plain string is a mainland-China address line), so errors name the
 * fields of the right shape; mainland-China divisions come out checked and canonical.
 */
export const Address = z.unknown().transform((value, ctx): Address => {
  const fail = (issues: { path: PropertyKey[]; message: string }[]) => {
    for (const issue of issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return z.NEVER;
  };
  const line = typeof value === 'string';
  if (line) value = { country: 'CN', text: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail([{ path: [], message: 'must be an address object or a mainland-China address line' }]);
  const written = withCountry(value);
  const country = (written as { country?: unknown }).country;
  const shape = country !== 'CN' ? InternationalAddress : 'text' in written ? ChineseAddressText : ChineseAddressFields;
  const parsed = shape.safeParse(written);
  // Converted first: re-added as 'custom', an unknown key would keep zod's message that quotes it.
  if (!parsed.success) return fail(issuesFromZod(parsed.error));
  const address = parsed.data;
  if (address.country !== 'CN') return address as InternationalAddress;

  if ('text' in address) {
    const split = splitAddress(address.text);
    const path = line ? [] : ['text'];
    if (!split.ok) return fail([{ path, message: SPLIT_PROBLEMS[split.problem] }]);
    const postalCode = address.postalCode ?? split.postalCode;
    return { country: 'CN', ...divisionNames(split.divisions), street: split.rest, ...(postalCode ? { postalCode } : {}) };
  }
  const checked = checkDivisions(address);
  if (!checked.ok) return fail([{ path: [checked.field], message: checked.message }]);
  const { street, detail, postalCode } = address;
  return { country: 'CN', ...divisionNames(checked.divisions), street, ...(detail ? { detail } : {}), ...(postalCode ? { postalCode } : {}) };
});
