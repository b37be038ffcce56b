// Keyed hash of a phone number, so the relay can recognise callers (a waybill's parties, couriers' work
// phones) without keeping their numbers.

import { createHmac } from 'node:crypto';

/**
 * HMAC-SHA256 under the token key (Keys.tokenKey) of `phone:<E.164>`, base64url. The prefix keeps a
 * phone's hash apart from a QR token's under the same key; hashes already stored depend on this exact
 * output, so it must not change.
 */
export function phoneHash(e164: string, tokenKey: Buffer): string {
  return createHmac('sha256', tokenKey).update(`phone:${e164}`).digest('base64url');
}
