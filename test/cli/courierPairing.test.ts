// `waybill couriers pair | devices | revoke-device` from the shell: the code alone on stdout (for a
// script), its link, a terminal QR and its terms on stderr; the device list without credentials;
// revocation with exit codes a script can branch on; issuing and revoking audited, never the code.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EXIT, main } from '../../src/cli';
import { loadConfig } from '../../src/config/config';
import { openServices } from '../../src/wiring';
import { expectAbsent } from '../support/expectAbsent';

describe('waybill couriers pair, devices and revoke-device', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-pairing-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_SCAN_BASE_URL: 'https://scan.example.com/q' };
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  /** A paired device, redeemed as a phone would (through the store, as the API route does). */
  const redeem = async (code: string, name: string) => {
    const services = await openServices(loadConfig(env), () => {});
    try {
      return (await services.couriers.redeem(code, name, new Date()))!;
    } finally {
      await services.close();
    }
  };
  let courier: string;

  beforeAll(async () => {
    const added = await run('couriers', 'add', '--carrier', 'ZT', '--name', 'courier a', '--outlet', 'HZ-XH01', '--device', 'HH-1');
    expect(added.code).toBe(EXIT.ok);
    courier = /^wbc_([a-z2-7]{10})_/.exec(added.out)![1]!;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the code alone on stdout, and its link, a QR and "valid 10 minutes, one use" on stderr', async () => {
    const paired = await run('couriers', 'pair', courier);
    expect(paired.code).toBe(EXIT.ok);
    expect(paired.out).toMatch(/^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
    expect(paired.err).toContain(`https://scan.example.com/courier/#pair=${paired.out}`);
    expect(paired.err).toMatch(/[█▀▄]/); // the terminal QR
    expect(paired.err).toMatch(/valid 10 minutes.*one use/);

    const device = await redeem(paired.out, 'Pixel 7');
    expect(device.courier.id).toBe(courier);
    const list = await run('couriers', 'devices', courier, '--json');
    expect(list.code).toBe(EXIT.ok);
    expect(JSON.parse(list.out)).toEqual([{ id: device.device.id, name: 'Pixel 7', status: 'active', created: expect.any(String), lastUsed: null }]);
    expectAbsent(list.out + list.err, [device.credential, device.credential.slice(15), paired.out], 'devices --json');
    const table = await run('couriers', 'devices', courier);
    expect(table.out.split('\n')[0]).toBe('id\tname\tstatus\tcreated\tlastUsed');

    expect((await run('couriers', 'revoke-device', courier, device.device.id)).code).toBe(EXIT.ok);
    const again = await run('couriers', 'revoke-device', courier, device.device.id);
    expect(again.code).toBe(EXIT.ok);
    expect(again.err).toMatch(/already revoked/);
    expect((await run('couriers', 'devices', courier)).out).toMatch(/\trevoked /);

    const db = new Database(path.join(env.WAYBILL_DATA_DIR, 'waybill.db'), { readonly: true });
    const records = db.prepare("SELECT action, actor, detail FROM audit_log WHERE action IN ('pairing_issue', 'device_revoke') ORDER BY seq").all() as { action: string; actor: string; detail: string }[];
    db.close();
    expect(records.map((r) => [r.action, JSON.parse(r.detail)])).toEqual([
      ['pairing_issue', { courier }],
      ['device_revoke', { courier, device: device.device.id }],
    ]);
    expect(records.every((r) => r.actor.startsWith('cli:'))).toBe(true);
    expectAbsent(JSON.stringify(records), [paired.out, paired.out.replace('-', ''), device.credential], 'audit');
  });

  it('refuses unknown couriers and devices, revoked couriers, and wrong arguments with distinct exit codes', async () => {
    expect((await run('couriers', 'pair', 'aaaaaaaaaa')).code).toBe(EXIT.failure);
    expect((await run('couriers', 'devices', 'aaaaaaaaaa')).code).toBe(EXIT.failure);
    expect((await run('couriers', 'revoke-device', courier, 'aaaaaaaaaa')).code).toBe(EXIT.failure);
    expect((await run('couriers', 'pair')).code).toBe(EXIT.usage);
    expect((await run('couriers', 'revoke-device', courier)).code).toBe(EXIT.usage);

    const kept = await redeem((await run('couriers', 'pair', courier)).out, 'Pixel 8');
    expect((await run('couriers', 'revoke', courier)).code).toBe(EXIT.ok);
    // Its devices are refused with it, and the list says so rather than "active".
    const listed = JSON.parse((await run('couriers', 'devices', courier, '--json')).out) as { id: string; status: string }[];
    expect(listed.find((d) => d.id === kept.device.id)?.status).toMatch(/^refused \(courier revoked \d{4}-/);
    const refused = await run('couriers', 'pair', courier);
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.out).toBe('');
    expect(refused.err).toMatch(/revoked/);
  });

  it('names the new subcommands in its usage', async () => {
    const help = await run('couriers', '--help');
    expect(help.out).toMatch(/couriers pair ID/);
    expect(help.out).toMatch(/revoke-device ID DEVICE/);
  });
});
