// The short way for hot statements (prepared statements, transactions written as steps) keeps the rules
// of the long one: arguments bound per call, a transaction all or nothing on both databases, and on
// SQLite no statement slipping into another request's open transaction.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isUniqueViolation, openPostgres, sqliteDatabase, step, type Database } from '../../src/store/database';
import { prepared } from '../../src/store/prepared';
import { SqliteStore } from '../../src/store/sqliteStore';
import { pgTestDatabaseUrl } from '../support/storeBackends';

const insertAlert = prepared((db, a: { kind: string; detail: string }) => db.insertInto('alerts').values({ at: '2026-12-02T00:00:00.000Z', kind: a.kind, courier_id: null, detail: a.detail }));
const alertsOfKind = prepared((db, a: { kind: string }) => db.selectFrom('alerts').select('detail').where('kind', '=', a.kind).orderBy('id'));
const insertKey = prepared((db, a: { id: string }) =>
  db.insertInto('api_keys').values({ id: a.id, name: 'k', role: 'admin', client_id: null, secret_hash: Buffer.alloc(32), created_at: '2026-12-02T00:00:00.000Z', revoked_at: null }),
);

const backends: [string, () => Promise<{ d: Database; close(): Promise<void> }>][] = [
  [
    'SQLite',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-prepared-'));
      const store = SqliteStore.open(path.join(dir, 'waybill.db'));
      return { d: sqliteDatabase(store.database), close: async () => (await store.close(), fs.rmSync(dir, { recursive: true, force: true })) };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const d = await openPostgres(await pgTestDatabaseUrl(), 2);
      await d.db.deleteFrom('alerts').execute();
      await d.db.deleteFrom('api_keys').execute();
      return { d, close: () => d.close() };
    },
  ],
];

describe.each(backends)('%s: prepared statements and step transactions', (_name, open) => {
  it('bind their arguments anew on every call', async () => {
    const { d, close } = await open();
    await d.run(insertAlert, { kind: 'a', detail: 'one' });
    await d.run(insertAlert, { kind: 'b', detail: 'two' });
    await d.run(insertAlert, { kind: 'a', detail: 'three' });
    expect((await d.run(alertsOfKind, { kind: 'a' })).rows).toEqual([{ detail: 'one' }, { detail: 'three' }]);
    expect((await d.run(alertsOfKind, { kind: 'b' })).rows).toEqual([{ detail: 'two' }]);
    await close();
  });

  it('refuse a statement that lists its arguments instead of naming each column, and a missing argument', async () => {
    const { d, close } = await open();
    const spread = prepared((db, a: { id: number; at: string; kind: string; courier_id: null; detail: string }) => db.insertInto('alerts').values(a));
    await expect(d.run(spread, { id: 1, at: 'x', kind: 'x', courier_id: null, detail: 'x' })).rejects.toThrow(/name each column/);
    await expect(d.run(alertsOfKind, {} as { kind: string })).rejects.toThrow(/no value for kind/);
    await close();
  });

  it('run a transaction all or nothing, with later steps seeing earlier results', async () => {
    const { d, close } = await open();
    await d.run(insertKey, { id: 'taken' });
    const failed = d.transaction(function* () {
      yield* step(insertAlert, { kind: 'tx', detail: 'before the failure' });
      const { rows } = yield* step(alertsOfKind, { kind: 'tx' });
      expect(rows).toHaveLength(1); // the transaction sees its own write
      yield* step(insertKey, { id: 'taken' });
    });
    expect(isUniqueViolation(await failed.catch((e: unknown) => e))).toBe(true);
    expect((await d.run(alertsOfKind, { kind: 'tx' })).rows).toEqual([]);
    expect(await d.transaction(function* () {
      yield* step(insertAlert, { kind: 'tx', detail: 'kept' });
      return 'done';
    })).toBe('done');
    expect((await d.run(alertsOfKind, { kind: 'tx' })).rows).toEqual([{ detail: 'kept' }]);
    await close();
  });
});

