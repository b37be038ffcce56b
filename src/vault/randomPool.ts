// Small random values from a pool filled by the CSPRNG 4 kB at a time. One call into OpenSSL costs about
// 5 µs whatever its size, and every waybill draws a dozen small values (QR token, data key, IVs, copy
// codes); node's own randomUUID pools the same way. Bytes are wiped from the pool as they are handed out.

import { randomBytes as cryptoRandomBytes, randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
/** Larger requests go straight to the CSPRNG: pooling pays only for small ones. */
const MAX_POOLED = 64;

let pool = Buffer.alloc(0);
let offset = 0;

/** `size` cryptographically random bytes, like crypto.randomBytes. */
export function randomBytes(size: number): Buffer {
  if (size > MAX_POOLED) return cryptoRandomBytes(size);
  if (offset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + size));
  pool.fill(0, offset, offset + size);
  offset += size;
  return out;
}
