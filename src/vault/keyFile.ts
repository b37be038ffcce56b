// Where the keys come from: configuration in production; for the embedded default, a key file that is
// generated once with 0600 permissions (and a warning, because a key beside its data protects little).

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config/config';
import { unseal, type KeyRing, type SealedBox } from './sealing';

export interface Keys {
  ring: KeyRing;
  tokenKey: Buffer;
  /** Re-reads the key file (key-file mode), so a running service learns a key added by `keys rotate`. */
  refresh?: () => void;
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
  })
  .strict();

export const KEY_FILE_NAME = 'keys.json';

const keyFilePath = (config: Config) => path.join(config.dataDir, KEY_FILE_NAME);

/** Key-file mode only: adds a new master key and makes it the active one; old keys stay until retired. */
export function addMasterKey(config: Config, id: string): void {
  const file = keyFilePath(config);
  const content = readKeyFileContent(file);
  if (content.masterKeys[id]) throw new Error(`master key ${id} already exists`);
  content.masterKeys[id] = randomBytes(32).toString('base64');
  content.activeKeyId = id;
  writeKeyFile(file, content);
}

/** Key-file mode only: removes a master key that no sealed record needs any more. */
export function removeMasterKey(config: Config, id: string): void {
  const file = keyFilePath(config);
  const content = readKeyFileContent(file);
  if (content.activeKeyId === id) throw new Error(`master key ${id} is the active key`);
  delete content.masterKeys[id];
  writeKeyFile(file, content);
}

/** Writes a sibling file and renames it over the key file, so a crash never leaves half a key file. */
function writeKeyFile(file: string, content: z.infer<typeof KeyFile>): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(temp, file);
}

export function loadKeys(config: Config, warn: (message: string) => void): Keys {
  if (config.masterKey && config.tokenKey) {
    const previous = (config.previousMasterKeys ?? '').split(',').filter(Boolean).map((pair) => pair.split(':') as [string, string]);
    const keys = new Map(previous.map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
    keys.set(config.masterKeyId, Buffer.from(config.masterKey, 'base64'));
    return { ring: { activeKeyId: config.masterKeyId, keys }, tokenKey: Buffer.from(config.tokenKey, 'base64') };
  }
  const file = keyFilePath(config);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const content = {
      version: 1,
      activeKeyId: config.masterKeyId,
      masterKeys: { [config.masterKeyId]: randomBytes(32).toString('base64') },
      tokenKey: randomBytes(32).toString('base64'),
    };
    // 'wx' refuses to overwrite a key file another process just created.
    fs.writeFileSync(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    warn(`generated a local key file ${file} (mode 0600); set WAYBILL_MASTER_KEY and WAYBILL_TOKEN_KEY in production`);
  }
  const loaded: Keys = { ...readKeyFile(file) };
  loaded.refresh = () => {
    loaded.ring = readKeyFile(file).ring;
  };
  return loaded;
}

function readKeyFileContent(file: string): z.infer<typeof KeyFile> {
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) throw new Error(`key file ${file} is readable by others; run: chmod 600 ${file}`);
  const parsed = KeyFile.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`key file ${file} is not a valid key file`);
  return parsed.data;
}

function readKeyFile(file: string): Keys {
  const { activeKeyId, masterKeys, tokenKey } = readKeyFileContent(file);
  const keys = new Map(Object.entries(masterKeys).map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
  if (!keys.has(activeKeyId)) throw new Error(`key file ${file} does not hold its active key ${activeKeyId}`);
  return { ring: { activeKeyId, keys }, tokenKey: Buffer.from(tokenKey, 'base64') };
}
