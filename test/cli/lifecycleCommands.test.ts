import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EXIT, main } from '../../src/cli';

const ROOT = path.join(__dirname, '..', '..');

describe('waybill couriers, event, purge, keys and audit from the shell', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-life-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_RETENTION_GRACE_DAYS: '0' };
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const code = await main(argv, (l) => lines.push(l), env);
    return { code, out: lines.join('\n') };
  };
  let printed: { waybillNo: string; copies: { copy: string; copyCode: string }[] }[];

  beforeAll(async () => {
    const out = path.join(dir, 'labels.json');
    expect((await run('print', path.join(ROOT, 'samples', 'orders.json'), '--format', 'json', '--out', out)).code).toBe(EXIT.ok);
    printed = JSON.parse(fs.readFileSync(out, 'utf8'));
  });

  it('traces a copy code from a leaked photo back to its print job', async () => {
    const code = printed[1]!.copies.find((c) => c.copy === 'office')!.copyCode;
    const { code: exit, out } = await run('audit', 'trace', code.toLowerCase().replace('-', ' '));
    expect(exit).toBe(EXIT.ok);
    expect(out).toContain(code);
    expect(out).toMatch(/office/);
    expect(out).toContain(os.hostname());
    expect(out).toMatch(/cn-4copy/);
    expect((await run('audit', 'trace', 'ZZZZ-ZZZZ')).code).toBe(EXIT.failure);
  });

  it("holds a trace to the print record in the audit chain: rows changed in the database fail it, naming the disagreement", async () => {
    const db = new Database(path.join(env.WAYBILL_DATA_DIR, 'waybill.db'));
    const [a, b] = [printed[0]!, printed[1]!].map((w) => w.copies.find((c) => c.copy === 'sender')!.copyCode);
    expect((await run('audit', 'trace', a!)).out).toContain(`waybill:    ${printed[0]!.waybillNo}`);
    // Two copies' codes swapped: each row now blames the other waybill's print.
    const swap = db.prepare('UPDATE copy_prints SET copy_code = ? WHERE copy_code = ?');
    db.transaction(() => {
      swap.run('SWAP-TEMP', a);
      swap.run(a, b);
      swap.run(b, 'SWAP-TEMP');
    })();
    const swapped = await run('audit', 'trace', a!);
    expect(swapped.code).toBe(EXIT.failure);
    expect(swapped.out).toMatch(new RegExp(`audit trace: the audit log's record \\d+ issued it to waybill ${printed[0]!.waybillNo}: the copy_prints or print_jobs rows were changed outside the service`));
    // The job's operator rewritten: the chain's record still names who printed.
    swap.run('SWAP-TEMP', a);
    swap.run(a, b);
    swap.run(b, 'SWAP-TEMP');
    db.prepare("UPDATE print_jobs SET operator = 'someone-else'").run();
    expect((await run('audit', 'trace', a!)).out).toMatch(/audit trace: the audit log's record \d+ names cli:\S+ at \S+ for this job/);
    db.close();
  });

  it('lists alerts newest first, filtered by kind and time, as lines or JSON', async () => {
    const db = new Database(path.join(env.WAYBILL_DATA_DIR, 'waybill.db'));
    const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
    const insert = db.prepare('INSERT INTO alerts (at, kind, courier_id, detail) VALUES (?, ?, ?, ?)');
    insert.run(ago(72), 'courier_suspended', 'c-old', 'too many unknown tokens');
    insert.run(ago(2), 'courier_suspended', 'c-new', 'too many distinct waybills');
    insert.run(ago(1), 'station_verify_locked', null, 'waybill 73512604918372 locked for station verify after 5 wrong answers in 24 h (station s1)');
    db.close();
    const listed = await run('alerts', '--kind', 'courier_suspended');
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.out.split('\n').slice(0, 3).map((l) => l.split('\t').slice(1).join(' '))).toEqual(['kind courier detail', 'courier_suspended c-new too many distinct waybills', 'courier_suspended c-old too many unknown tokens']);
    const lastDay = JSON.parse((await run('alerts', '--since', '24h', '--json')).out.split('\n')[0]!) as { kind: string; courier: string | null }[];
    expect(lastDay.map((a) => [a.kind, a.courier])).toEqual([['station_verify_locked', null], ['courier_suspended', 'c-new']]);
    const bad = await run('alerts', '--since', 'last tuesday', '--limit', '0');
    expect(bad.code).toBe(EXIT.badInput);
    expect(bad.out).toMatch(/--since: must be hours or days back/);
    expect(bad.out).toMatch(/--limit: must be a whole number from 1 to 500/);
    expect(bad.out).not.toContain('last tuesday');
    // A kind misspelt would list nothing, as if all were well: it is refused, naming the kinds there are.
    const typo = await run('alerts', '--kind', 'courier_suspend');
    expect(typo.code).toBe(EXIT.badInput);
    expect(typo.out).toMatch(/--kind: must be an alert kind: courier_suspended, .*waybill_tampered, relay_tampered/);
  });

  it('adds a courier and shows the credential once, never in the list; issuing and revoking are audited', async () => {
    const added = await run('couriers', 'add', '--carrier', 'ZT', '--name', '王师傅', '--outlet', 'HZ-XH01', '--device', 'HH-0042');
    expect(added.code).toBe(EXIT.ok);
    const credential = /wbc_\S+/.exec(added.out)![0];
    const list = await run('couriers', 'list');
    expect(list.out).toMatch(/HZ-XH01/);
    expect(list.out).not.toContain(credential);
    const id = /wbc_([a-z2-7]{10})_/.exec(credential)![1]!;
    expect((await run('couriers', 'revoke', id)).code).toBe(EXIT.ok);
    const db = new Database(path.join(env.WAYBILL_DATA_DIR, 'waybill.db'), { readonly: true });
    expect(db.prepare("SELECT action FROM audit_log WHERE action LIKE 'courier_%' ORDER BY seq").all()).toEqual([{ action: 'courier_add' }, { action: 'courier_revoke' }]);
    db.close();
  });

  it('records events, purges delivered waybills, rotates and retires keys, and keeps the chain intact', async () => {
    const [first] = printed;
    expect((await run('event', first!.waybillNo, 'picked_up')).code).toBe(EXIT.ok);
    expect((await run('event', first!.waybillNo, 'delivered')).code).toBe(EXIT.ok);
    // Attempts no window reads any more, and a call receipt past its week, go with the same purge.
    const db = new Database(path.join(env.WAYBILL_DATA_DIR, 'waybill.db'));
    const longAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
    db.prepare("INSERT INTO scan_attempts (courier_id, waybill_id, purpose, at, outcome) VALUES ('c1', NULL, 'delivery', ?, 'unknown')").run(longAgo);
    db.prepare("INSERT INTO event_attempts (courier_id, waybill_id, type, at, outcome) VALUES ('c1', 'w1', 'delivered', ?, 'forbidden')").run(longAgo);
    db.prepare("INSERT INTO relay_calls (call_id, body_hash, received_at) VALUES ('call-1', 'h', ?)").run(longAgo);
    // Alerts are kept a year (WAYBILL_ALERT_KEEP_DAYS).
    db.prepare("INSERT INTO alerts (at, kind, detail) VALUES (?, 'webhook_disabled', 'a year ago'), (?, 'webhook_disabled', 'last week')").run(new Date(Date.now() - 366 * 86_400_000).toISOString(), longAgo);
    db.close();
    const purged = await run('purge');
    expect(purged.out).toMatch(/shredded the sealed data of 1 waybill/);
    expect(purged.out).toMatch(/ 2 old scan, event and verify attempt\(s\), 1 old call receipt\(s\), 0 old telephony answer\(s\) and 1 old alert\(s\)/);
    expect((await run('alerts', '--kind', 'webhook_disabled')).out.split('\n').slice(1).map((l) => l.split('\t')[3])).toEqual(['last week']);
    expect((await run('event', first!.waybillNo, 'returned')).code).toBe(EXIT.badInput);

    // A key id settings could not name, an id taken, a key that is not there: refused, nothing changed.
    for (const [args, code] of [[['keys', 'rotate', ''], EXIT.usage], [['keys', 'rotate', 'bad\nid'], EXIT.usage], [['keys', 'rotate', 'k1'], EXIT.badInput], [['keys', 'retire', 'k9'], EXIT.failure]] as const)
      expect((await run(...args)).code).toBe(code);
    // purge takes nothing: an option it does not know is refused, and nothing is purged by a typo.
    expect((await run('purge', '--dry-run')).code).toBe(EXIT.usage);
    expect((await run('purge', 'extra')).code).toBe(EXIT.usage);
    const rotated = await run('keys', 'rotate', 'k2');
    expect(rotated.out).toMatch(/active master key k2; re-wrapped 2 data key/);
    expect((await run('keys', 'retire', 'k1')).code).toBe(EXIT.ok);
    expect(JSON.parse(fs.readFileSync(path.join(env.WAYBILL_DATA_DIR, 'keys.json'), 'utf8')).masterKeys).not.toHaveProperty('k1');
    expect((await run('keys', 'status')).out).toMatch(/^k2\t2\ttrue$/m);

    const history = await run('audit', 'waybill', first!.waybillNo);
    expect(history.out.split('\n').map((l) => l.split('\t')[2])).toEqual(['print', 'event', 'event', 'purge']);
    // The print names its job and copy codes (detail), for the investigator to follow.
    expect(JSON.parse(history.out.split('\n')[0]!.split('\t')[6]!)).toMatchObject({ job: expect.any(String), codes: expect.any(String) });
    expect((await run('audit', 'verify')).out).toMatch(/audit log intact: \d+ records/);
  });

  it('detects an edited audit record, even by an insider who drops the append-only trigger', async () => {
    const db = new Database(path.join(env.WAYBILL_DATA_DIR, 'waybill.db'));
    expect(() => db.prepare("UPDATE audit_log SET outcome = 'x' WHERE seq = 2").run()).toThrow(/append-only/);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET outcome = 'nothing to see' WHERE seq = 2").run();
    db.close();
    const verify = await run('audit', 'verify');
    expect(verify.code).toBe(EXIT.failure);
    expect(verify.out).toMatch(/BROKEN at record 2 \(edited\)/);
  });
});

