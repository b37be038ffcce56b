import { courierCommand } from '../../src/cli/courierCommands';
import { courierStatus, isActive, type NewCourier } from '../../src/couriers/courier';
import { hashSecret, newCredentialId, newCredential, parseCredential, secretMatches } from '../../src/auth/credentials';
import { STORE_BACKENDS } from '../support/storeBackends';

const AT = new Date('2026-11-23T10:00:00.000Z');
const LATER = new Date('2026-11-24T08:30:00.000Z');

const zhang: NewCourier = { carrier: 'ZT', name: '张师傅', outlet: 'HZ-XH01', routes: ['571', '572'], device: 'HH-0042' };
const li: NewCourier = { carrier: 'ZT', name: '李师傅', outlet: 'HZ-XH01', routes: [], device: 'HH-0043' };

describe('courier credentials', () => {
  it('issues wbc_<id>_<secret> texts that parse back, and refuses anything else', () => {
    const id = newCredentialId();
    expect(id).toMatch(/^[a-z2-7]{10}$/);
    const { credential, secretHash } = newCredential(id);
    const parsed = parseCredential(credential);
    expect(parsed?.id).toBe(id);
    expect(parsed?.secret).toHaveLength(43);
    expect(secretMatches(parsed!.secret, secretHash)).toBe(true);
    expect(secretMatches(parsed!.secret, hashSecret('x'))).toBe(false);
    expect(secretMatches(parsed!.secret, Buffer.alloc(3))).toBe(false);

    const secret = parsed!.secret;
    for (const bad of [
      '',
      `wbc_${id}`,
      `wbc_${id}_`,
      `WBC_${id}_${secret}`,
      `wbx_${id}_${secret}`,
      `wbc_${id.toUpperCase()}_${secret}`,
      `wbc_${id}x_${secret}`,
      `wbc_${id}_${secret}A`,
      `wbc_${id}_${secret.slice(1)}`,
      `wbc_${id}_${secret}\n`,
      ` wbc_${id}_${secret}`,
      `wbc_${id}_${secret.slice(0, 42)}B`, // not a canonical encoding of 32 bytes
    ])
      expect(parseCredential(bad)).toBeUndefined();
  });
});

