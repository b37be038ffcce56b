// Picks the backend and opens every store on it: SQLite (one embedded file, the default) or PostgreSQL
// (one pg.Pool shared by all stores; several service instances may share the database). Migrations are
// applied on open, safely when several processes start at once, on both backends.

import { ChainedAuditLog } from '../audit/auditLog';
import { RefusalTally, TAMPERED_ROW_WINDOW_MS } from '../audit/refusalTally';
import type { CredentialTampered } from '../auth/credentials';
import type { AuditKeyRing } from '../audit/auditRecord';
import { ApiKeyStore } from '../auth/apiKeyStore';
import { SqlApiKeyRepository } from './apiKeyRepository';
import { SqlAuditRepository } from './auditRepository';
import { SqlIdempotencyRepository } from './idempotencyRepository';
import { SqlPrinterRepository } from './printerRepository';
import { SqlPrintLeaseRepository } from './printLeaseRepository';
import { SqlRateBucketRepository } from './rateBucketRepository';
import { bindUnboundTerms, SqlRelayRepository } from './relayRepository';
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
import { bindUnboundLives } from './waybillLife';
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
  const opened =
    location.backend === 'postgres'
      ? await openPostgres(location.url, location.poolSize)
      : SqliteStore.open(location.file, { checkpoints: location.checkpoints ?? 'own' });
  const database = opened instanceof SqliteStore ? sqliteDatabase(opened.database) : opened;
  const stores = { backend: location.backend, ...repositories(database, auditKeys, tokenKey), close: () => opened.close() };
  try {
    if (tokenKey) {
      // Migration 38: the credentials (API keys, couriers, devices, telephony clients).
      await bindOwed(database, stores.audit, 'credential_binding_due', 'credential_bind', async () => ({
        bound: (await stores.apiKeys.bindUnbound()) + (await stores.couriers.bindUnbound()) + (await stores.telephony.bindUnbound()),
      }));
      // Migration 39: the waybills' states and the relay bindings' terms.
      await bindOwed(database, stores.audit, 'waybill_binding_due', 'waybill_bind', async () => ({
        waybills: await bindUnboundLives(database, tokenKey),
        relayBindings: await bindUnboundTerms(database, tokenKey),
      }));
    }
  } catch (e) {
    await stores.close();
    throw e;
  }
  return stores;
}

/** The aggregates written once over both databases. */
function repositories(database: Database, auditKeys: AuditKeyRing | undefined, tokenKey: Buffer | undefined) {
  const outbox = new OutboxWriter(tokenKey);
  const store = new SqlWaybillRepository(database, outbox, tokenKey);
  const audit = new ChainedAuditLog(new SqlAuditRepository(database), auditKeys);
  const tampered = tamperAlarm(store, audit);
  return {
    store,
    apiKeys: new ApiKeyStore(new SqlApiKeyRepository(database), tokenKey, tampered),
    audit,
    couriers: new CourierStore(new SqlCourierRepository(database), tokenKey, tampered),
    telephony: new TelephonyClients(new SqlTelephonyClientRepository(database), tokenKey, tampered),
    idempotency: new IdempotencyStore(new SqlIdempotencyRepository(database)),
    printers: new SqlPrinterRepository(database),
    leases: new SqlPrintLeaseRepository(database),
    rateBuckets: new RateBuckets(new SqlRateBucketRepository(database)),
    relay: new RelayStore(new SqlRelayRepository(database, outbox, tokenKey)),
    webhooks: new SqlWebhookRepository(database),
    stations: new SqlStationRepository(database, outbox, tokenKey),
  };
}

/**
 * Binds the rows an earlier release made without a binding, once: the first open with the keys after the
 * migration that left `marker` finds it, binds them (`bind` says how many of what), deletes the marker and
 * (when there were any) writes an audit record `action` with the counts. From then on a row without its
 * binding is refused. A crash in between leaves the marker, and the next open binds what is left.
 */
async function bindOwed(
  database: Database,
  audit: Stores['audit'],
  marker: 'credential_binding_due' | 'waybill_binding_due',
  action: 'credential_bind' | 'waybill_bind',
  bind: () => Promise<Record<string, number>>,
): Promise<void> {
  if (!(await database.db.selectFrom(marker).select('id').executeTakeFirst())) return;
  const counts = await bind();
  if (Object.values(counts).some((n) => n > 0)) await audit.append({ at: new Date().toISOString(), actor: 'system', action, outcome: 'ok', detail: counts });
  await database.db.deleteFrom(marker).execute();
}

// A changed credential refused again and again is one alert and one audit record an hour per process, so
// that retries cannot flood either.
/** What a credential refused for a changed row raises: an alert (`credential_tampered`) and an audit record. */
function tamperAlarm(store: WaybillStore, audit: ChainedAuditLog): CredentialTampered {
  const tally = new RefusalTally(TAMPERED_ROW_WINDOW_MS);
  return async (what, id) => {
    const now = new Date();
    if (!tally.take(`${what}:${id}`, now)) return;
    const at = now.toISOString();
    const detail = `${what} ${id}: its row was changed outside the service; the credential is refused`;
    // The request is refused either way: a failed write must not make it a 500.
    await Promise.all([
      store.recordAlert({ at, kind: 'credential_tampered', detail }),
      audit.append({ at, actor: 'system', action: 'refuse', outcome: 'credential_tampered', detail: { credential: what, id } }),
    ]).catch(() => {});
  };
}
