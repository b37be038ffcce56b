// Start-up wiring: configuration in, the embedded store, audit log, courier store, relay and keys out,
// each built once and passed to the use cases.

import os from 'node:os';
import path from 'node:path';
import { AUDIT_GROUP, type ChainedAuditLog, type CheckpointHead } from './audit/auditLog';
import type { ApiKeyStore } from './auth/apiKeyStore';
import type { Config } from './config/config';
import type { CourierStore } from './couriers/courierStore';
import type { IdempotencyStore } from './http/idempotency';
import type { RateBuckets } from './http/rateLimit';
import type { RelayPoolReading } from './http/metrics';
import { PrintLeases } from './printing/printLeases';
import { PoolRelayProvider } from './relay/poolRelayProvider';
import { parseRelayPool, type RelayNumber } from './relay/relayPool';
import type { RelayStore } from './relay/relayStore';
import type { TelephonyClients } from './relay/telephonyClients';
import { openStores, type StoreLocation } from './store/openStores';
import type { WalCheckpoints } from './store/sqliteStore';
import type { WaybillStore } from './waybills/waybillStore';
import { failAbandoned, type DeliveryDeps } from './printers/deliverJob';
import type { PrinterStore } from './printers/printerStore';
import { sendRaw } from './printers/rawTcp';
import { networkPolicy, printerAddress, type NetworkPolicy } from './printers/networkPolicy';
import { jobPrintRefusal } from './waybills/printable';
import { loadKeys, type Keys } from './vault/keyFile';
import { PRIVATE_RANGES } from './printers/networkPolicy';
import type { WebhookRepository } from './webhooks/webhookStore';
import type { WebhookDeliveryDeps } from './webhooks/webhooks';
import { webhookSender } from './webhooks/send';
import type { StationStore } from './stations/stationStore';
import { forgetOldAlerts, forgetOldAttempts } from './waybills/attemptRetention';
import { purgeDue, settleRelayDue } from './waybills/lifecycle';
import { deleteFinishedEvents } from './webhooks/webhooks';

export interface Services {
  config: Config;
  /** Which database the stores below live in: the embedded SQLite file or a shared PostgreSQL. */
  backend: StoreLocation['backend'];
  store: WaybillStore;
  /** Keyed with keys.audit when configured (key file or WAYBILL_AUDIT_KEY). */
  audit: ChainedAuditLog;
  couriers: CourierStore;
  keys: Keys;
  apiKeys: ApiKeyStore;
  idempotency: IdempotencyStore;
  telephony: TelephonyClients;
  relayStore: RelayStore;
  printers: PrinterStore;
  /** Leases of running prints: their relay bindings are provisional until saved; swept when the run dies. */
  leases: PrintLeases;
  rateBuckets: RateBuckets;
  webhooks: WebhookRepository;
  stations: StationStore;
  pool: RelayNumber[];
  /** Present when a relay pool is configured (WAYBILL_RELAY_NUMBERS). */
  relay?: PoolRelayProvider;
  close(): Promise<void>;
}

/** Where the stores live: PostgreSQL when DATABASE_URL is set, else the SQLite file in the data dir. */
export function storeLocation(config: Config): StoreLocation {
  return config.databaseUrl
    ? { backend: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize }
    : { backend: 'sqlite', file: sqliteFile(config) };
}

/** The embedded store's file, in the data directory. */
export function sqliteFile(config: Config): string {
  return path.join(config.dataDir, 'waybill.db');
}

/** `checkpoints: 'elsewhere'`: a `serve --workers` worker, whose primary checkpoints the SQLite file (sqliteStore.ts). */
export async function openServices(config: Config, warn: (message: string) => void, options: { checkpoints?: WalCheckpoints } = {}): Promise<Services> {
  const pool = parseRelayPool(config.relay.numbers);
  const keys = loadKeys(config, warn);
  const location = storeLocation(config);
  const stores = await openStores(location.backend === 'sqlite' ? { ...location, ...options } : location, keys.audit, keys.tokenKey);
  const relay = pool.length
    ? new PoolRelayProvider(stores.relay, stores.couriers, keys, {
        pool,
        quarantineDays: config.relay.quarantineDays,
        callerPolicy: config.relay.callerPolicy,
        callLimitSeconds: config.relay.callLimitSeconds,
        clientShare: config.relay.clientShare,
      })
    : undefined;
  return {
    config,
    backend: stores.backend,
    store: stores.store,
    audit: stores.audit,
    couriers: stores.couriers,
    keys,
    apiKeys: stores.apiKeys,
    idempotency: stores.idempotency,
    telephony: stores.telephony,
    relayStore: stores.relay,
    printers: stores.printers,
    leases: new PrintLeases(stores.leases, { holdSeconds: config.relay.provisionalHoldSeconds, quarantineDays: config.relay.quarantineDays }),
    rateBuckets: stores.rateBuckets,
    webhooks: stores.webhooks,
    stations: stores.stations,
    pool,
    ...(relay ? { relay } : {}),
    close: () => stores.close(),
  };
}

/** The relay pool's utilisation, for /metrics; none without a pool. */
export function relayPoolReading(s: Services, now: () => Date = () => new Date()): RelayPoolReading | undefined {
  return s.pool.length ? { utilisation: () => s.relayStore.utilisation(s.pool, now()) } : undefined;
}

/** Signing the audit head into the checkpoint directory (`waybill audit checkpoint`, serve's schedule). */
export function checkpointDeps(s: Services, now: () => Date = () => new Date()) {
  return { dir: s.config.auditCheckpointDir, signer: s.keys.auditSigner, head: (after?: CheckpointHead) => s.audit.checkpointHead(after), now };
}