describe.each(STORE_BACKENDS)('%s courier store', (_name, backend) => {
  it('authenticates the issued credential and nothing else', async () => {
    const t = await backend.open();
    const { couriers } = t.stores;
    const a = await couriers.add(zhang, AT);
    const b = await couriers.add(li, AT);
    expect(a.courier).toMatchObject({ ...zhang, createdAt: AT.toISOString() });
    expect(a.courier.id).not.toBe(b.courier.id);

    const me = await couriers.authenticate(a.credential);
    expect(me).toEqual(a.courier);
    expect(isActive(me!)).toBe(true);
    expect(me).not.toHaveProperty('credentialHash');

    const { id: courierId, secret } = parseCredential(a.credential)!;
    const other = parseCredential(newCredential(courierId).credential)!.secret;
    expect(await couriers.authenticate(`wbc_${courierId}_${other}`)).toBeUndefined(); // wrong secret
    expect(await couriers.authenticate(`wbc_${b.courier.id}_${secret}`)).toBeUndefined(); // another courier's id
    expect(await couriers.authenticate(`wbc_${newCredentialId()}_${secret}`)).toBeUndefined(); // unknown id
    expect(await couriers.authenticate(a.credential.slice(0, -1))).toBeUndefined(); // malformed
    expect(await couriers.authenticate(`Bearer ${a.credential}`)).toBeUndefined();
    expect((await couriers.authenticate(b.credential))?.id).toBe(b.courier.id);
    await t.close();
  });

  it('stores only a hash: neither the credential nor its secret is in the database', async () => {
    const t = await backend.open();
    const { couriers } = t.stores;
    const issued = [await couriers.add(zhang, AT), await couriers.add(li, AT)];
    const row = (await t.query('SELECT * FROM couriers WHERE id = ?', issued[0]!.courier.id))[0]!;
    expect(row.credential_hash).toEqual(hashSecret(parseCredential(issued[0]!.credential)!.secret));
    // Read what the database holds while open (SQLite: WAL side file included) and again after close.
    const snapshots = [await t.rawBytes()];
    await t.close();
    snapshots.push(await t.rawBytes());
    for (const raw of snapshots) {
      expect(raw.includes(Buffer.from('HH-0042'))).toBe(true); // the search does see the rows
      for (const { credential } of issued) {
        const { secret } = parseCredential(credential)!;
        expect(raw.includes(Buffer.from(secret))).toBe(false);
        expect(raw.includes(Buffer.from(secret.slice(0, 16)))).toBe(false);
        expect(raw.includes(Buffer.from(secret, 'base64url'))).toBe(false);
        expect(raw.includes(Buffer.from(Buffer.from(secret, 'base64url').toString('hex')))).toBe(false);
      }
    }
  });

  it('still returns revoked and suspended couriers from authenticate, marked so callers can answer 403', async () => {
    const t = await backend.open();
    const { couriers } = t.stores;
    const a = await couriers.add(zhang, AT);
    const b = await couriers.add(li, AT);

    expect(await couriers.suspend(a.courier.id, LATER, 'too many unknown tokens')).toBe(true);
    expect(await couriers.suspend(a.courier.id, new Date('2026-11-25T00:00:00Z'), 'second reason')).toBe(true);
    const suspended = await couriers.authenticate(a.credential);
    expect(suspended).toMatchObject({ id: a.courier.id, suspendedAt: LATER.toISOString(), suspendReason: 'too many unknown tokens' });
    expect(isActive(suspended!)).toBe(false);
    expect(courierStatus(suspended!)).toBe('suspended');

    expect(await couriers.reinstate(a.courier.id)).toBe(true);
    const back = await couriers.authenticate(a.credential);
    expect(courierStatus(back!)).toBe('active');
    expect(back).not.toHaveProperty('suspendedAt');
    expect(back).not.toHaveProperty('suspendReason');

    expect(await couriers.revoke(b.courier.id, LATER)).toBe(true);
    expect(await couriers.revoke(b.courier.id, new Date('2026-12-01T00:00:00Z'))).toBe(true);
    const revoked = await couriers.authenticate(b.credential);
    expect(revoked?.revokedAt).toBe(LATER.toISOString());
    expect(courierStatus(revoked!)).toBe('revoked');
    expect(await couriers.suspend(b.courier.id, LATER, 'x')).toBe(false);
    expect(await couriers.reinstate(b.courier.id)).toBe(false);

    expect(await couriers.revoke('nosuchid22', LATER)).toBe(false);
    expect(await couriers.suspend('nosuchid22', LATER, 'x')).toBe(false);
    expect(await couriers.reinstate('nosuchid22')).toBe(false);
    expect(await couriers.get('nosuchid22')).toBeUndefined();
    expect((await couriers.list()).map((c) => c.id)).toEqual([a.courier.id, b.courier.id].sort());
    await t.close();
  });

  it('refuses input the schema refuses, even when called directly', async () => {
    const t = await backend.open();
    const { couriers } = t.stores;
    await expect(couriers.add({ ...zhang, outlet: 'HZ XH01' }, AT)).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: ['outlet'] }] });
    await expect(couriers.add({ ...zhang, routes: [''] }, AT)).rejects.toMatchObject({ issues: [{ path: ['routes', 0] }] });
    // A route is the start of a routing code, which holds no space or other script: such a route would never match.
    for (const route of ['571 01', '杭州'])
      await expect(couriers.add({ ...zhang, routes: ['571', route] }, AT)).rejects.toMatchObject({ issues: [{ path: ['routes', 1], message: expect.stringMatching(/^must be 1–16 ASCII letters/) }] });
    await expect(couriers.add({ ...zhang, extra: 1 } as NewCourier, AT)).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await couriers.list()).toEqual([]);
    await t.close();
  });
});

