// Waybill numbers in each carrier's own form (carriers.ts): generated when an order brings none, checked
// when a client brings one. Only published check digits are computed (UPU S10 for EMS); a wrong guess
// at a carrier's private scheme would refuse its real numbers. Uniqueness is the store's job (a UNIQUE
// constraint), not probability's.

import { randomInt } from 'node:crypto';
import { CARRIERS, type CarrierCode, type CheckDigitRule } from './carriers';

export function generateWaybillNo(carrier: CarrierCode, random: (max: number) => number = randomInt): string {
  const { prefix, randomDigits, checkDigit, suffix = '' } = CARRIERS[carrier].waybill.issued;
  let digits = '';
  while (digits.length < randomDigits) digits += String(random(10));
  return `${prefix}${digits}${checkDigit ? CHECK_DIGITS[checkDigit].compute(digits) : ''}${suffix}`;
}

/** Why a client-supplied number is not one of the carrier's, as a message without the number; undefined when it is. */
export function waybillNoProblem(carrier: CarrierCode, waybillNo: string): string | undefined {
  const { latinName, waybill } = CARRIERS[carrier];
  const form = waybill.forms.find((f) => f.pattern.test(waybillNo));
  if (!form) return `must be a waybill number of ${latinName}: ${waybill.forms.map((f) => f.shape).join(', or ')}`;
  if (form.checkDigit && !CHECK_DIGITS[form.checkDigit].valid(waybillNo)) return `check digit does not match (${CHECK_DIGITS[form.checkDigit].name})`;
  return undefined;
}

interface CheckDigitAlgorithm {
  name: string;
  /** The check digit for the digits it protects. */
  compute(digits: string): string;
  /** Whether a whole number (already matching its form's pattern) carries the right check digit. */
  valid(waybillNo: string): boolean;
}

const CHECK_DIGITS: Record<CheckDigitRule, CheckDigitAlgorithm> = {
  'upu-s10': {
    name: 'UPU S10',
    compute: s10CheckDigit,
    // AA 12345678 C CC: the serial is characters 3–10, the check digit the 11th.
    valid: (no) => s10CheckDigit(no.slice(2, 10)) === no.charAt(10),
  },
};

const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7] as const;

/** UPU S10: 11 − (Σ serial digit × weight mod 11), where 10 becomes 0 and 11 becomes 5. */
export function s10CheckDigit(serial: string): string {
  if (!/^\d{8}$/.test(serial)) throw new Error('an S10 serial is 8 digits');
  const sum = S10_WEIGHTS.reduce((acc, w, i) => acc + w * Number(serial[i]), 0);
  const check = 11 - (sum % 11);
  return String(check === 10 ? 0 : check === 11 ? 5 : check);
}
