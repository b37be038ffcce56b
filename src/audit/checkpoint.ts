// Audit checkpoints: the chain's head (seq, link, record count, time) signed with an Ed25519 key that is
// kept outside the database, written as one JSON line each to files the database host cannot rewrite.
// A verifier then holds the chain to every checkpoint, so truncation, a rolled-back head, a restored
// older database and a consistent rewrite before the last checkpoint all show. Pure: crypto, no I/O.

import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { CheckpointHead } from './auditLog';
import type { CheckpointClaim } from './auditRecord';

/** An Ed25519 key pair that signs checkpoints; `keyId` is the public key's fingerprint. */
export interface CheckpointSigner {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410), so the key can be one base64 value like the others.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// SubjectPublicKeyInfo prefix of a raw 32-byte Ed25519 public key.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The signer for a 32-byte seed (WAYBILL_AUDIT_SIGNING_KEY, or the key file's). */
export function signerFromSeed(seed: Buffer): CheckpointSigner {
  if (seed.length !== 32) throw new Error('an audit signing key is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return { keyId: publicKeyId(publicKey), privateKey, publicKey };
}

/** The raw 32 bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  return (key.export({ format: 'der', type: 'spki' }) as Buffer).subarray(SPKI_ED25519_PREFIX.length);
}

/** A public key's id: the first 16 hex digits of SHA-256 over its raw bytes, so it needs no registry. */
export function publicKeyId(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);
}

/** Public keys from PEM text (one or more `-----BEGIN PUBLIC KEY-----` blocks), or base64 raw keys one a line. */
export function parsePublicKeys(text: string): KeyObject[] {
  const pems = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g);
  const keys = pems
    ? pems.map((pem) => createPublicKey(pem))
    : text
        .split(/\s+/)
        .filter(Boolean)
        .map((b64) => createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, Buffer.from(b64, 'base64')]), format: 'der', type: 'spki' }));
  for (const k of keys) if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 public key');
  return keys;
}

const Line = z
  .object({
    v: z.literal(1),
    seq: z.number().int().min(0),
    link: z.string().regex(/^[0-9a-f]{64}$/),
    count: z.number().int().min(0),
    /** The audit key linking the head record; null while the chain is not keyed. */
    auditKeyId: z.string().nullable(),
    at: z.string().datetime(),
    signer: z.string().regex(/^[0-9a-f]{16}$/),
    /** Raw Ed25519 public key (base64), for convenience: trust comes from a key the verifier already holds. */
    publicKey: z.string(),
    sig: z.string(),
  })
  .strict();
export type Checkpoint = z.infer<typeof Line>;

/** The exact bytes signed: a fixed text, so any language can reproduce them. */
function signedText(c: Omit<Checkpoint, 'sig'>): Buffer {
  return Buffer.from(['waybill-audit-checkpoint/1', c.seq, c.link, c.count, c.auditKeyId ?? '', c.at, c.signer].join('\n'), 'utf8');
}

/** One checkpoint line (no newline) for the head, signed. */
export function checkpointLine(head: CheckpointHead, at: Date, signer: CheckpointSigner): string {
  const body: Omit<Checkpoint, 'sig'> = {
    v: 1,
    seq: head.seq,
    link: head.hash,
    count: head.count,
    auditKeyId: head.keyId ?? null,
    at: at.toISOString(),
    signer: signer.keyId,
    publicKey: rawPublicKey(signer.publicKey).toString('base64'),
  };
  const sig = sign(null, signedText(body), signer.privateKey).toString('base64');
  return JSON.stringify({ ...body, sig });
}

/** Whether a line has a checkpoint's form (its signature unchecked): what a file must hold to be appended to. */
export function isCheckpointLine(text: string): boolean {
  try {
    return Line.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

export type CheckedLines = { ok: true; claims: CheckpointClaim[] } | { ok: false; where: string; message: string };

/**
 * Parses and checks checkpoint lines (`where` names file and line): each must be well formed and signed by
 * one of the trusted public keys. The first refused line fails the lot: a checkpoint that cannot be
 * trusted is reported, never skipped.
 */
export function checkCheckpointLines(lines: readonly { where: string; text: string }[], trusted: readonly KeyObject[]): CheckedLines {
  const byId = new Map(trusted.map((k) => [publicKeyId(k), k] as const));
  const claims: CheckpointClaim[] = [];
  for (const { where, text } of lines) {
    let parsed: Checkpoint;
    try {
      const result = Line.safeParse(JSON.parse(text));
      if (!result.success) return { ok: false, where, message: 'not a checkpoint line' };
      parsed = result.data;
    } catch {
      return { ok: false, where, message: 'not a checkpoint line (no JSON)' };
    }
    const key = byId.get(parsed.signer);
    if (!key) return { ok: false, where, message: `signed by key ${parsed.signer}, which is not a trusted checkpoint key (give its public key with --public-key)` };
    const { sig, ...body } = parsed;
    let good = false;
    try {
      good = verify(null, signedText(body), key, Buffer.from(sig, 'base64'));
    } catch {
      // a malformed signature is a bad one
    }
    if (!good) return { ok: false, where, message: 'bad signature: the checkpoint was altered or forged' };
    claims.push({ seq: parsed.seq, link: parsed.link, count: parsed.count, at: parsed.at, where });
  }
  return { ok: true, claims };
}
