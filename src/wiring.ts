// Start-up wiring: configuration in, the embedded store, audit log, courier store and keys out, each
// built once and passed to the use cases.

import path from 'node:path';
import type { Config } from './config/config';
import { SqliteAuditLog } from './store/sqliteAuditLog';
import { SqliteCourierStore } from './store/sqliteCourierStore';
import { SqliteStore } from './store/sqliteStore';
import { loadKeys, type Keys } from './vault/keyFile';

export interface Services {
  config: Config;
  store: SqliteStore;
  audit: SqliteAuditLog;
  couriers: SqliteCourierStore;
  keys: Keys;
  close(): Promise<void>;
}

export function openServices(config: Config, warn: (message: string) => void): Services {
  const keys = loadKeys(config, warn);
  const store = SqliteStore.open(path.join(config.dataDir, 'waybill.db'));
  return {
    config,
    store,
    audit: new SqliteAuditLog(store.database),
    couriers: new SqliteCourierStore(store.database),
    keys,
    close: () => store.close(),
  };
}
