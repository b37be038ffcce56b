import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { loadKeys } from '../../src/vault/keyFile';
import { EXIT, main } from '../../src/cli';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-keys-'));

describe('keys', () => {
  it('generates a 0600 key file for the embedded default, with a warning, and reuses it', () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const config = loadConfig({ WAYBILL_DATA_DIR: dir });
    const first = loadKeys(config, (w) => warnings.push(w));
    expect(warnings).toHaveLength(1);
    expect(fs.statSync(path.join(dir, 'keys.json')).mode & 0o777).toBe(0o600);
    const again = loadKeys(config, (w) => warnings.push(w));
    expect(warnings).toHaveLength(1);
    expect(again.ring.keys.get('k1')!.equals(first.ring.keys.get('k1')!)).toBe(true);
  });

  it('refuses a key file others can read', () => {
    const dir = tempDir();
    const config = loadConfig({ WAYBILL_DATA_DIR: dir });
    loadKeys(config, () => {});
    fs.chmodSync(path.join(dir, 'keys.json'), 0o644);
    expect(() => loadKeys(config, () => {})).toThrow(/chmod 600/);
  });

  it('names where a damaged key file is broken, never what it holds, as a configuration error (exit 78)', async () => {
    const dir = tempDir();
    const config = loadConfig({ WAYBILL_DATA_DIR: dir });
    loadKeys(config, () => {});
    const file = path.join(dir, 'keys.json');
    const text = fs.readFileSync(file, 'utf8');
    const tokenKey = (JSON.parse(text) as { tokenKey: string }).tokenKey;
    fs.writeFileSync(file, text.replace('"tokenKey": "', '"tokenKey": \''));
    expect(() => loadKeys(config, () => {})).toThrow(expect.objectContaining({ code: 'bad_config', message: expect.stringMatching(/keys\.json: not valid JSON at line \d+, column \d+$/) }));
    const lines: string[] = [];
    expect(await main(['relay', 'pool'], (l) => lines.push(l), { WAYBILL_DATA_DIR: dir })).toBe(EXIT.config);
    expect(lines.join('\n')).toMatch(/keys\.json: not valid JSON at line/);
    for (const part of [tokenKey.slice(0, 6), tokenKey.slice(-6)]) expect(lines.join('\n')).not.toContain(part);
  });

  it('takes keys from configuration when given, without writing a file', () => {
    const dir = tempDir();
    const key = randomBytes(32).toString('base64');
    const keys = loadKeys(loadConfig({ WAYBILL_DATA_DIR: dir, WAYBILL_MASTER_KEY: key, WAYBILL_TOKEN_KEY: key, WAYBILL_MASTER_KEY_ID: '2026-11' }), () => {});
    expect(keys.ring.activeKeyId).toBe('2026-11');
    expect(fs.existsSync(path.join(dir, 'keys.json'))).toBe(false);
  });

  it('names the variable of a bad configuration', () => {
    expect(() => loadConfig({ WAYBILL_MASTER_KEY: 'short' })).toThrow(/WAYBILL_MASTER_KEY: must be 32 bytes/);
    // Typed, not drawn: all zeros, one byte repeated, junk after the key.
    const random = randomBytes(32).toString('base64');
    expect(() => loadConfig({ WAYBILL_MASTER_KEY: 'A'.repeat(43) + '=', WAYBILL_TOKEN_KEY: random })).toThrow(/WAYBILL_MASTER_KEY: must be random bytes/);
    expect(() => loadConfig({ WAYBILL_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), WAYBILL_TOKEN_KEY: random })).toThrow(/WAYBILL_MASTER_KEY: must be random bytes/);
    expect(() => loadConfig({ WAYBILL_MASTER_KEY: random + 'junk', WAYBILL_TOKEN_KEY: random })).toThrow(/WAYBILL_MASTER_KEY: must be 32 bytes/);
    expect(() => loadConfig({ WAYBILL_SCAN_BASE_URL: 'not a url' })).toThrow(/WAYBILL_SCAN_BASE_URL/);
  });
});
