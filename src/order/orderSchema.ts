// The order contract as zod schemas: the single source for validation, the Order type and the API
// document. Phones leave this module normalised to E.164, addresses checked (addressSchema.ts).

import { z } from 'zod';
import { printableId, printableText, refusingControls } from '../validation/printableText';
import { parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
import { Address } from './addressSchema';
import { CARRIER_CODES } from './carriers';
import { screenPrintedText } from './screenPrintedText';
import { waybillNoProblem } from './waybillNumber';

/**
 * An extension written after the number: `转`, `分机`, `分机号`, `ext`, `ext.`, `extension`, `x`, `#` or
 * `,` (letters in any case, spaces around optional), then 1–6 digits, at the end. The first separator after
 * a digit splits the text. A plain `-` groups digits (`021-6888-3210` is a landline), except after a
 * complete number: 1–6 digits after a last `-` are an extension when the whole is no valid number and
 * what stands before that `-` is one, as in a switchboard's 总机-分机 (`0571-8888 6666-808`) and in the
 * privacy numbers that shopping platforms hand out for a buyer (`17012345678-1234`).
 */
const EXTENSION_SEPARATOR = /^(.*?\d)\s*(?:转|分机号?|extension|ext\.?|x|#|,)\s*(.*)$/iu;
const TRAILING_EXTENSION = /^(.*\d)\s*-\s*(\d{1,6})$/u;
const LANDLINE_TYPES = new Set(['FIXED_LINE', 'FIXED_LINE_OR_MOBILE']);
const EXTENSION_DIGITS = /^\d{1,6}$/;
const EXTENSION_FORMS = '转, 分机, ext, x, # or a comma';

export { Address, ADDRESS_INPUTS, ChineseAddress, InternationalAddress } from './addressSchema';

const PartyInput = z
  .object({
    name: printableText(64).refine((s) => /\p{L}/u.test(s), 'must contain letters'),
    phone: refusingControls(z
      .string()
      .trim()
      .min(3, 'must be a phone number')
      .max(40, 'must be at most 40 characters')
      .describe(`a phone number, national (default region: the address country) or international; an extension follows ${EXTENSION_FORMS} as 1–6 digits, e.g. "0571-8888 6666 转 808", or after a last "-" when the number before it is complete ("0571-8888 6666-808", "17012345678-1234")`)),
    address: Address,
  })
  .strict();

/**
 * A party with its phone normalised to E.164, the default region taken from its address country, and
 * the extension (digits the PBX dials once connected) kept apart in `phoneExtension`: paper never shows
 * it, only relay bindings carry it. Messages name the region or the form, never the digits.
 */
export const Party = PartyInput.transform((party, ctx) => {
  const region = party.address.country as CountryCode;
  // Full-width digits, hyphens and commas (１３９…，８０８) as typed with a Chinese input method.
  const written = party.phone.normalize('NFKC');
  if (written.includes('*')) {
    ctx.addIssue({ code: 'custom', path: ['phone'], message: 'must be the whole number, not a masked one: the service masks it on paper and keeps it sealed' });
    return z.NEVER;
  }
  const split = EXTENSION_SEPARATOR.exec(written);
  const numberText = split ? split[1]! : written;
  const extension = split?.[2];
  if (extension !== undefined && !EXTENSION_DIGITS.test(extension)) {
    ctx.addIssue({ code: 'custom', path: ['phone'], message: `the extension after ${EXTENSION_FORMS} must be 1–6 digits` });
    return z.NEVER;
  }
  const parsed = parsePhoneNumberFromString(numberText, region);
  const trailing = split || parsed?.isValid() ? undefined : trailingExtension(written, region);
  const phone = trailing?.phone ?? parsed;
  if (!phone || !phone.isValid()) {
    ctx.addIssue({ code: 'custom', path: ['phone'], message: `not a valid phone number (default region ${region})` });
    return z.NEVER;
  }
  // libphonenumber drops a carrier-selection or IP-dialling prefix (17951, 12341 …) from the front, and
  // one that is no prefix takes the number's own first digit with it: "1234 13962584017" (an extension
  // written first) read as a landline 0396 258 4017, whose owner the relay would ring. The number alone.
  if (phone.carrierCode) {
    ctx.addIssue({ code: 'custom', path: ['phone'], message: 'must be the number alone: no dialling prefix or extension before it' });
    return z.NEVER;
  }
  // libphonenumber reads more forms (",", ";ext=", "extn", "- 808#" …) and would keep a second or
  // overlong extension from us; one grammar, refused otherwise, so no extension is silently lost.
  if (phone.ext) {
    ctx.addIssue({ code: 'custom', path: ['phone'], message: `an extension must follow ${EXTENSION_FORMS}, as 1–6 digits` });
    return z.NEVER;
  }
  const phoneExtension = trailing?.extension ?? extension;
  return { ...party, phone: phone.number as string, ...(phoneExtension !== undefined ? { phoneExtension } : {}) };
});
export type Party = z.infer<typeof Party>;

/**
 * `0571-8888 6666-808`, `17012345678-1234`: a number and its extension after a last `-`, if that is what
 * the text is. After a mobile, 3 digits at least (platforms give 4): one typed too many
 * (`13196258401-7` for 13962584017) would otherwise make another valid number the relay would ring.
 */
function trailingExtension(text: string, region: CountryCode): { phone: PhoneNumber; extension: string } | undefined {
  const parts = TRAILING_EXTENSION.exec(text);
  const phone = parts ? parsePhoneNumberFromString(parts[1]!, region) : undefined;
  if (!phone?.isValid() || phone.ext) return undefined;
  const extension = parts![2]!;
  return LANDLINE_TYPES.has(phone.getType() ?? '') || extension.length >= 3 ? { phone, extension } : undefined;
}

/** The most pieces one waybill may have (one master number, the rest child numbers). */
export const MAX_PIECES = 99;

export const Parcel = z
  .object({
    weightKg: z.number().positive('must be positive').max(1000, 'must be at most 1000 kg'),
    // Each piece is its own label set with its own child number (multi-piece, 子母件); 99 is the most
    // carriers accept on one master waybill.
    pieces: z.number().int('must be a whole number').min(1).max(MAX_PIECES, `must be at most ${MAX_PIECES}: a larger shipment is several waybills`).default(1),
    contents: printableText(40).optional(),
  })
  .strict();
export type Parcel = z.infer<typeof Parcel>;

export const Order = z
  .object({
    orderId: printableId(64),
    carrier: z.enum(CARRIER_CODES),
    service: z.enum(['standard', 'express', 'economy']).default('standard'),
    // Checked against the carrier's own forms below, once the carrier is known.
    waybillNo: z
      .string()
      .describe('a number the carrier issued, in one of its forms (docs/orders.md: Waybill numbers); generated when absent')
      .optional(),
    sender: Party,
    recipient: Party,
    parcel: Parcel,
    // A sorting code, nothing more: a narrow alphabet leaves no room for a name, a phone or a room.
    routingCode: z.string().trim().regex(/^[A-Za-z0-9-]{1,16}$/, 'must be 1–16 ASCII letters, digits or "-"').optional(),
  })
  .strict()
  // zod 4 runs this beside field issues that leave a value (a pattern, a length), so it relies on
  // types only; a waybill number that is no carrier's is refused as such and not screened further.
  .superRefine((o, ctx) => {
    const problem = o.waybillNo === undefined ? undefined : waybillNoProblem(o.carrier, o.waybillNo);
    if (problem) ctx.addIssue({ code: 'custom', path: ['waybillNo'], message: problem });
    for (const issue of screenPrintedText(problem ? { ...o, waybillNo: undefined } : o))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
export type Order = z.infer<typeof Order>;
