// Picks the backend and opens every store on it: SQLite (one embedded file, the default) or PostgreSQL
// (one pg.Pool shared by all stores; several service instances may share the database). Migrations are
// applied on open, safely when several processes start at once, on both backends.

import { ChainedAuditLog } from '../audit/auditLog';
import type { AuditKeyRing } from '../audit/auditRecord';
import { ApiKeyStore } from '../auth/apiKeyStore';
import { SqlApiKeyRepository } from './apiKeyRepository';
import { SqlAuditRepository } from './auditRepository';
import { SqlIdempotencyRepository } from './idempotencyRepository';
import { SqlPrinterRepository } from './printerRepository';
import { SqlPrintLeaseRepository } from './printLeaseRepository';
import { SqlRateBucketRepository } from './rateBucketRepository';
import { SqlRelayRepository } from './relayRepository';
import { SqlCourierRepository } from './courierRepository';
import { openPostgres, sqliteDatabase, type Database } from './database';
import { CourierStore } from '../couriers/courierStore';
import { IdempotencyStore } from '../http/idempotency';
import { RateBuckets } from '../http/rateLimit';
import type { PrinterStore } from '../printers/printerStore';
import { RelayStore } from '../relay/relayStore';
import { TelephonyClients } from '../relay/telephonyClients';
import { SqliteStore, type WalCheckpoints } from './sqliteStore';
import { SqlTelephonyClientRepository } from './telephonyClientRepository';
import { SqlWaybillRepository } from './waybillRepository';
import { SqlWebhookRepository } from './webhookRepository';
import { OutboxWriter } from './webhookOutbox';
import { SqlStationRepository } from './stationRepository';
import type { StationStore } from '../stations/stationStore';
import type { WebhookRepository } from '../webhooks/webhookStore';
import type { WaybillStore } from '../waybills/waybillStore';

export type StoreLocation = { backend: 'sqlite'; file: string; checkpoints?: WalCheckpoints } | { backend: 'postgres'; url: string; poolSize?: number };

export interface Stores {
  backend: StoreLocation['backend'];
  store: WaybillStore;
  /** Both logs can look records up by print job (`waybill audit trace`); keyed when audit keys were given. */
  audit: ChainedAuditLog;
  couriers: CourierStore;
  apiKeys: ApiKeyStore;
  idempotency: IdempotencyStore;
  telephony: TelephonyClients;
  relay: RelayStore;
  printers: PrinterStore;
  /** Leases of running prints, and the sweep of dead ones (src/printing/printLeases.ts). */
  leases: SqlPrintLeaseRepository;
  /** Per-credential API request budgets, shared by every instance on this database. */
  rateBuckets: RateBuckets;
  /** Webhook endpoints and the outbox (its rows are written by the state changes' own transactions). */
  webhooks: WebhookRepository;
  /** Parcel-station arrivals and verify attempts. */
  stations: StationStore;
  /** Closes the one connection (SQLite) or pool (PostgreSQL) every store here shares. */
  close(): Promise<void>;
}

/**
 * `auditKeys`: the audit chain's keys (held outside the database); without them the chain is linked by
 * plain hashes. `tokenKey` (held outside the database too): keys the stored hashes of courier pairing
 * codes and seals webhook outbox rows.
 */
export async function openStores(location: StoreLocation, auditKeys?: AuditKeyRing, tokenKey?: Buffer): Promise<Stores> {
  if (location.backend === 'postgres') {
    const database = await openPostgres(location.url, location.poolSize);
    return {
      backend: 'postgres',
      ...repositories(database, auditKeys, tokenKey),
      close: () => database.close(),
    };
  }
  const store = SqliteStore.open(location.file, { checkpoints: location.checkpoints ?? 'own' });
  const db = store.database;
  const database = sqliteDatabase(db);
  return {
    backend: 'sqlite',
    ...repositories(database, auditKeys, tokenKey),
    close: () => store.close(),
  };
}

/** The aggregates written once over both databases. */
function repositories(database: Database, auditKeys: AuditKeyRing | undefined, tokenKey: Buffer | undefined) {
  const outbox = new OutboxWriter(tokenKey);
  return {
    store: new SqlWaybillRepository(database, outbox),
    apiKeys: new ApiKeyStore(new SqlApiKeyRepository(database)),
    audit: new ChainedAuditLog(new SqlAuditRepository(database), auditKeys),
    couriers: new CourierStore(new SqlCourierRepository(database), tokenKey),
    telephony: new TelephonyClients(new SqlTelephonyClientRepository(database)),
    idempotency: new IdempotencyStore(new SqlIdempotencyRepository(database)),
    printers: new SqlPrinterRepository(database),
    leases: new SqlPrintLeaseRepository(database),
    rateBuckets: new RateBuckets(new SqlRateBucketRepository(database)),
    relay: new RelayStore(new SqlRelayRepository(database, outbox)),
    webhooks: new SqlWebhookRepository(database),
    stations: new SqlStationRepository(database, outbox),
  };
}
