// The store suites run unchanged on both backends: `describe.each(STORE_BACKENDS)` gives each test a
// fresh, migrated database on SQLite (a temp file) and on PostgreSQL (its own schema inside a throw-away
// database `waybill_test_<random>` created on the server at WAYBILL_TEST_PG_URL and dropped after the
// file). Raw SQL for checks on stored rows goes through `query`/`exec` with `?` placeholders on both.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStores, type StoreLocation, type Stores } from '../../src/store/openStores';

/**
 * The token key every test store is opened with (the service always has one): it keys pairing-code hashes
 * and seals webhook outbox rows.
 */
export const TEST_TOKEN_KEY = randomBytes(32);

/** The local server the tests use; `.ci/run` makes sure it is up. */
export const PG_TEST_URL = process.env.WAYBILL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** What openStores (or a child process) takes to reach this database. */
  location: StoreLocation;
  stores: Stores;
  /** Rows of one SELECT; `?` placeholders; integers (also PostgreSQL's bigint counts) as numbers. */
  query(sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]>;
  /** Runs statements through a separate connection, as another client (or a tamperer) would. */
  exec(sql: string): Promise<void>;
  /** Drops the audit log's guard triggers, as a determined tamperer with database access would. */
  dropAuditGuards(): Promise<void>;
  /** Everything the database holds, as bytes to search through (files on SQLite, every row on PostgreSQL). */
  rawBytes(): Promise<Buffer>;
  /** Another, independent set of stores on the same database: a second instance. Closed by close(). */
  reopen(): Promise<Stores>;
  close(): Promise<void>;
}

export interface StoreBackend {
  name: 'SQLite' | 'PostgreSQL';
  open(): Promise<TestDatabase>;
}

const AUDIT_GUARDS: [string, string][] = [
  ['audit_log_no_update', 'audit_log'],
  ['audit_log_no_delete', 'audit_log'],
  ['audit_log_in_line', 'audit_log'],
  ['audit_head_forward', 'audit_head'],
  ['audit_head_no_delete', 'audit_head'],
];

/** `reopen` opens another set of stores on the same database (a second instance); `close` closes them all. */
function secondInstances(location: StoreLocation, stores: Stores): Pick<TestDatabase, 'reopen' | 'close'> {
  const others: Stores[] = [];
  return {
    reopen: async () => {
      const s = await openStores(location, undefined, TEST_TOKEN_KEY);
      others.push(s);
      return s;
    },
    close: async () => {
      for (const s of [...others, stores]) await s.close();
    },
  };
}

const sqlite: StoreBackend = {
  name: 'SQLite',
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-store-'));
    const location: StoreLocation = { backend: 'sqlite', file: path.join(dir, 'waybill.db') };
    const stores = await openStores(location, undefined, TEST_TOKEN_KEY);
    const instances = secondInstances(location, stores);
    // A fresh connection per call, opened after everything before it committed, as another client's would be.
    const side = <T>(use: (db: Database.Database) => T): T => {
      const db = new Database(location.file);
      try {
        db.pragma('busy_timeout = 10000');
        return use(db);
      } catch (e) {
        // better-sqlite3 keeps the SqliteError class of the first test file that loaded it in this
        // worker; from another file's realm it is not an Error, and `rejects.toThrow` would not see it.
        throw new Error((e as Error).message);
      } finally {
        db.close();
      }
    };
    return {
      location,
      stores,
      query: async (sql, ...params) => side((db) => db.prepare(sql).all(...params) as Record<string, unknown>[]),
      exec: async (sql) => side((db) => void db.exec(sql)),
      dropAuditGuards: async () => side((db) => AUDIT_GUARDS.forEach(([trigger]) => db.exec(`DROP TRIGGER ${trigger}`))),
      // Every file of the data directory (a serve's checkpoints directory aside).
      rawBytes: async () => Buffer.concat(fs.readdirSync(dir, { withFileTypes: true }).filter((f) => f.isFile()).map((f) => fs.readFileSync(path.join(dir, f.name)))),
      ...instances,
    };
  },
};

// One throw-away database per test file, created on first use; one schema per test inside it, so each
// test starts empty without the cost of creating a database.
let pgDatabase: { name: string; url: string } | undefined;
let schemas = 0;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Integers come back as numbers, as from SQLite (PostgreSQL counts are bigint, which pg gives as text). */
const numericTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/**
 * A side pool on a test database. The database is dropped WITH (FORCE) after the file; a connection
 * still closing at that moment is terminated by the server, which is expected, not a failure.
 */
function sidePool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 1, types: numericTypes });
  pool.on('error', () => {});
  return pool;
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The throw-away database of this test file (created on first call). */
export async function pgTestDatabaseUrl(): Promise<string> {
  if (!pgDatabase) {
    const name = `waybill_test_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    pgDatabase = { name, url: withDatabase(PG_TEST_URL, name) };
  }
  return pgDatabase.url;
}

/** Drops this file's throw-away database; registered with afterAll by importing this module. */
export async function dropPgTestDatabase(): Promise<void> {
  if (!pgDatabase) return;
  const { name } = pgDatabase;
  pgDatabase = undefined;
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

if (typeof afterAll === 'function') afterAll(dropPgTestDatabase);

const postgres: StoreBackend = {
  name: 'PostgreSQL',
  async open() {
    const base = await pgTestDatabaseUrl();
    const schema = `t${process.pid}_${++schemas}`;
    const admin = sidePool(base);
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const location: StoreLocation = { backend: 'postgres', url: url.toString(), poolSize: 4 };
    const stores = await openStores(location, undefined, TEST_TOKEN_KEY);
    const instances = secondInstances(location, stores);
    const side = sidePool(location.url);
    const placeholders = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    return {
      location,
      stores,
      query: async (sql, ...params) => (await side.query(placeholders(sql), params)).rows as Record<string, unknown>[],
      exec: async (sql) => void (await side.query(sql)),
      dropAuditGuards: async () => {
        for (const [trigger, table] of AUDIT_GUARDS) await side.query(`DROP TRIGGER ${trigger} ON ${table}`);
      },
      // Its own connection, so it also works after close().
      rawBytes: async () => {
        const client = new pg.Client({ connectionString: location.url });
        client.on('error', () => {}); // see sidePool
        await client.connect();
        try {
          const tables = await client.query<{ t: string }>('SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema()');
          const parts: string[] = [];
          for (const { t } of tables.rows) parts.push(...(await client.query<{ r: string }>(`SELECT x::text AS r FROM ${t} x`)).rows.map((row) => row.r));
          return Buffer.from(parts.join('\n'));
        } finally {
          await client.end();
        }
      },
      reopen: instances.reopen,
      close: async () => {
        await instances.close();
        await side.end();
      },
    };
  },
};

/** Both backends, for `describe.each(STORE_BACKENDS)('%s …', (backend) => …)`. */
export const STORE_BACKENDS: [StoreBackend['name'], StoreBackend][] = [
  [sqlite.name, sqlite],
  [postgres.name, postgres],
];
