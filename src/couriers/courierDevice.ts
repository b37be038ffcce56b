// A courier's paired handheld: its own credential (wbd_), revocable alone, so a lost phone costs one
// device and not the courier's identity. A device is paired by a short one-use code an operator issues
// (`waybill couriers pair`, POST /v1/couriers/{id}/pairings) and the courier types or scans on the phone.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { printableText } from '../validation/printableText';

export interface CourierDevice {
  id: string;
  courierId: string;
  /** The device's label as its courier named it ("Pixel 7"): not personal data, not secret. */
  name: string;
  createdAt: string; // ISO 8601
  /** Permanent, like a courier's revocation: a lost phone is paired afresh. */
  revokedAt?: string;
  /** Updated at most once per DEVICE_TOUCH_MS, so scans do not write on every request. */
  lastUsedAt?: string;
}

export const DeviceName = printableText(40).describe("the device's label, e.g. its model (1–40 printable characters)");

/** How long a pairing code may be redeemed, and how many unrevoked devices one courier may have. */
export const PAIRING_MINUTES = 10;
export const MAX_DEVICES = 3;
export const DEVICE_TOUCH_MS = 3_600_000;

// No 0/O, 1/I: a code read off a screen and typed on a phone keyboard. 32 symbols, so a masked random
// byte is unbiased; 8 of them are 40 bits, against an online guesser throttled per address and a code
// that lives 10 minutes and works once.
const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const CODE_LENGTH = 8;
const CODE = new RegExp(`^[${ALPHABET}]{${CODE_LENGTH}}$`);

/** A fresh pairing code, as shown: `XXXX-XXXX`. */
export function newPairingCode(): string {
  const raw = Array.from(randomBytes(CODE_LENGTH), (b) => ALPHABET[b & 31]).join('');
  return `${raw.slice(0, 4)}-${raw.slice(4)}`;
}

/** A typed code as issued (upper case; spaces and hyphens dropped), or undefined when it cannot be one. */
export function normalisePairingCode(text: string): string | undefined {
  const raw = text.toUpperCase().replace(/[\s-]/g, '');
  return CODE.test(raw) ? raw : undefined;
}

/**
 * What is stored of a code: its HMAC under a key held outside the database (the token key), so someone
 * holding the table cannot search the 40 bits offline and redeem a live code first. Without a key (a
 * store opened by a tool that never pairs) its SHA-256. The code never reaches the database or a log.
 */
export function hashPairingCode(normalised: string, key?: Buffer): string {
  const input = `pairing:${normalised}`;
  return (key ? createHmac('sha256', key).update(input, 'utf8') : createHash('sha256').update(input, 'utf8')).digest('hex');
}

/**
 * Where the courier app takes the code: the scan host's origin, the code in the fragment, which a
 * browser never sends, so it reaches no server or proxy log.
 */
export function pairUrl(scanBaseUrl: string, code: string): string {
  return `${new URL(scanBaseUrl).origin}/courier/#pair=${code}`;
}
