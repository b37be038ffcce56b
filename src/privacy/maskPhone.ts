// Masks a phone number for printing on a paper waybill. Templates choose how many leading/trailing
// digits to keep, but the masker enforces the GB/T 41833-2022 floor itself (at least 6 digits and at
// least half of the national number hidden), so no template can print a recognisable number.

import { parsePhoneNumber, type PhoneNumber } from 'libphonenumber-js/max';
import { asMasked, type Masked } from './masked';

export type PhoneMaskRule = { keepFirst: number; keepLast: number };

/** Our default: only the last 4 digits, stricter than the national standard's 138****1234. */
export const DEFAULT_PHONE_MASK: PhoneMaskRule = { keepFirst: 0, keepLast: 4 };

/** GB/T 41833-2022: a masked phone number hides at least this many digits. */
const MIN_HIDDEN_DIGITS = 6;
/** Length of a Chinese mobile national number, the yardstick templates are checked against. */
const CN_MOBILE_DIGITS = 11;

export function maskPhone(e164: string, rule: PhoneMaskRule = DEFAULT_PHONE_MASK): Masked {
  const phone = parse(e164);
  const national = phone.nationalNumber;
  const n = national.length;

  // Hide at least 6 digits and at least half; a number shorter than 6 digits is hidden entirely.
  const minHidden = Math.min(n, Math.max(MIN_HIDDEN_DIGITS, Math.ceil(n / 2)));
  const maxShown = n - minHidden;
  // Trim keepFirst before keepLast: the trailing digits are what people use to recognise a number.
  const keepLast = Math.min(sanitize(rule.keepLast), maxShown);
  const keepFirst = Math.min(sanitize(rule.keepFirst), maxShown - keepLast);

  const masked = national.slice(0, keepFirst) + '*'.repeat(n - keepFirst - keepLast) + national.slice(n - keepLast);
  // Domestic Chinese numbers are printed the way people write them: national digits, no prefix.
  return asMasked(phone.countryCallingCode === '86' ? masked : `+${phone.countryCallingCode} ${masked}`);
}

/**
 * Checks a template's rule against the floor on an 11-digit Chinese mobile number; returns a message
 * for the template author, or null if the rule is acceptable. maskPhone clamps anyway, but a template
 * that asks for more than the law allows should be refused loudly rather than silently overridden.
 */
export function phoneRuleFloorViolation(rule: PhoneMaskRule): string | null {
  for (const key of ['keepFirst', 'keepLast'] as const) {
    const value = rule[key];
    if (!Number.isInteger(value) || value < 0) {
      return `${key} must be a whole number of digits, zero or more (got ${String(value)})`;
    }
  }
  const shown = Math.min(CN_MOBILE_DIGITS, rule.keepFirst + rule.keepLast);
  if (CN_MOBILE_DIGITS - shown >= MIN_HIDDEN_DIGITS) return null;
  return (
    `shows ${shown} of ${CN_MOBILE_DIGITS} digits of a Chinese mobile number; ` +
    `GB/T 41833-2022 requires at least ${MIN_HIDDEN_DIGITS} hidden ` +
    `(keepFirst ${rule.keepFirst} + keepLast ${rule.keepLast} must be at most ${CN_MOBILE_DIGITS - MIN_HIDDEN_DIGITS})`
  );
}

function parse(e164: string): PhoneNumber {
  let phone: PhoneNumber | undefined;
  let reason = 'unrecognised';
  try {
    phone = parsePhoneNumber(e164);
  } catch (error) {
    // libphonenumber's reasons are codes such as TOO_SHORT or INVALID_COUNTRY, never the digits.
    if (error instanceof Error) reason = error.message.replace(/\d/g, '');
  }
  if (!phone) {
    // The message ends up in logs and error pages: it must never echo the number itself.
    throw new Error(`maskPhone: cannot parse the phone number as international format "+<country code><number>" (${reason})`);
  }
  return phone;
}

/** Negative, fractional or NaN keep counts are read as "keep fewer", never more. */
function sanitize(keep: number): number {
  return Number.isNaN(keep) || keep <= 0 ? 0 : Math.floor(keep);
}
