// One configuration for the server and every command: the data directory's waybill.config.json, under
// the environment. `waybill init --demo` writes the quick start's demo relay pool there, so the CLI sees
// the pool the server uses.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';
import { loadConfig } from '../../src/config/config';

function workspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-config-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data') };
  const run = async (argv: string[], extra: NodeJS.ProcessEnv = {}) => {
    const lines: string[] = [];
    const code = await main(argv, (l) => lines.push(l), { ...env, ...extra });
    return { code, out: lines.join('\n') };
  };
  return { dir, env, run, file: path.join(env.WAYBILL_DATA_DIR, 'waybill.config.json') };
}

describe('the settings file in the data directory', () => {
  it('is written once by init --demo, and the CLI then sees the relay pool the server uses', async () => {
    const w = workspace();
    expect((await w.run(['relay', 'pool'])).out).toMatch(/no relay pool configured/);
    expect((await w.run(['init', '--demo'])).code).toBe(EXIT.ok);
    expect(JSON.parse(fs.readFileSync(w.file, 'utf8'))).toEqual({ WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002' });
    expect(fs.statSync(w.file).mode & 0o777).toBe(0o600);
    expect((await w.run(['relay', 'pool'])).out).toMatch(/^\+8617000000001\t10000\t0\t0\t0\.0 %$/m);
    expect(loadConfig(w.env).relay.numbers).toBe('+8617000000001,+8617000000002');

    // A second init leaves an edited file alone.
    fs.writeFileSync(w.file, JSON.stringify({ WAYBILL_RELAY_NUMBERS: '+8617000000009', WAYBILL_SCAN_PER_MINUTE: 12 }));
    expect(await w.run(['init', '--demo'])).toMatchObject({ code: EXIT.ok, out: expect.stringMatching(/kept .*waybill\.config\.json: it is there already, and is never overwritten \(no demo relay pool was added\)/) });
    expect(loadConfig(w.env).relay.numbers).toBe('+8617000000009');
    expect(loadConfig(w.env).scan.perMinute).toBe(12);
  });

  it('yields to the environment', () => {
    const w = workspace();
    fs.mkdirSync(w.env.WAYBILL_DATA_DIR, { recursive: true });
    fs.writeFileSync(w.file, JSON.stringify({ WAYBILL_SCAN_PER_MINUTE: 12, WAYBILL_PORT: 9000 }));
    const config = loadConfig({ ...w.env, WAYBILL_SCAN_PER_MINUTE: '7' });
    expect(config.scan.perMinute).toBe(7);
    expect(config.http.port).toBe(9000);
  });

  it('reads a file saved with a byte order mark, and names where a syntax error is', () => {
    const w = workspace();
    fs.mkdirSync(w.env.WAYBILL_DATA_DIR, { recursive: true });
    fs.writeFileSync(w.file, '\uFEFF' + JSON.stringify({ WAYBILL_SCAN_PER_MINUTE: 12 }));
    expect(loadConfig(w.env).scan.perMinute).toBe(12);
    fs.writeFileSync(w.file, '{\n  "WAYBILL_SCAN_PER_MINUTE": 12,\n}\n');
    expect(() => loadConfig(w.env)).toThrow(/waybill\.config\.json: not valid JSON at line 3, column 1$/);
  });

  it.each([
    ['an unknown setting, named so the typo is found', { WAYBILL_RELAY_NUMBRS: 'x' }, /waybill\.config\.json: unknown setting WAYBILL_RELAY_NUMBRS \(did you mean WAYBILL_RELAY_NUMBERS\?\)/],
    ['a value pasted as a name, counted but never shown', { '+8617000001234': 'x', 'pbx secret Zm9vYmFy': 1 }, /unknown setting 2 name\(s\) that are no setting's \(not shown/],
    ['a value that is not a string, number or boolean', { WAYBILL_PORT: [1] }, /waybill\.config\.json: must be one JSON object/],
    ['a bad value, named by its setting', { WAYBILL_SCAN_PER_MINUTE: -1 }, /WAYBILL_SCAN_PER_MINUTE: /],
  ])('refuses %s', async (_what, content, message) => {
    const w = workspace();
    fs.mkdirSync(w.env.WAYBILL_DATA_DIR, { recursive: true });
    fs.writeFileSync(w.file, JSON.stringify(content));
    const { code, out } = await w.run(['relay', 'pool']);
    expect(code).not.toBe(EXIT.ok);
    expect(out).toMatch(message);
    for (const name of Object.keys(content)) if (!name.startsWith('WAYBILL_')) expect(out).not.toContain(name);
  });
});

describe('settings in the environment', () => {
  it('take a blank value as unset: its default, never 0', () => {
    const w = workspace();
    const config = loadConfig({ ...w.env, WAYBILL_AUDIT_CHECKPOINT_MINUTES: '', WAYBILL_RETENTION_GRACE_DAYS: ' ', WAYBILL_PORT: '' });
    const defaults = loadConfig(w.env);
    expect([config.auditCheckpointMinutes, config.retentionGraceDays, config.http.port]).toEqual([defaults.auditCheckpointMinutes, defaults.retentionGraceDays, defaults.http.port]);
    expect(config.retentionGraceDays).toBeGreaterThan(0);
  });

  it('read numbers written in decimal, spaces around them aside', () => {
    const config = loadConfig({ ...workspace().env, WAYBILL_SCAN_PER_MINUTE: ' 12 ', WAYBILL_RELAY_CLIENT_SHARE: '0.25' });
    expect([config.scan.perMinute, config.relay.clientShare]).toEqual([12, 0.25]);
  });

  it.each([
    ['a relay pool entry that is no E.164 number, named by position, never quoted (it may be a person’s phone)', { WAYBILL_RELAY_NUMBERS: '13962584017' }, /^waybill: invalid configuration:\n {2}WAYBILL_RELAY_NUMBERS: relay pool entry 1: must be an E\.164 number/],
    ['a scan address with a password, which every QR code would print', { WAYBILL_SCAN_BASE_URL: 'https://user:secret@scan.example.com' }, /WAYBILL_SCAN_BASE_URL: must hold no user, password, query or fragment/],
    ['a scan address with a fragment, which would cut the token off', { WAYBILL_SCAN_BASE_URL: 'https://scan.example.com/p#x' }, /WAYBILL_SCAN_BASE_URL: must hold no user, password, query or fragment/],
    ['a proxy range of every address', { WAYBILL_TRUST_PROXY: '0.0.0.0/0' }, /WAYBILL_TRUST_PROXY: must be a hop count or/],
    ['an IPv6 range of every address', { WAYBILL_TRUST_PROXY: 'loopback, ::/0' }, /WAYBILL_TRUST_PROXY: must be a hop count or/],
    ['a number in hexadecimal', { WAYBILL_SCAN_PER_MINUTE: '0x1e' }, /WAYBILL_SCAN_PER_MINUTE: must be a number/],
    ['a number with an exponent', { WAYBILL_RETENTION_GRACE_DAYS: '7e1' }, /WAYBILL_RETENTION_GRACE_DAYS: must be a number/],
    ['a number with letters after it', { WAYBILL_PORT: '8080abc' }, /WAYBILL_PORT: must be a number/],
  ])('refuse %s (exit 78)', async (_what, env, message) => {
    const w = workspace();
    const { code, out } = await w.run(['relay', 'pool'], env);
    expect(code).toBe(EXIT.config);
    expect(out).toMatch(message);
    for (const value of Object.values(env)) expect(out).not.toContain(value);
  });
});
