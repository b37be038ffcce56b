// Start-up wiring: configuration in, the embedded store, audit log, courier store, relay and keys out,
// each built once and passed to the use cases.

import path from 'node:path';
import type { Config } from './config/config';
import { PoolRelayProvider } from './relay/poolRelayProvider';
import { parseRelayPool, type RelayNumber } from './relay/relayPool';
import { TelephonyClients } from './relay/telephonyClients';
import { SqliteApiKeyStore } from './store/sqliteApiKeyStore';
import { SqliteAuditLog } from './store/sqliteAuditLog';
import { SqliteIdempotencyStore } from './store/sqliteIdempotencyStore';
import { SqliteCourierStore } from './store/sqliteCourierStore';
import { SqliteRelayStore } from './store/sqliteRelayStore';
import { SqliteStore } from './store/sqliteStore';
import { loadKeys, type Keys } from './vault/keyFile';

export interface Services {
  config: Config;
  store: SqliteStore;
  audit: SqliteAuditLog;
  couriers: SqliteCourierStore;
  keys: Keys;
  apiKeys: SqliteApiKeyStore;
  idempotency: SqliteIdempotencyStore;
  telephony: TelephonyClients;
  relayStore: SqliteRelayStore;
  pool: RelayNumber[];
  /** Present when a relay pool is configured (WAYBILL_RELAY_NUMBERS). */
  relay?: PoolRelayProvider;
  close(): Promise<void>;
}

export function openServices(config: Config, warn: (message: string) => void): Services {
  const pool = parseRelayPool(config.relay.numbers);
  const keys = loadKeys(config, warn);
  const store = SqliteStore.open(path.join(config.dataDir, 'waybill.db'));
  const couriers = new SqliteCourierStore(store.database);
  const relayStore = new SqliteRelayStore(store.database);
  const relay = pool.length
    ? new PoolRelayProvider(relayStore, couriers, keys, {
        pool,
        quarantineDays: config.relay.quarantineDays,
        callerPolicy: config.relay.callerPolicy,
        callLimitSeconds: config.relay.callLimitSeconds,
      })
    : undefined;
  return {
    config,
    store,
    audit: new SqliteAuditLog(store.database),
    couriers,
    keys,
    apiKeys: new SqliteApiKeyStore(store.database),
    idempotency: new SqliteIdempotencyStore(store.database),
    telephony: new TelephonyClients(store.database),
    relayStore,
    pool,
    ...(relay ? { relay } : {}),
    close: () => store.close(),
  };
}

/** The relay settings the print and lifecycle use cases take, when a pool is configured. */
export function relayDeps(s: Services) {
  return s.relay && { provider: s.relay, afterSalesDays: s.config.relay.afterSalesDays, maxDays: s.config.relay.maxDays };
}
