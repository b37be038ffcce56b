// Bearer credentials: `<kind>_<id>_<secret>` (wbc for couriers, wbd for a courier's paired device, wbt for
// telephony clients, wbk for API keys). The id says which row to check, the secret proves possession.
// Only a hash of the secret is stored; the full text is shown once, at issue.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WaybillError } from '../errors';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_LENGTH = 10; // 50 random bits: enough to keep ids of one deployment apart; ids are not secret
const SECRET_BYTES = 32;

// 32 bytes are 43 base64url characters; the last one carries 4 bits, so only 16 characters can end a
// canonical encoding. Refusing the rest keeps one text per secret.
const CREDENTIAL = /^(wbc|wbd|wbt|wbk)_([a-z2-7]{10})_([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export type CredentialKind = 'wbc' | 'wbd' | 'wbt' | 'wbk';

export function newCredentialId(): string {
  // 256 is a multiple of 32, so masking a random byte to 5 bits is unbiased.
  return Array.from(randomBytes(ID_LENGTH), (b) => BASE32[b & 31]).join('');
}

/** A fresh credential for `courierId`: the text to hand over once, and the hash to store. */
export function newCredential(courierId: string, kind: CredentialKind = 'wbc'): { credential: string; secretHash: Buffer } {
  if (!/^[a-z2-7]{10}$/.test(courierId)) throw new Error('not a credential id');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { credential: `${kind}_${courierId}_${secret}`, secretHash: hashSecret(secret) };
}

/** Splits a credential text; anything not exactly in the issued format is undefined. */
export function parseCredential(text: string, kind: CredentialKind = 'wbc'): { id: string; secret: string } | undefined {
  const m = CREDENTIAL.exec(text);
  return m && m[1] === kind ? { id: m[2]!, secret: m[3]! } : undefined;
}

/**
 * SHA-256 of the secret text. A fast hash is sound here, unlike for passwords: the secret is 256 random
 * bits, so a stolen hash cannot be reversed by guessing, however fast each guess is. A slow KDF would
 * only make every scan request slower.
 */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const presented = hashSecret(secret);
  // timingSafeEqual throws on different lengths; a stored hash is always 32 bytes, so this only guards corruption.
  return presented.length === storedHash.length && timingSafeEqual(presented, storedHash);
}

/**
 * What binds a credential's row to the authority it grants: HMAC-SHA256, under a key the database never
 * holds (the token key), of the credential's kind, id, authority (role, client, carrier, courier …) and
 * secret hash. Someone who can only write the database cannot make a row that opens anything: not a new
 * key, not a key moved to another client or role, not a revoked or suspended one made live again (those
 * lose their binding, and only the service gives it back). Without a key (some tests), an empty one.
 */
export function credentialBinding(key: Buffer | undefined, kind: CredentialKind, id: string, authority: readonly (string | null)[], secretHash: Buffer): Buffer {
  return rowBinding(key, 'credential-row', [kind, id, ...authority], secretHash);
}

/**
 * The HMAC-SHA256 every row binding is (credentials here, waybill states, relay terms): under the token key,
 * of what the row is (`label`), its fields as JSON and, for a credential, its secret's hash.
 */
export function rowBinding(key: Buffer | undefined, label: string, fields: readonly unknown[], secretHash?: Buffer): Buffer {
  const mac = createHmac('sha256', key ?? Buffer.alloc(0)).update(`${label}\0${JSON.stringify(fields)}`);
  if (secretHash) mac.update('\0').update(secretHash);
  return mac.digest();
}

/** A check of every bound row of a kind: how many, and the ids of those rewritten outside the service (the first thousand). */
export interface RowCheck {
  checked: number;
  rewritten: string[];
  /** Rewritten rows beyond those listed. */
  more: number;
}

/** `rows` added to a check (a fresh one by default): each counted, each whose binding does not hold listed by id. */
export function checkRows<R extends { id: string }>(rows: readonly R[], holds: (row: R) => boolean, found: RowCheck = { checked: 0, rewritten: [], more: 0 }, keep = 1000): RowCheck {
  for (const r of rows) {
    if (holds(r)) continue;
    if (found.rewritten.length < keep) found.rewritten.push(r.id);
    else found.more++;
  }
  found.checked += rows.length;
  return found;
}

/** Told of a credential refused because its row no longer matches its binding: which kind, which id. */
export type CredentialTampered = (what: 'api key' | 'courier' | 'device' | 'telephony client', id: string) => Promise<void>;

/** Whether a stored binding is the one the row's fields call for (constant time). */
export function bindingHolds(stored: Buffer | null | undefined, expected: Buffer): boolean {
  return !!stored && stored.length === expected.length && timingSafeEqual(stored, expected);
}

/** The state a credential row's binding covers: a suspension changes it, so lifting one needs the service. */
export type BoundState = 'live' | 'suspended';

/**
 * Whether a credential's row is as the service left it. A revoked one grants nothing and keeps no binding;
 * a live one needs its live binding (a suspended one's, or none, means someone lifted the suspension or
 * the revocation in the database); a suspended one either binding, as an earlier release kept the live
 * one through a suspension.
 */
export function rowIntact(row: { revokedAt?: string; suspendedAt?: string; binding: Buffer | null }, bindingFor: (state: BoundState) => Buffer): boolean {
  if (row.revokedAt) return true;
  const live = bindingHolds(row.binding, bindingFor('live'));
  return row.suspendedAt ? live || bindingHolds(row.binding, bindingFor('suspended')) : live;
}

/**
 * The live binding a reinstatement gives a suspended row back; a `conflict` (and `tampered` told) for a row
 * changed outside the service, which only a revocation and a new credential mend.
 */
export async function reinstatedBinding(
  what: Parameters<CredentialTampered>[0],
  row: { id: string; revokedAt?: string; suspendedAt?: string; binding: Buffer | null },
  bindingFor: (state: BoundState) => Buffer,
  tampered: CredentialTampered,
): Promise<Buffer> {
  if (!rowIntact(row, bindingFor)) {
    await tampered(what, row.id);
    throw new WaybillError('conflict', `this ${what} was changed outside the service and cannot be reinstated: revoke it and add a new one`);
  }
  return bindingFor('live');
}