describe('waybill relay from the shell', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-relay-cli-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_RELAY_NUMBERS: '+8617000001234/3' };
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const code = await main(argv, (l) => lines.push(l), env);
    return { code, out: lines.join('\n') };
  };

  it('shows pool utilisation, a waybill’s bindings without real numbers, and issues telephony credentials', async () => {
    const out = path.join(dir, 'labels.json');
    expect((await run('print', path.join(ROOT, 'samples', 'orders.json'), '--format', 'json', '--out', out)).code).toBe(EXIT.ok);
    const [first] = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect((await run('relay', 'pool')).out).toMatch(/^number\tcapacity\tlive\tquarantined\tused\n\+8617000001234\t1000\t6\t0\t0\.6 %$/m);
    for (const args of [['relay', 'show'], ['relay', 'show', first.waybillNo, 'extra'], ['relay', 'courier-phone']]) expect((await run(...args)).code).toBe(EXIT.usage);
    const show = await run('relay', 'show', first.waybillNo);
    expect(show.out.split('\n')).toEqual([
      'party\tnumber\text\tstate\tvalid\tquarantine\tcallers',
      expect.stringMatching(/^recipient\t\+8617000001234\t\d{3}\tlive\t/),
      expect.stringMatching(/^sender\t\+8617000001234\t\d{3}\tlive\t/),
    ]);
    for (const name of ['', 'pbx\t1']) expect(await run('relay', 'clients', 'add', '--name', name)).toEqual({ code: EXIT.badInput, out: 'waybill: name: must be 1–40 letters, digits, spaces, dots, dashes or underscores' });
    const client = await run('relay', 'clients', 'add', '--name', 'pbx-1');
    expect(client.out).toMatch(/^wbt_\S+$/m);
    expect(client.out).toMatch(/shown only once/);
    expect((await run('event', first.waybillNo, 'cancelled')).code).toBe(EXIT.ok);
    expect((await run('relay', 'show', first.waybillNo)).out).toMatch(/recipient\t.*\tended /);
  });
});
