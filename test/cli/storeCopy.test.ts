// `waybill store copy`: a SQLite store with a history moves into an empty PostgreSQL database row for
// row, with its audit chain intact, and the service then works on PostgreSQL with the same keys.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { EXIT, main } from '../../src/cli';
import { loadConfig } from '../../src/config/config';
import { openStores, type Stores } from '../../src/store/openStores';
import { loadKeys } from '../../src/vault/keyFile';
import { scanWaybill } from '../../src/waybills/scanAccess';
import { RefusalTally } from '../../src/audit/refusalTally';
import { expectAbsent } from '../support/expectAbsent';
import { STORE_BACKENDS, type TestDatabase } from '../support/storeBackends';

jest.setTimeout(60_000);

const ROOT = path.join(__dirname, '..', '..');
const ORDERS = path.join(ROOT, 'samples', 'orders.json');
const postgres = STORE_BACKENDS.find(([name]) => name === 'PostgreSQL')![1];

describe('waybill store copy: the embedded SQLite store into an empty PostgreSQL database', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-copy-'));
  const env: Record<string, string> = {
    WAYBILL_DATA_DIR: path.join(dir, 'data'),
    WAYBILL_MASTER_KEY: randomBytes(32).toString('base64'),
    WAYBILL_TOKEN_KEY: randomBytes(32).toString('base64'),
    WAYBILL_RELAY_NUMBERS: '+8617000001234/3',
    WAYBILL_RETENTION_GRACE_DAYS: '0',
  };
  const file = path.join(env.WAYBILL_DATA_DIR!, 'waybill.db');
  const run = async (argv: string[], extraEnv: Record<string, string> = {}) => {
    const lines: string[] = [];
    const code = await main(argv, (l) => lines.push(l), { ...env, ...extraEnv });
    return { code, out: lines.join('\n') };
  };
  let printed: { waybillNo: string; copies: { copy: string; copyCode: string; qr: string }[] }[];
  let courier: string;
  let target: TestDatabase;
  let targetUrl: string;
  let source: Stores;

  beforeAll(async () => {
    // A store with a history: printed waybills (relay bindings, copy codes), a courier, a delivery and
    // purge, a printer and an API key, all audited.
    const out = path.join(dir, 'labels.json');
    expect((await run(['print', ORDERS, '--format', 'json', '--out', out])).code).toBe(EXIT.ok);
    printed = JSON.parse(fs.readFileSync(out, 'utf8'));
    courier = /wbc_\S+/.exec((await run(['couriers', 'add', '--carrier', 'ZT', '--name', 'courier 7', '--outlet', 'HZ-XH01', '--device', 'HH-0042'])).out)![0];
    expect((await run(['event', printed[1]!.waybillNo, 'picked_up'])).code).toBe(EXIT.ok);
    expect((await run(['event', printed[1]!.waybillNo, 'delivered'])).code).toBe(EXIT.ok);
    expect((await run(['purge'])).out).toMatch(/shredded the sealed data of 1 waybill/);
    expect((await run(['printers', 'add', 'line-1', '--host', '127.0.0.1', '--language', 'zpl'], { WAYBILL_PRINTER_NETWORKS: '127.0.0.1/32' })).code).toBe(EXIT.ok);
    expect((await run(['keys', 'create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme'])).code).toBe(EXIT.ok);
    target = await postgres.open();
    if (target.location.backend !== 'postgres') throw new Error('expected a PostgreSQL test database');
    targetUrl = target.location.url;
    source = await openStores({ backend: 'sqlite', file });
  });

  afterAll(async () => {
    await source?.close();
    await target?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('copies every row and the whole audit chain, and says what it did without any personal data', async () => {
    const sourceAudit = await source.audit.verify();
    const { code, out } = await run(['store', 'copy', '--to', targetUrl]);
    expect(code).toBe(EXIT.ok);
    expect(out).toMatch(/waybills: 3 rows/);
    expect(out).toMatch(new RegExp(`audit log in PostgreSQL intact: ${sourceAudit.count + 1} records`));
    expect(out).not.toMatch(/postgres:\/\//); // the URL may hold a password
    for (const o of JSON.parse(fs.readFileSync(ORDERS, 'utf8')) as { recipient: { name: string; phone: string } }[])
      expectAbsent(out, [o.recipient.name, o.recipient.phone], 'store copy output'); // a failure names neither

    const sqlite = new Database(file, { readonly: true });
    const tables = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[])
      .map((t) => t.name)
      .filter((t) => t !== 'schema_migrations' && t !== 'api_rate_buckets');
    for (const table of tables) {
      const [{ n: expected }] = sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).all() as [{ n: number }];
      const [{ n: copied }] = (await target.query(`SELECT count(*) AS n FROM ${table}`)) as [{ n: number }];
      expect({ table, rows: copied }).toEqual({ table, rows: table === 'audit_log' ? expected + 1 : expected });
    }
    sqlite.close();

    for (const { waybillNo, copies } of printed) {
      const copied = await target.stores.store.findWaybillByNo(waybillNo);
      expect(copied).toEqual(await source.store.findWaybillByNo(waybillNo)); // sealed bytes, flags and times alike
      expect(await target.stores.relay.forWaybill(copied!.id)).toEqual(await source.relay.forWaybill(copied!.id));
      expect(await target.stores.audit.forWaybill(waybillNo)).toEqual(await source.audit.forWaybill(waybillNo));
      expect(await target.stores.store.findCopyPrint(copies[0]!.copyCode)).toEqual(await source.store.findCopyPrint(copies[0]!.copyCode));
    }
    expect(await target.stores.printers.listPrinters()).toEqual(await source.printers.listPrinters());
    expect(await target.stores.apiKeys.list()).toEqual(await source.apiKeys.list());
    const records = await target.stores.audit.verify();
    expect(records).toEqual({ ok: true, count: sourceAudit.count + 1 });
  });

  it('refuses a database that already holds data, and changes nothing there', async () => {
    const before = await target.query('SELECT count(*) AS n FROM audit_log');
    const { code, out } = await run(['store', 'copy', '--to', targetUrl]);
    expect(code).toBe(EXIT.failure);
    expect(out).toMatch(/already holds data \(table audit_log\); copy into an empty database only/);
    expect(await target.query('SELECT count(*) AS n FROM audit_log')).toEqual(before);
  });

  it('leaves a PostgreSQL store the service works on: sealed data opens with the same keys, new rows continue the ids', async () => {
    const pgEnv = { DATABASE_URL: targetUrl };
    const config = loadConfig({ ...env, ...pgEnv });
    const token = new URL(printed[0]!.copies[0]!.qr).pathname.split('/').pop()!;
    // The service's stores, with its keys: the copied credential rows keep their bindings.
    const keys = loadKeys(config, () => {});
    const service = await openStores(target.location, undefined, keys.tokenKey);
    const scanned = await scanWaybill(
      { store: service.store, couriers: service.couriers, audit: service.audit, keys, limits: config.scan, relayBindings: service.relay, refusals: new RefusalTally(), now: () => new Date() },
      { credential: courier, token, purpose: 'delivery', requestId: 'copy-test-1' },
    ).finally(() => service.close());
    const order = (JSON.parse(fs.readFileSync(ORDERS, 'utf8')) as { recipient: { address: Record<string, string> } }[])[0]!;
    // Compared field by field so a failure names the field, never prints the address.
    const differing = Object.entries(order.recipient.address).filter(([field, value]) => (scanned.recipient.address as Record<string, unknown>)[field] !== value);
    expect(differing.map(([field]) => field)).toEqual([]);
    expect((await run(['event', printed[0]!.waybillNo, 'picked_up'], pgEnv)).code).toBe(EXIT.ok); // waybill_events' generated id goes on
    expect((await run(['print', ORDERS, '--client', 'after-copy', '--format', 'json', '--out', path.join(dir, 'again.json')], pgEnv)).code).toBe(EXIT.ok);
    expect((await run(['audit', 'verify'], pgEnv)).out).toMatch(/audit log intact/);
  });

  it('explains what it needs when the target or the source is missing or malformed', async () => {
    expect((await run(['store', 'copy'])).out).toMatch(/give --to postgres:\/\/… \(or set DATABASE_URL\)/);
    expect((await run(['store', 'copy', '--to', 'mysql://secret@db/x'])).out).toMatch(/--to must be a postgres:\/\//);
    expect((await run(['store', 'copy', '--to', 'mysql://secret@db/x'])).out).not.toContain('secret');
    const empty = await run(['store', 'copy', '--to', targetUrl], { WAYBILL_DATA_DIR: path.join(dir, 'nowhere') });
    expect(empty).toMatchObject({ code: EXIT.failure, out: expect.stringMatching(/no SQLite store at .*nowhere/) });
    expect(fs.existsSync(path.join(dir, 'nowhere'))).toBe(false);
    expect((await run(['store', 'move'])).code).toBe(EXIT.usage);
  });
});
