// Configuration: read once from the environment, validated, then passed in. Nothing else reads process.env.

import path from 'node:path';
import { z } from 'zod';

const base64Key = z
  .string()
  .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)');

export const Config = z
  .object({
    /** Where the embedded store and its generated key file live. */
    dataDir: z.string().min(1),
    /** The QR codes point here: `<scanBaseUrl>/w/<token>`. */
    scanBaseUrl: z.string().url().refine((u) => /^https?:/.test(u), 'must be an http(s) URL'),
    templatesDir: z.string().min(1),
    masterKey: base64Key.optional(),
    masterKeyId: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1–40 letters, digits, dot, dash or underscore'),
    tokenKey: base64Key.optional(),
  })
  .refine((c) => (c.masterKey === undefined) === (c.tokenKey === undefined), {
    message: 'WAYBILL_MASTER_KEY and WAYBILL_TOKEN_KEY are set together (or neither, for a generated key file)',
    path: ['tokenKey'],
  });
export type Config = z.infer<typeof Config>;

const ENV_NAMES: Record<keyof Config, string> = {
  dataDir: 'WAYBILL_DATA_DIR',
  scanBaseUrl: 'WAYBILL_SCAN_BASE_URL',
  templatesDir: 'WAYBILL_TEMPLATES_DIR',
  masterKey: 'WAYBILL_MASTER_KEY',
  masterKeyId: 'WAYBILL_MASTER_KEY_ID',
  tokenKey: 'WAYBILL_TOKEN_KEY',
};

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = Config.safeParse({
    dataDir: env.WAYBILL_DATA_DIR ?? '.waybill',
    scanBaseUrl: env.WAYBILL_SCAN_BASE_URL ?? 'https://scan.example.com',
    templatesDir: env.WAYBILL_TEMPLATES_DIR ?? path.join(PACKAGE_ROOT, 'templates'),
    masterKey: env.WAYBILL_MASTER_KEY || undefined,
    masterKeyId: env.WAYBILL_MASTER_KEY_ID ?? 'k1',
    tokenKey: env.WAYBILL_TOKEN_KEY || undefined,
  });
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${ENV_NAMES[i.path[0] as keyof Config] ?? 'config'}: ${i.message}`);
    throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}
