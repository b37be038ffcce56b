// Databases made by an earlier release keep working: a SQLite file and a PostgreSQL dump written by the
// release before the single migration list are opened by today's code, which records every version,
// finds the waybills, binds their states and opens their sealed data, verifies the audit chain, binds and
// accepts the issued credentials (each binding once, on record) and writes new records.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS } from '../../src/store/migrations';
import { openStores, type StoreLocation } from '../../src/store/openStores';
import { openSealedContent } from '../../src/vault/sealedWaybill';
import { pgTestDatabaseUrl } from '../support/storeBackends';

const FIXTURES = path.join(__dirname, 'fixtures');
const made = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'release-v10.json'), 'utf8')) as Record<'sqlite' | 'postgres', { waybillNos: string[]; apiKey: string; courier: string }>;
const keys = { ring: { activeKeyId: 'k1', keys: new Map([['k1', Buffer.alloc(32, 7)]]) }, tokenKey: Buffer.alloc(32, 9) };

type Rows = (sql: string) => Promise<Record<string, unknown>[]>;

async function expectWorking(location: StoreLocation, fixture: (typeof made)['sqlite'], rows: Rows): Promise<void> {
  const stores = await openStores(location, undefined, keys.tokenKey);
  try {
    expect((await rows('SELECT version FROM schema_migrations ORDER BY version')).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    // The release's credentials were bound to their rows as the store opened, and that is on record.
    expect(await rows("SELECT detail FROM audit_log WHERE action = 'credential_bind'")).toEqual([{ detail: JSON.stringify({ bound: 2 }) }]);
    expect(await rows('SELECT id FROM credential_binding_due')).toEqual([]);
    // So were its waybills' states (status, holder, purge) and its relay bindings' terms: every one not shredded.
    const [{ live }] = (await rows('SELECT count(*) AS live FROM waybills WHERE purged_at IS NULL')) as [{ live: number | string }];
    expect(Number(live)).toBeGreaterThanOrEqual(fixture.waybillNos.length);
    const [{ relay }] = (await rows('SELECT count(*) AS relay FROM relay_bindings WHERE sealed IS NOT NULL')) as [{ relay: number | string }];
    expect(await rows("SELECT detail FROM audit_log WHERE action = 'waybill_bind'")).toEqual([{ detail: JSON.stringify({ waybills: Number(live), relayBindings: Number(relay) }) }]);
    expect(await rows('SELECT id FROM waybill_binding_due')).toEqual([]);
    for (const no of fixture.waybillNos) {
      const w = await stores.store.findWaybillByNo(no);
      expect(w?.sealed).toBeDefined();
      expect(w?.rewritten).toBeUndefined();
      expect(w?.status).toBe('printed'); // they have copies on paper (migration 11)
      expect(openSealedContent(keys, w!.id, w!.sealed!).order.orderId).toMatch(/^SO-/);
    }
    expect(await stores.audit.verify()).toMatchObject({ ok: true });
    expect(await stores.apiKeys.authenticate(fixture.apiKey)).toMatchObject({ role: 'warehouse', client: 'acme' });
    expect(await stores.couriers.authenticate(fixture.courier)).toMatchObject({ carrier: 'ZT' });
    await stores.audit.append({ at: new Date().toISOString(), actor: 'test', action: 'print', outcome: 'ok' });
    expect(await stores.audit.verify()).toMatchObject({ ok: true });
  } finally {
    await stores.close();
  }
  // Once only: opening again binds nothing more.
  await (await openStores(location, undefined, keys.tokenKey)).close();
  expect(await rows("SELECT detail FROM audit_log WHERE action = 'credential_bind'")).toHaveLength(1);
  expect(await rows("SELECT detail FROM audit_log WHERE action = 'waybill_bind'")).toHaveLength(1);
}

describe('databases made by the release before the single migration list', () => {
  it('a SQLite file opens, migrates in place and keeps every record usable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-upgrade-'));
    const file = path.join(dir, 'waybill.db');
    fs.copyFileSync(path.join(FIXTURES, 'release-v10.sqlite'), file);
    try {
      await expectWorking({ backend: 'sqlite', file }, made.sqlite, async (sql) => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare(sql).all() as Record<string, unknown>[];
        } finally {
          db.close();
        }
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a PostgreSQL database restored from its dump opens, migrates in place and keeps every record usable', async () => {
    const url = await pgTestDatabaseUrl();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // The dump empties search_path for its own session: restore on one connection, read on another.
      await client.query(fs.readFileSync(path.join(FIXTURES, 'release-v10.postgres.sql'), 'utf8'));
    } finally {
      await client.end();
    }
    const rows = async (sql: string) => {
      const reader = new pg.Client({ connectionString: url });
      await reader.connect();
      try {
        return (await reader.query<Record<string, unknown>>(sql)).rows;
      } finally {
        await reader.end();
      }
    };
    await expectWorking({ backend: 'postgres', url }, made.postgres, rows);
  });
});
