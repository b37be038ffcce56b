// Envelope encryption of a waybill's personal data: each waybill gets its own random data key
// (AES-256-GCM); the data key is stored wrapped by a master key named by id. Destroying the wrapped
// key crypto-shreds the record; rotating the master key only re-wraps data keys.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomBytes } from './randomPool';

export interface KeyRing {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>; // master keys by id, 32 bytes each
}

export interface SealedBox {
  keyId: string; // master key that wrapped the data key
  wrappedKey: Buffer; // iv | tag | encrypted data key
  ciphertext: Buffer; // iv | tag | encrypted payload
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(plaintext: Buffer, ring: KeyRing, context: string): SealedBox {
  const dataKey = randomBytes(32);
  try {
    return {
      keyId: ring.activeKeyId,
      wrappedKey: encrypt(masterKey(ring, ring.activeKeyId), dataKey, `key:${context}`),
      ciphertext: encrypt(dataKey, plaintext, `data:${context}`),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Opens a box; `context` must be the one it was sealed with (binds a box to its waybill). */
export function unseal(box: SealedBox, ring: KeyRing, context: string): Buffer {
  const dataKey = decrypt(masterKey(ring, box.keyId), box.wrappedKey, `key:${context}`);
  try {
    return decrypt(dataKey, box.ciphertext, `data:${context}`);
  } finally {
    dataKey.fill(0);
  }
}

function masterKey(ring: KeyRing, id: string): Buffer {
  const key = ring.keys.get(id);
  if (!key) throw new Error(`master key ${id} is not configured`);
  return key;
}

function encrypt(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function decrypt(key: Buffer, sealed: Buffer, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** Re-wraps a box's data key under the ring's active master key; the payload is not touched. */
export function rewrap(box: SealedBox, ring: KeyRing, context: string): SealedBox {
  const dataKey = decrypt(masterKey(ring, box.keyId), box.wrappedKey, `key:${context}`);
  try {
    return { ...box, keyId: ring.activeKeyId, wrappedKey: encrypt(masterKey(ring, ring.activeKeyId), dataKey, `key:${context}`) };
  } finally {
    dataKey.fill(0);
  }
}