describe('SQLite: the short way never runs inside another request’s open transaction', () => {
  it('waits until a Kysely transaction on the same file has ended, so a rollback takes only that transaction’s rows', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-prepared-'));
    const store = SqliteStore.open(path.join(dir, 'waybill.db'));
    const d = sqliteDatabase(store.database);
    const order: string[] = [];
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const longTransaction = d.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('alerts').values({ at: 'x', kind: 'k', courier_id: null, detail: 'inside, rolled back' }).execute();
        opened();
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('transaction ends');
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await open;
    const statement = d.run(insertAlert, { kind: 'k', detail: 'outside' }).then(() => order.push('statement ran'));
    const steps = d.transaction(function* () {
      yield* step(insertAlert, { kind: 'k', detail: 'steps' });
    });
    await Promise.all([longTransaction, statement, steps]);
    expect(order).toEqual(['transaction ends', 'statement ran']);
    expect((await d.run(alertsOfKind, { kind: 'k' })).rows).toEqual([{ detail: 'outside' }, { detail: 'steps' }]);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/** Another process that has taken the file's write lock, keeps it `ms`, then commits and exits. */
async function lockHeldByAnotherProcess(file: string, ms: number): Promise<ChildProcess> {
  const holder = spawn(
    process.execPath,
    ['-e', `const db = new (require(${JSON.stringify(require.resolve('better-sqlite3'))}))(process.argv[1]); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => db.exec('COMMIT'), ${ms});`, file],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(holder.stdout!, 'data');
  return holder;
}

describe('SQLite: a write while another process holds the write lock', () => {
  it('waits for the lock without freezing this process, then lands: statement, transaction and Kysely query alike', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-locked-'));
    const file = path.join(dir, 'waybill.db');
    const store = SqliteStore.open(file);
    const d = sqliteDatabase(store.database);
    const holder = await lockHeldByAnotherProcess(file, 400);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      await Promise.all([
        d.run(insertAlert, { kind: 'locked', detail: 'statement' }),
        d.transaction(function* () {
          yield* step(insertAlert, { kind: 'locked', detail: 'transaction' });
        }),
        d.db.insertInto('alerts').values({ at: '2026-12-02T00:00:00.000Z', kind: 'locked', courier_id: null, detail: 'kysely' }).execute(),
      ]);
    } finally {
      clearInterval(ticker);
    }
    // SQLite's own wait (busy_timeout) would sleep inside the call: no timer of this process would run.
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect((await d.run(alertsOfKind, { kind: 'locked' })).rows.map((r) => r.detail).sort()).toEqual(['kysely', 'statement', 'transaction']);
    await once(holder, 'exit');
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('SQLite: a write lock another process holds past the wait', () => {
  it('fails the write as the store being busy (503, exit 75), not as an internal error: statement, transaction and Kysely query alike', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-locked-'));
    const file = path.join(dir, 'waybill.db');
    const store = SqliteStore.open(file);
    const d = sqliteDatabase(store.database);
    // The wait is 5 s: the other process keeps the lock 6 s (a checkpoint stuck on a slow disk, say).
    const holder = await lockHeldByAnotherProcess(file, 6000);
    const busy = { code: 'unavailable', message: 'the store is busy; retry shortly', retryAfterSeconds: 1 };
    await Promise.all([
      expect(d.run(insertAlert, { kind: 'locked', detail: 'statement' })).rejects.toMatchObject(busy),
      expect(d.transaction(function* () {
        yield* step(insertAlert, { kind: 'locked', detail: 'transaction' });
      })).rejects.toMatchObject(busy),
      expect(d.db.insertInto('alerts').values({ at: '2026-12-02T00:00:00.000Z', kind: 'locked', courier_id: null, detail: 'kysely' }).execute()).rejects.toMatchObject(busy),
    ]);
    await once(holder, 'exit');
    // Nothing of them was written; the next write lands.
    await d.run(insertAlert, { kind: 'locked', detail: 'after' });
    expect((await d.run(alertsOfKind, { kind: 'locked' })).rows).toEqual([{ detail: 'after' }]);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 20_000);
});

describe('PostgreSQL: two transactions that deadlock', () => {
  it('both land: the one PostgreSQL ends as the victim starts again from its first step', async () => {
    const d = await openPostgres(await pgTestDatabaseUrl(), 2);
    await d.db.deleteFrom('api_keys').execute();
    await d.run(insertKey, { id: 'first' });
    await d.run(insertKey, { id: 'second' });
    const mark = prepared((db, a: { id: string; mark: string }) => db.updateTable('api_keys').set((eb) => ({ name: eb('name', '||', a.mark) })).where('id', '=', a.id));
    const pause = (seconds: number) => d.db.selectNoFrom((eb) => eb.fn<number>('pg_sleep', [eb.val(seconds)]).as('slept'));
    // Both connections open before the race, so the two transactions start together.
    await Promise.all([pause(0.05).execute(), pause(0.05).execute()]);
    let runs = 0;
    // Each locks one row, waits until the other has locked the other row, then wants the other's row.
    const crossing = (one: string, other: string, m: string) =>
      d.transaction(function* () {
        runs++;
        yield* step(mark, { id: one, mark: m });
        yield* step(pause(0.5));
        yield* step(mark, { id: other, mark: m });
      });
    try {
      await Promise.all([crossing('first', 'second', 'a'), crossing('second', 'first', 'b')]);
      expect(runs).toBe(3);
      const names = (await d.db.selectFrom('api_keys').select(['id', 'name']).orderBy('id').execute()).map((r) => [r.id, [...r.name].sort().join('')]);
      expect(names).toEqual([['first', 'abk'], ['second', 'abk']]);
    } finally {
      await d.close();
    }
  });
});
