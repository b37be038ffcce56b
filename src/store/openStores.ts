// Picks the backend and opens every store on it: SQLite (one embedded file, the default) or PostgreSQL
// (one pg.Pool shared by all stores; several service instances may share the database). Migrations are
// applied on open, safely when several processes start at once, on both backends.

import type { AuditLog } from '../audit/auditLog';
import { ApiKeyStore } from '../auth/apiKeyStore';
import { SqlApiKeyRepository } from './apiKeyRepository';
import { postgresDatabase, sqliteDatabase, type Database } from './database';
import type { CourierStore } from '../couriers/courierStore';
import type { IdempotencyStore } from '../http/idempotency';
import type { RateBuckets } from '../http/rateLimit';
import type { PrinterStore } from '../printers/printerStore';
import type { RelayStore } from '../relay/relayStore';
import type { TelephonyClients } from '../relay/telephonyClients';
import { PgDatabase } from './postgres/pgDatabase';
import { PostgresAuditLog } from './postgres/postgresAuditLog';
import { PostgresCourierStore } from './postgres/postgresCourierStore';
import { PostgresIdempotencyStore } from './postgres/postgresIdempotencyStore';
import { PostgresPrinterStore } from './postgres/postgresPrinterStore';
import { PostgresRateBuckets } from './postgres/postgresRateBuckets';
import { PostgresRelayStore } from './postgres/postgresRelayStore';
import { PostgresStore } from './postgres/postgresStore';
import { PostgresTelephonyClients } from './postgres/postgresTelephonyClients';
import { SqliteAuditLog } from './sqliteAuditLog';
import { SqliteCourierStore } from './sqliteCourierStore';
import { SqliteIdempotencyStore } from './sqliteIdempotencyStore';
import { SqlitePrinterStore } from './sqlitePrinterStore';
import { SqliteRateBuckets } from './sqliteRateBuckets';
import { SqliteRelayStore } from './sqliteRelayStore';
import { SqliteStore } from './sqliteStore';
import { SqliteTelephonyClients } from './sqliteTelephonyClients';
import type { Store } from './store';

export type StoreLocation = { backend: 'sqlite'; file: string } | { backend: 'postgres'; url: string; poolSize?: number };

export interface Stores {
  backend: StoreLocation['backend'];
  store: Store;
  /** Both logs can look records up by print job (`waybill audit trace`). */
  audit: Required<AuditLog>;
  couriers: CourierStore;
  apiKeys: ApiKeyStore;
  idempotency: IdempotencyStore;
  telephony: TelephonyClients;
  relay: RelayStore;
  printers: PrinterStore;
  /** Per-credential API request budgets, shared by every instance on this database. */
  rateBuckets: RateBuckets;
  /** Closes the one connection (SQLite) or pool (PostgreSQL) every store here shares. */
  close(): Promise<void>;
}

export async function openStores(location: StoreLocation): Promise<Stores> {
  if (location.backend === 'postgres') {
    const db = await PgDatabase.open(location.url, location.poolSize !== undefined ? { poolSize: location.poolSize } : {});
    const database = postgresDatabase(db.pool);
    return {
      backend: 'postgres',
      store: new PostgresStore(db),
      audit: new PostgresAuditLog(db),
      couriers: new PostgresCourierStore(db),
      ...repositories(database),
      idempotency: new PostgresIdempotencyStore(db),
      telephony: new PostgresTelephonyClients(db),
      relay: new PostgresRelayStore(db),
      printers: new PostgresPrinterStore(db),
      rateBuckets: new PostgresRateBuckets(db),
      close: () => db.close(),
    };
  }
  const store = SqliteStore.open(location.file);
  const db = store.database;
  const database = sqliteDatabase(db);
  return {
    backend: 'sqlite',
    store,
    audit: new SqliteAuditLog(db),
    couriers: new SqliteCourierStore(db),
    ...repositories(database),
    idempotency: new SqliteIdempotencyStore(db),
    telephony: new SqliteTelephonyClients(db),
    relay: new SqliteRelayStore(db),
    printers: new SqlitePrinterStore(db),
    rateBuckets: new SqliteRateBuckets(db),
    close: () => store.close(),
  };
}

/** The aggregates written once over both databases. */
function repositories(database: Database) {
  return { apiKeys: new ApiKeyStore(new SqlApiKeyRepository(database)) };
}
