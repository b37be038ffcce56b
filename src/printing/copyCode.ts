// Copy codes: short random codes printed on every copy. The store maps each to its waybill, copy,
// print count and print job, so a photo of any copy leads back to where and when it was printed.

import { randomBytes } from '../vault/randomPool';

// Crockford's base32: no I, L, O or U, so a code read aloud or from a blurry photo stays unambiguous.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 8 characters = 40 random bits, shown as XXXX-XXXX. */
export function newCopyCode(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let code = '';
  for (let i = 0; i < 8; i++) code = ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)] + code;
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export function normaliseCopyCode(input: string): string {
  const clean = input.toUpperCase().replace(/[^0-9A-Z]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  return clean.length === 8 ? `${clean.slice(0, 4)}-${clean.slice(4)}` : clean;
}
