// Where the keys come from: configuration in production; for the embedded default, a key file that is
// generated once with 0600 permissions (and a warning, because a key beside its data protects little).

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { WaybillError } from '../errors';
import { parseJsonText } from '../validation/jsonText';
import type { Config } from '../config/config';
import type { AuditKeyRing } from '../audit/auditRecord';
import { signerFromSeed, type CheckpointSigner } from '../audit/checkpoint';
import { unseal, type KeyRing, type SealedBox } from './sealing';
import { makeFolders } from '../folders';

export interface Keys {
  ring: KeyRing;
  tokenKey: Buffer;
  /** Re-reads the key file (key-file mode), so a running service learns a key added by `keys rotate`. */
  refresh?: () => void;
  /** Links the audit chain; absent when none is configured (environment without WAYBILL_AUDIT_KEY). */
  audit?: MutableAuditKeyRing;
  /** Signs audit checkpoints; absent when none is configured. */
  auditSigner?: CheckpointSigner;
}

/** An audit key ring that `refresh` updates in place, so every holder sees a rotation. */
export interface MutableAuditKeyRing extends AuditKeyRing {
  activeKeyId: string;
  keys: Map<string, Buffer>;
}

/** Opens a sealed box; a key added by a rotation while this process runs is learned instead of failing. */
export function unsealWithKeys(keys: Keys, box: SealedBox, context: string): Buffer {
  if (!keys.ring.keys.has(box.keyId)) keys.refresh?.();
  return unseal(box, keys.ring, context);
}

const KeyFile = z
  .object({
    version: z.literal(1),
    activeKeyId: z.string(),
    masterKeys: z.record(z.string(), z.string()),
    tokenKey: z.string(),
    // Added by the release that keyed the audit chain; older files get them on first load.
    auditActiveKeyId: z.string().optional(),
    auditKeys: z.record(z.string(), z.string()).optional(),
    /** The Ed25519 seed (base64) that signs audit checkpoints. */
    auditSigningKey: z.string().optional(),
    /** When the audit keys were made (ISO 8601): records appended since are keyed. Older files get it on first load. */
    auditKeyedSince: z.string().optional(),
  })
  .strict();
type KeyFileContent = z.infer<typeof KeyFile>;

export const KEY_FILE_NAME = 'keys.json';

const keyFilePath = (config: Config) => path.join(config.dataDir, KEY_FILE_NAME);

/** Key-file mode only: adds a new master key and makes it the active one; old keys stay until retired. */
export function addMasterKey(config: Config, id: string): void {
  const file = keyFilePath(config);
  const content = readKeyFileContent(file);
  if (content.masterKeys[id]) throw new WaybillError('conflict', `master key ${id} already exists`);
  content.masterKeys[id] = randomBytes(32).toString('base64');
  content.activeKeyId = id;
  writeKeyFile(file, content);
}

/** Key-file mode only: removes a master key that no sealed record needs any more. */
export function removeMasterKey(config: Config, id: string): void {
  const file = keyFilePath(config);
  const content = readKeyFileContent(file);
  if (content.activeKeyId === id) throw new WaybillError('conflict', `master key ${id} is the active key`);
  delete content.masterKeys[id];
  writeKeyFile(file, content);
}

/** Key-file mode only: adds a new audit key and makes it the active one; the older ones stay (their records name them). */
export function addAuditKey(config: Config, id: string): void {
  const file = keyFilePath(config);
  withKeyFileLock(file, () => {
    const content = readKeyFileContent(file);
    if (content.auditKeys?.[id]) throw new WaybillError('conflict', `audit key ${id} already exists`);
    content.auditKeys = { ...content.auditKeys, [id]: randomBytes(32).toString('base64') };
    content.auditActiveKeyId = id;
    writeKeyFile(file, content);
  });
}

/**
 * Runs `fn` holding a lock file beside the key file: two processes upgrading an old key file at once
 * must not each generate an audit key and overwrite the other's (records would name a lost key).
 */
function withKeyFileLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > deadline) throw new Error(`key file lock ${lock} is held; if no waybill process runs, remove it`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Writes a sibling file and renames it over the key file, so a crash never leaves half a key file. */
function writeKeyFile(file: string, content: KeyFileContent): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(temp, file);
}

