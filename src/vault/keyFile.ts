// Where the keys come from: configuration in production; for the embedded default, a key file that is
// generated once with 0600 permissions (and a warning, because a key beside its data protects little).

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config/config';
import type { KeyRing } from './sealing';

export interface Keys {
  ring: KeyRing;
  tokenKey: Buffer;
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

export function loadKeys(config: Config, warn: (message: string) => void): Keys {
  if (config.masterKey && config.tokenKey) {
    return {
      ring: { activeKeyId: config.masterKeyId, keys: new Map([[config.masterKeyId, Buffer.from(config.masterKey, 'base64')]]) },
      tokenKey: Buffer.from(config.tokenKey, 'base64'),
    };
  }
  const file = path.join(config.dataDir, KEY_FILE_NAME);
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
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) throw new Error(`key file ${file} is readable by others; run: chmod 600 ${file}`);
  const parsed = KeyFile.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`key file ${file} is not a valid key file`);
  const { activeKeyId, masterKeys, tokenKey } = parsed.data;
  const keys = new Map(Object.entries(masterKeys).map(([id, k]) => [id, Buffer.from(k, 'base64')] as const));
  if (!keys.has(activeKeyId)) throw new Error(`key file ${file} does not hold its active key ${activeKeyId}`);
  return { ring: { activeKeyId, keys }, tokenKey: Buffer.from(tokenKey, 'base64') };
}
