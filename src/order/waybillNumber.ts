// Waybill numbers: carrier prefix + 12 random digits + a Luhn check digit, so a mistyped number is
// caught at the counter. Uniqueness is the store's job (a UNIQUE constraint), not probability's.

import { randomInt } from 'node:crypto';
import type { CarrierCode } from './carriers';

const BODY_DIGITS = 12;

export function generateWaybillNo(carrier: CarrierCode, random: (max: number) => number = randomInt): string {
  let body = String(1 + random(9)); // no leading zero, so the digit count is stable
  while (body.length < BODY_DIGITS) body += String(random(10));
  return `${carrier}${body}${luhnCheckDigit(body)}`;
}

export function luhnCheckDigit(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Double every second digit counting from the right of the body (the check digit goes after it).
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

export function hasValidCheckDigit(waybillNo: string): boolean {
  const digits = waybillNo.replace(/^[A-Z]+/, '');
  return digits.length > 1 && luhnCheckDigit(digits.slice(0, -1)) === Number(digits.slice(-1));
}