export function loadKeys(config: Config, warn: (message: string) => void): Keys {
  if (config.masterKey && config.tokenKey) {
    const previous = (config.previousMasterKeys ?? '').split(',').filter(Boolean).map((pair) => pair.split(':') as [string, string]);
    const keys = new Map(previous.map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
    keys.set(config.masterKeyId, Buffer.from(config.masterKey, 'base64'));
    if (!config.auditKey) warn('WAYBILL_AUDIT_KEY is not set: audit records are linked by plain hashes, which a database insider can recompute');
    return { ring: { activeKeyId: config.masterKeyId, keys }, tokenKey: Buffer.from(config.tokenKey, 'base64'), ...auditFromEnv(config) };
  }
  const file = keyFilePath(config);
  if (!fs.existsSync(file)) {
    makeFolders(config.dataDir, 0o700);
    const content = {
      version: 1,
      activeKeyId: config.masterKeyId,
      masterKeys: { [config.masterKeyId]: randomBytes(32).toString('base64') },
      tokenKey: randomBytes(32).toString('base64'),
      ...newAuditKeys(config),
    };
    // 'wx' refuses to overwrite a key file another process just created.
    fs.writeFileSync(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    warn(`generated a local key file ${file} (mode 0600); set WAYBILL_MASTER_KEY and WAYBILL_TOKEN_KEY in production`);
  }
  // A key file from before the keyed audit chain gets its audit keys now (once, under a lock).
  const before = readKeyFileContent(file);
  if (!before.auditKeys || !before.auditSigningKey || !before.auditKeyedSince) {
    withKeyFileLock(file, () => {
      const content = readKeyFileContent(file);
      const added = newAuditKeys(config);
      if (!content.auditKeys || !content.auditActiveKeyId) Object.assign(content, { auditActiveKeyId: added.auditActiveKeyId, auditKeys: added.auditKeys });
      content.auditSigningKey ??= added.auditSigningKey;
      // A file keyed by an earlier release: its chain is keyed already, so from now on is safe to claim.
      content.auditKeyedSince ??= added.auditKeyedSince;
      writeKeyFile(file, content);
    });
  }
  const fromEnv = auditFromEnv(config);
  const loaded: Keys = { ...readKeyFile(file), ...fromEnv };
  loaded.refresh = () => {
    const again = readKeyFile(file);
    loaded.ring = again.ring;
    // In place: the audit log holds this ring object.
    if (!fromEnv.audit && loaded.audit && again.audit) {
      loaded.audit.activeKeyId = again.audit.activeKeyId;
      loaded.audit.keys = again.audit.keys;
      loaded.audit.keyedSince = again.audit.keyedSince;
    }
  };
  if (loaded.audit) loaded.audit.refresh = () => loaded.refresh!();
  return loaded;
}

function newAuditKeys(config: Config): Pick<KeyFileContent, 'auditActiveKeyId' | 'auditKeys' | 'auditSigningKey' | 'auditKeyedSince'> {
  return {
    auditActiveKeyId: config.auditKeyId,
    auditKeys: { [config.auditKeyId]: randomBytes(32).toString('base64') },
    auditSigningKey: randomBytes(32).toString('base64'),
    auditKeyedSince: new Date().toISOString(),
  };
}

/** Audit key and checkpoint signer from the environment, where set (they then win over the key file's). */
function auditFromEnv(config: Config): Pick<Keys, 'audit' | 'auditSigner'> {
  const out: Pick<Keys, 'audit' | 'auditSigner'> = {};
  if (config.auditKey) {
    const previous = (config.previousAuditKeys ?? '').split(',').filter(Boolean).map((pair) => pair.split(':') as [string, string]);
    const keys = new Map(previous.map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
    keys.set(config.auditKeyId, Buffer.from(config.auditKey, 'base64'));
    out.audit = { activeKeyId: config.auditKeyId, keys };
  }
  if (config.auditSigningKey) out.auditSigner = signerFromSeed(Buffer.from(config.auditSigningKey, 'base64'));
  return out;
}

function readKeyFileContent(file: string): KeyFileContent {
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) throw new WaybillError('bad_config', `key file ${file} is readable by others; run: chmod 600 ${file}`);
  // Where it is broken, never what is there: the file holds the keys.
  const json = parseJsonText(fs.readFileSync(file, 'utf8'));
  if (!json.ok) throw new WaybillError('bad_config', `key file ${file}: ${json.why}`);
  const parsed = KeyFile.safeParse(json.value);
  if (!parsed.success) throw new WaybillError('bad_config', `key file ${file} is not a valid key file`);
  return parsed.data;
}

function readKeyFile(file: string): Keys {
  const { activeKeyId, masterKeys, tokenKey, auditActiveKeyId, auditKeys, auditSigningKey, auditKeyedSince } = readKeyFileContent(file);
  const keys = new Map(Object.entries(masterKeys).map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
  if (!keys.has(activeKeyId)) throw new WaybillError('bad_config', `key file ${file} does not hold its active key ${activeKeyId}`);
  const loaded: Keys = { ring: { activeKeyId, keys }, tokenKey: Buffer.from(tokenKey, 'base64') };
  if (auditKeys && auditActiveKeyId) {
    const audit = new Map(Object.entries(auditKeys).map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
    if (!audit.has(auditActiveKeyId)) throw new WaybillError('bad_config', `key file ${file} does not hold its active audit key ${auditActiveKeyId}`);
    loaded.audit = { activeKeyId: auditActiveKeyId, keys: audit, ...(auditKeyedSince ? { keyedSince: auditKeyedSince } : {}) };
  }
  if (auditSigningKey) loaded.auditSigner = signerFromSeed(Buffer.from(auditSigningKey, 'base64'));
  return loaded;
}
