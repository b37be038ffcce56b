import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { loadKeys } from '../../src/vault/keyFile';

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

  it('takes keys from configuration when given, without writing a file', () => {
    const dir = tempDir();
    const key = Buffer.alloc(32, 7).toString('base64');
    const keys = loadKeys(loadConfig({ WAYBILL_DATA_DIR: dir, WAYBILL_MASTER_KEY: key, WAYBILL_TOKEN_KEY: key, WAYBILL_MASTER_KEY_ID: '2026-11' }), () => {});
    expect(keys.ring.activeKeyId).toBe('2026-11');
    expect(fs.existsSync(path.join(dir, 'keys.json'))).toBe(false);
  });

  it('names the variable of a bad configuration', () => {
    expect(() => loadConfig({ WAYBILL_MASTER_KEY: 'short' })).toThrow(/WAYBILL_MASTER_KEY: must be 32 bytes/);
    expect(() => loadConfig({ WAYBILL_SCAN_BASE_URL: 'not a url' })).toThrow(/WAYBILL_SCAN_BASE_URL/);
  });
});