describe.each(STORE_BACKENDS)('waybill courier CLI on %s', (_name, backend) => {
  async function cli() {
    const t = await backend.open();
    const { couriers } = t.stores;
    const lines: string[] = [];
    const audited: string[] = [];
    const audit = { record: async (action: string, id: string) => void audited.push(`${action} ${id}`) };
    const run = (...args: string[]) => courierCommand(args, { couriers, now: () => AT, audit }, (l) => lines.push(l));
    return { t, couriers, lines, run, audited };
  }

  it('adds a courier, shows the credential once, lists without it and revokes', async () => {
    const c = await cli();
    expect(await c.run('add', '--carrier', 'ZT', '--name', ' 张师傅 ', '--outlet', 'HZ-XH01', '--route', '571', '--route', '572', '--device', 'HH-0042')).toBe(0);
    const credential = /^(wb[ckt]_\S+)$/m.exec(c.lines.join('\n'))?.[1];
    expect(credential).toBeDefined();
    const { id: courierId, secret } = parseCredential(credential!)!;
    expect(c.lines.join('\n')).toMatch(/shown only once/);
    expect(c.lines.join('\n')).toContain(courierId);
    const added = await c.couriers.authenticate(credential!);
    expect(added).toMatchObject({ id: courierId, name: '张师傅', routes: ['571', '572'] });

    c.lines.length = 0;
    expect(await c.run('list')).toBe(0);
    expect(c.lines).toEqual(['id\tcarrier\toutlet\troutes\tdevice\tstatus\tcreated', [courierId, 'ZT', 'HZ-XH01', '571,572', 'HH-0042', 'active', AT.toISOString()].join('\t')]);
    expect(c.lines.join('\n')).not.toContain(secret);

    await c.couriers.suspend(courierId, LATER, 'too many distinct waybills');
    c.lines.length = 0;
    await c.run('list');
    expect(c.lines[1]).toContain('\tsuspended(too many distinct waybills)\t');

    c.lines.length = 0;
    expect(await c.run('reinstate', courierId)).toBe(0);
    expect(courierStatus((await c.couriers.get(courierId))!)).toBe('active');
    expect(await c.run('reinstate', courierId)).toBe(0); // not suspended: nothing lifted, nothing audited
    expect(c.audited).toEqual([`courier_add ${courierId}`, `reinstate ${courierId}`]);

    c.lines.length = 0;
    expect(await c.run('revoke', courierId)).toBe(0);
    expect(courierStatus((await c.couriers.authenticate(credential!))!)).toBe('revoked');
    c.lines.length = 0;
    await c.run('list');
    expect(c.lines[1]).toContain('\trevoked\t');
    expect(c.lines.join('\n')).not.toContain(secret);

    c.lines.length = 0;
    expect(await c.run('reinstate', courierId)).toBe(1);
    expect(c.lines.join('\n')).toMatch(/revoked/);
    await c.t.close();
  });

  it('lists a courier without routes as *, and never prints any credential', async () => {
    const c = await cli();
    const { credential } = await c.couriers.add(li, AT);
    await c.run('list');
    expect(c.lines[1]!.split('\t')[3]).toBe('*');
    expect(c.lines.join('\n')).not.toContain(parseCredential(credential)!.secret);
    expect(c.lines.join('\n')).not.toContain('wbc_');
    await c.t.close();
  });

  it('refuses an invalid carrier with exit 65, naming the field, and stores nothing', async () => {
    const c = await cli();
    expect(await c.run('add', '--carrier', 'XX', '--name', 'n', '--outlet', 'HZ-XH01', '--device', 'HH-1')).toBe(65);
    expect(c.lines.join('\n')).toMatch(/^waybill courier: carrier: must be one of ZT, /m);
    expect(c.lines.join('\n')).not.toContain('wbc_');
    expect(await c.couriers.list()).toEqual([]);

    c.lines.length = 0;
    expect(await c.run('add', '--carrier', 'ZT', '--name', 'n', '--outlet', 'HZ-XH01', '--route', 'x'.repeat(17), '--device', 'HH-1')).toBe(65);
    expect(c.lines.join('\n')).toContain('routes[0]: must be 1–16 ASCII letters, digits or "-"');
    await c.t.close();
  });

  it('answers unknown ids with exit 1 and usage mistakes with exit 64 (EX_USAGE)', async () => {
    const c = await cli();
    expect(await c.run('revoke', 'nosuchid22')).toBe(1);
    expect(c.lines.join('\n')).toContain('unknown courier');
    expect(await c.run('reinstate', 'nosuchid22')).toBe(1);
    for (const argv of [[], ['frobnicate'], ['revoke'], ['revoke', 'a', 'b'], ['add', '--carrier', 'ZT'], ['add', '--bogus', 'x'], ['list', '--all']]) {
      c.lines.length = 0;
      expect(await c.run(...argv)).toBe(64);
      expect(c.lines.join('\n')).toContain('usage:');
    }
    await c.t.close();
  });
});
