// The pool of virtual relay numbers we own, and how a number + extension is drawn and printed. Pure.
// Pool entries are our own service numbers, not personal data, so error messages may quote them.

import { randomInt } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Lang } from '../privacy/lang';

export interface RelayNumber {
  e164: string;
  region: string; // ISO 3166 region of the number, e.g. 'CN'
  extLength: number; // digits of the extension dialled after the number, 1–4
}

export const DEFAULT_EXT_LENGTH = 4;
export const MAX_EXT_LENGTH = 4;

/**
 * Parses `+8617000001234,+8617000001235/3`: comma-separated E.164 numbers, each with an optional
 * `/N` extension length (1–4, default 4). Blank text is an empty pool (relay numbers not configured).
 */
export function parseRelayPool(text: string): RelayNumber[] {
  if (text.trim() === '') return [];
  const pool: RelayNumber[] = [];
  const seen = new Map<string, number>();
  text.split(',').forEach((raw, i) => {
    const position = i + 1;
    const entry = raw.trim();
    // The entry is not quoted: a phone pasted there by mistake may be a person's.
    const bad = (why: string) => new Error(`relay pool entry ${position}: ${why}`);
    if (entry === '') throw bad('is empty');
    const [numberPart = '', extPart, ...rest] = entry.split('/');
    if (rest.length > 0) throw bad('has more than one "/"');
    let extLength = DEFAULT_EXT_LENGTH;
    if (extPart !== undefined) {
      if (!/^\d+$/.test(extPart.trim())) throw bad('the extension length after "/" must be a number from 1 to 4');
      extLength = Number(extPart.trim());
      if (extLength < 1 || extLength > MAX_EXT_LENGTH) throw bad('the extension length after "/" must be a number from 1 to 4');
    }
    const numberText = numberPart.trim();
    if (!numberText.startsWith('+')) throw bad('must be an E.164 number starting with "+"');
    const phone = parsePhoneNumberFromString(numberText);
    if (!phone || !phone.isValid()) throw bad('is not a valid phone number');
    if (!phone.country) throw bad('is not a number of a single region');
    const first = seen.get(phone.number);
    if (first !== undefined) throw bad(`duplicates entry ${first}`);
    seen.set(phone.number, position);
    pool.push({ e164: phone.number, region: phone.country, extLength });
  });
  return pool;
}

/**
 * The text printed on the label: `170 0000 1234 转 5678` for Chinese mobile-style numbers (3-4-4),
 * other Chinese numbers in national format (`010 1234 5678`, keeps the trunk 0 that 3-4-4 would drop),
 * other regions in international format (`+1 415 555 0100 ext. 5678`). The word follows the language.
 */
export function formatRelay(e164: string, ext: string, lang: Lang): string {
  if (!/^\d{1,4}$/.test(ext)) throw new Error('a relay extension is 1 to 4 digits');
  const number = relayNumberText(e164);
  return lang === 'zh' ? `${number} 转 ${ext}` : `${number} ext. ${ext}`;
}

/** A pool holds a few numbers, each printed on thousands of labels: each is parsed and formatted once. */
const numberTexts = new Map<string, string>();
const MAX_NUMBER_TEXTS = 10_000;

function relayNumberText(e164: string): string {
  let text = numberTexts.get(e164);
  if (text !== undefined) return text;
  const phone = parsePhoneNumberFromString(e164);
  if (!phone || !phone.isValid()) throw new Error(`relay number ${e164} is not a valid phone number`);
  if (phone.countryCallingCode === '86') {
    const n = phone.nationalNumber;
    text = n.length === 11 && n.startsWith('1') ? `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}` : phone.formatNational();
  } else {
    text = phone.formatInternational();
  }
  if (numberTexts.size >= MAX_NUMBER_TEXTS) numberTexts.clear();
  numberTexts.set(e164, text);
  return text;
}

/**
 * A random extension of `length` digits, leading zeros kept ("0042"). Random rather than sequential so
 * that one extension says nothing about the next: nobody can walk neighbouring extensions to reach
 * other buyers.
 */
export function randomExtension(length: number, random: (max: number) => number = randomInt): string {
  if (!Number.isInteger(length) || length < 1 || length > MAX_EXT_LENGTH) throw new Error('a relay extension is 1 to 4 digits');
  const value = random(10 ** length);
  if (!Number.isInteger(value) || value < 0 || value >= 10 ** length) throw new Error(`random source gave ${value}, outside 0..${10 ** length - 1}`);
  return String(value).padStart(length, '0');
}