/**
 * What killed prints left: their leases' leftovers (provisional relay numbers, staged records, .partial
 * files), and the audit records a save kept that its process did not live to append.
 */
export async function sweepDeadPrints(s: Services) {
  const dead = await s.leases.sweep();
  let audited = 0;
  for (let n = 1; n; audited += n) n = (await s.audit.appendPending?.(AUDIT_GROUP)) ?? 0;
  return { ...dead, audited };
}

/**
 * What time has run out on, shredded or deleted: what `waybill purge` does once and `serve` every minute
 * (with its own process-level clean-ups). Returns how many of each.
 */
export async function sweepExpired(s: Services, now: () => Date) {
  const relay = relayDeps(s);
  // First what events still owe their relay numbers (a delivery's shorter life), so that the expiry below sees it.
  const relayChangesMade = await settleRelayDue({ store: s.store, now, ...(relay ? { relay } : {}) });
  const shredded = await purgeDue({ store: s.store, audit: s.audit, retentionGraceDays: s.config.retentionGraceDays, now, ...(relay ? { relay } : {}) });
  const relayBindingsExpired = await s.relayStore.expireDue(now());
  const printJobsExpired = await s.printers.expireDeliveries(new Date(now().getTime() - s.config.printers.jobHours * 3_600_000), now());
  const printJobsAbandoned = (await failAbandoned({ printers: s.printers, audit: s.audit, now }, 'system')).length;
  const webhookEventsDeleted = await deleteFinishedEvents(s.webhooks, s.config.webhooks.webhookKeepDays, now());
  const attemptsForgotten = await forgetOldAttempts({ store: s.store, stations: s.stations }, now());
  const callReceiptsForgotten = await s.relayStore.forgetOldCalls(now());
  const alertsForgotten = await forgetOldAlerts(s.store, s.config.alertKeepDays, now());
  const telephonyAnswersForgotten = await s.telephony.forgetOldAnswers(now());
  if (shredded || relayBindingsExpired || printJobsExpired) await s.store.dropOldPages();
  return { relayChangesMade, shredded, relayBindingsExpired, printJobsExpired, printJobsAbandoned, webhookEventsDeleted, attemptsForgotten, callReceiptsForgotten, alertsForgotten, telephonyAnswersForgotten };
}

/** The relay settings the print and lifecycle use cases take, when a pool is configured. */
export function relayDeps(s: Services) {
  return s.relay && { provider: s.relay, afterSalesDays: s.config.relay.afterSalesDays, maxDays: s.config.relay.maxDays };
}

/**
 * Where printers may be (WAYBILL_PRINTER_NETWORKS). The service's own ports: WAYBILL_PORT, and in `serve`
 * the port it actually listens on (`listening`).
 */
export function printerNetworkPolicy(config: Config, listening: () => readonly number[] = () => []): NetworkPolicy {
  return networkPolicy(
    config.printers.networks,
    () => [config.http.port, ...listening()],
    () => Object.values(os.networkInterfaces()).flatMap((addresses) => (addresses ?? []).map((a) => a.address)),
  );
}

/** Sending print jobs to network printers over raw TCP, with the configured timeouts and retries. */
export function deliveryDeps(s: Services, now: () => Date = () => new Date(), listening?: () => readonly number[]): DeliveryDeps {
  const p = s.config.printers;
  const opts = { connectTimeoutMs: p.connectTimeoutSeconds * 1000, idleTimeoutMs: p.idleTimeoutSeconds * 1000 };
  const policy = printerNetworkPolicy(s.config, listening);
  return {
    printers: s.printers,
    audit: s.audit,
    ring: s.keys.ring,
    send: (to, bytes) => sendRaw(to, bytes, opts),
    route: (printer) => printerAddress(printer, policy),
    attempts: p.attempts,
    backoffMs: p.retryBackoffMs,
    now,
    sendRefusal: (jobId) => jobPrintRefusal(s.store, jobId, now()),
  };
}

/**
 * Where webhook endpoints may be (WAYBILL_WEBHOOK_NETWORKS, default every public address): loopback,
 * link-local (metadata), unspecified, multicast, broadcast and the private ranges only when listed.
 */
export function webhookNetworkPolicy(config: Config, listening: () => readonly number[] = () => []): NetworkPolicy {
  return networkPolicy(
    config.webhooks.webhookNetworks,
    () => [config.http.port, ...listening()],
    () => Object.values(os.networkInterfaces()).flatMap((addresses) => (addresses ?? []).map((a) => a.address)),
    { setting: 'WAYBILL_WEBHOOK_NETWORKS', reserved: PRIVATE_RANGES },
  );
}

/** The webhook delivery worker's settings: one pass claims due outbox rows and sends them. */
export function webhookDeliveryDeps(s: Services, worker: string, now: () => Date = () => new Date(), listening?: () => readonly number[]): WebhookDeliveryDeps {
  const w = s.config.webhooks;
  const timeoutMs = w.webhookTimeoutSeconds * 1000;
  return {
    repo: s.webhooks,
    ring: s.keys.ring,
    send: webhookSender(webhookNetworkPolicy(s.config, listening), timeoutMs),
    now,
    worker,
    retryHours: w.webhookRetryHours,
    backoffMs: w.webhookBackoffSeconds * 1000,
    maxBackoffMs: w.webhookBackoffMaxSeconds * 1000,
    // A claim outlasts the longest send (its timeout) with room, so it is never taken over mid-send.
    claimMs: timeoutMs * 2 + 5000,
    batch: 50,
    sealKey: s.keys.tokenKey,
    alert: async (kind, detail, at) => void (await s.store.recordAlert({ at, kind, detail })),
  };
}
