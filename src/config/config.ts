// Configuration: read once from the environment (over the data directory's optional waybill.config.json),
// validated, then passed in. Nothing else reads process.env.

import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { issuesFromZod } from '../validation/zodIssues';
import { suggestion } from '../validation/suggestion';
import { parseJsonText } from '../validation/jsonText';
import { parseRelayPool } from '../relay/relayPool';

/** A master or audit key's id, as settings, the key file and records name it. */
export const KEY_ID = /^[A-Za-z0-9._-]{1,40}$/;
export const KEY_ID_RULE = 'must be 1–40 letters, digits, dot, dash or underscore';

const base64Key = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)')
  // A key typed by hand (all zeros, one byte repeated) is no secret: a random one repeats few of its bytes.
  .refine((s) => new Set(Buffer.from(s, 'base64')).size >= 16, 'must be random bytes (openssl rand -base64 32), not a typed pattern');

/**
 * A number of a setting: written in decimal, as people type them (`0x10`, `1e3` or `12abc` are more likely
 * slips than meant). A number from the settings file passes as it is.
 */
function decimal(schema: z.ZodNumber) {
  return z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), schema);
}

/** Where PostgreSQL is: the stores' DATABASE_URL, or the target of `waybill store copy --to`. */
export const DatabaseUrl = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// (or postgresql://) URL');

export const Config = z
  .object({
    /** Where the embedded store and its generated key file live. */
    dataDir: z.string().min(1),
    /**
     * A PostgreSQL connection URL (postgres://user:pass@host:5432/db): the stores then live there, shared
     * by every instance pointed at it, instead of the SQLite file in dataDir.
     */
    databaseUrl: DatabaseUrl.optional(),
    /** Connections each instance keeps open to PostgreSQL. */
    databasePoolSize: decimal(z.number().int().min(1).max(200)),
    /** The QR codes point here: `<scanBaseUrl>/w/<token>`. */
    scanBaseUrl: z
      .string()
      .url()
      .refine((u) => /^https?:/.test(u), 'must be an http(s) URL')
      // It is printed in every QR code: a password there would be on paper, and a query or fragment would cut the token off.
      .refine((u) => URL.canParse(u) && ((url) => !url.username && !url.password && !url.search && !url.hash)(new URL(u)), 'must hold no user, password, query or fragment'),
    templatesDir: z.string().min(1),
    masterKey: base64Key.optional(),
    masterKeyId: z.string().regex(KEY_ID, KEY_ID_RULE),
    tokenKey: base64Key.optional(),
    /** Retired-but-still-needed master keys during a rotation: "id:base64,id:base64". */
    previousMasterKeys: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,40}:[A-Za-z0-9+/=]{43,44}(,[A-Za-z0-9._-]{1,40}:[A-Za-z0-9+/=]{43,44})*$/, 'must be id:base64 pairs separated by commas')
      .optional(),
    /** Links the audit chain (HMAC-SHA256); kept off the database host. Unset: the key file's (embedded default) or none. */
    auditKey: base64Key.optional(),
    auditKeyId: z.string().regex(KEY_ID, KEY_ID_RULE),
    /** Older audit keys that records still name: "id:base64,id:base64". */
    previousAuditKeys: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,40}:[A-Za-z0-9+/=]{43,44}(,[A-Za-z0-9._-]{1,40}:[A-Za-z0-9+/=]{43,44})*$/, 'must be id:base64 pairs separated by commas')
      .optional(),
    /** The Ed25519 private key (its 32-byte seed, base64) that signs audit checkpoints. */
    auditSigningKey: base64Key.optional(),
    /** Where checkpoints are appended (one JSON line each), and how often `serve` writes one (0: never). */
    auditCheckpointDir: z.string().min(1),
    auditCheckpointMinutes: decimal(z.number().min(0).max(1440)),
    /** Sealed data is shredded this long after delivery or cancellation… */
    retentionGraceDays: decimal(z.number().min(0).max(365)),
    /** …and in any case this long after printing. */
    maxLifetimeDays: decimal(z.number().min(1).max(3650)),
    /** Alerts (ids and reasons, an investigation's leads) are deleted this long after they were raised. */
    alertKeepDays: decimal(z.number().min(1).max(3650)),
    relay: z.object({
      /** The virtual number pool: "+8617000001234,+8617000001235/3" (extension length after /, default 4). */
      numbers: z.string().superRefine((text, ctx) => {
        try {
          parseRelayPool(text);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
      afterSalesDays: decimal(z.number().min(0).max(365)),
      maxDays: decimal(z.number().min(1).max(365)),
      quarantineDays: decimal(z.number().min(0).max(3650)),
      callerPolicy: z.enum(['anyone', 'couriers', 'parties']),
      callLimitSeconds: decimal(z.number().int().min(10).max(7200)),
      /** The share of the pool's slots one API client may hold; beyond, its labels show the service number. */
      clientShare: decimal(z.number().gt(0).max(1)),
      /** How long a print that stopped (killed, stalled) holds its provisional bindings before the sweep frees them. */
      provisionalHoldSeconds: decimal(z.number().min(1).max(3600)),
    }),
    telephony: z.object({
      /** Resolve requests and call receipts per second per telephony credential (429 beyond). */
      requestsPerSecond: decimal(z.number().int().min(1)),
      /** More `unknown` resolve answers than this within a minute, or an hour, suspend the client (a sweep). */
      unknownPerMinute: decimal(z.number().int().min(1)),
      unknownPerHour: decimal(z.number().int().min(1)),
      /** Resolves reaching more distinct bindings than this in an hour, or a day, suspend the client (a harvest). */
      bindingsPerHour: decimal(z.number().int().min(1)),
      bindingsPerDay: decimal(z.number().int().min(1)),
    }),
    http: z.object({
      port: decimal(z.number().int().min(0).max(65535)),
      host: z.string().min(1),
      defaultTemplate: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a template id'),
      batchMaxOrders: decimal(z.number().int().min(1).max(100_000)),
      batchBodyLimit: z.string().regex(/^\d+(kb|mb)$/, 'must be a size such as 32mb'),
      ratePerSecond: decimal(z.number().int().min(1)),
      maxConcurrentBatches: decimal(z.number().int().min(1).max(64)),
      /** Batches of one client running at once, across every instance on the database. */
      maxConcurrentBatchesPerClient: decimal(z.number().int().min(1).max(64)),
      /** A batch whose client reads nothing for this long is cut off. */
      batchIdleSeconds: decimal(z.number().min(1).max(3600)),
      shutdownGraceSeconds: decimal(z.number().min(0).max(600)),
      /** How long an idle connection is kept for the client's next request: past any proxy's in front. */
      keepAliveSeconds: decimal(z.number().min(1).max(600)),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']),
      /** `serve` worker processes (node cluster); unset: one per core. `--workers` wins. */
      workers: decimal(z.number().int().min(1).max(64)).optional(),
    }),
    printers: z.object({
      connectTimeoutSeconds: decimal(z.number().min(0.1).max(120)),
      idleTimeoutSeconds: decimal(z.number().min(1).max(600)),
      /** Sends of one job per request when the printer refuses or cannot be reached (nothing printed yet). */
      attempts: decimal(z.number().int().min(1).max(10)),
      retryBackoffMs: decimal(z.number().int().min(0).max(60_000)),
      /** Undelivered jobs are kept (sealed) this long for a retry, then their bytes are shredded. */
      jobHours: decimal(z.number().min(1).max(720)),
      /** Where printers may be: CIDR ranges (src/printers/networkPolicy.ts). IPv4 four-part only: "10/8" would read as 0.0.0.10/8. */
      networks: z
        .string()
        .refine(
          (list) => list.split(',').every((r) => ipaddr.IPv4.isValidCIDRFourPartDecimal(r.trim()) || (r.includes(':') && ipaddr.IPv6.isValidCIDR(r.trim()))),
          'must be CIDR ranges separated by commas, e.g. 10.0.0.0/8,fc00::/7',
        )
        .transform((list) => list.split(',').map((r) => r.trim())),
    }),
    webhooks: z.object({
      /** Where webhook endpoints may be (the printers' policy; private ranges reserved too). */
      webhookNetworks: z
        .string()
        .refine(
          (list) => list.split(',').every((r) => ipaddr.IPv4.isValidCIDRFourPartDecimal(r.trim()) || (r.includes(':') && ipaddr.IPv6.isValidCIDR(r.trim()))),
          'must be CIDR ranges separated by commas, e.g. 0.0.0.0/0,::/0',
        )
        .transform((list) => list.split(',').map((r) => r.trim())),
      /** How long an event is retried, and an endpoint may fail, before it is given up / disabled. */
      webhookRetryHours: decimal(z.number().gt(0).max(720)),
      webhookBackoffSeconds: decimal(z.number().min(0.01).max(3600)),
      webhookBackoffMaxSeconds: decimal(z.number().min(0.01).max(86_400)),
      webhookTimeoutSeconds: decimal(z.number().min(0.1).max(60)),
      webhookPollMs: decimal(z.number().int().min(10).max(60_000)),
      /** Delivered and given-up outbox rows are deleted this many days after they finished. */
      webhookKeepDays: decimal(z.number().min(0).max(3650)),
    }),
    scan: z.object({
      perMinute: decimal(z.number().int().min(1)),
      distinctPerDay: decimal(z.number().int().min(1)),
      harvestDistinctPerDay: decimal(z.number().int().min(1)),
      harvestUnknownPerHour: decimal(z.number().int().min(1)),
      harvestOutOfRoutePerDay: decimal(z.number().int().min(1)),
      /** Only couriers whose routes match the waybill's routing code may scan it. */
      strict: z.enum(['true', 'false']).transform((v) => v === 'true'),
      /**
       * Admin keys may issue courier pairing codes (POST /v1/couriers/{id}/pairings). By default only the
       * operator may (`waybill couriers pair`): a code's holder gets a courier's scans, so an admin key
       * alone would otherwise be a courier.
       */
      pairingByApi: z.enum(['true', 'false']).transform((v) => v === 'true'),
    }),
    courierEvents: z.object({
      eventsPerMinute: decimal(z.number().int().min(1)),
      /** More closing events (delivered, returned) than this in a minute suspend the courier. */
      closeBurst: decimal(z.number().int().min(1)),
    }),
    /** Parcel stations: verify requests per station and minute, wrong answers per waybill and day, the match's reach. */
    stations: z.object({
      verifyPerMinute: decimal(z.number().int().min(1)),
      wrongPerWaybillDay: decimal(z.number().int().min(1)),
      /** More wrong answers than this in an hour, about any parcels, suspend the station (a sweep of digits). */
      wrongPerHour: decimal(z.number().int().min(1)),
      matchMinutes: decimal(z.number().int().min(1).max(1440)),
      /** Arrivals by the waybill number alone (no proof the parcel is there); by default only by its QR code. */
      arrivalByNumber: z.enum(['true', 'false']).transform((v) => v === 'true'),
    }),
    auth: z.object({
      /** Refused credentials per minute one source address may keep sending (429 beyond)… */
      failuresPerMinute: decimal(z.number().gt(0).max(100_000)),
      /** …after a first burst of this many. */
      failureBurst: decimal(z.number().int().min(1).max(100_000)),
      /**
       * Express's `trust proxy`: a hop count or a list of proxy addresses (IP, CIDR, loopback, linklocal,
       * uniquelocal) whose X-Forwarded-For is believed. Unset: the socket's address, never the header.
       */
      trustProxy: z
        .string()
        .optional()
        .refine((v) => v === undefined || /^\d{1,2}$/.test(v) || v.split(',').every((p) => isProxyAddress(p.trim())), {
          message: 'must be a hop count or a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal',
        })
        .transform((v) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : v)),
    }),
  })
  .refine((c) => (c.masterKey === undefined) === (c.tokenKey === undefined), {
    message: 'WAYBILL_MASTER_KEY and WAYBILL_TOKEN_KEY are set together (or neither, for a generated key file)',
    path: ['tokenKey'],
  });
export type Config = z.infer<typeof Config>;

const ENV_NAMES: Record<string, string> = {
  dataDir: 'WAYBILL_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  databasePoolSize: 'WAYBILL_DATABASE_POOL_SIZE',
  scanBaseUrl: 'WAYBILL_SCAN_BASE_URL',
  templatesDir: 'WAYBILL_TEMPLATES_DIR',
  masterKey: 'WAYBILL_MASTER_KEY',
  masterKeyId: 'WAYBILL_MASTER_KEY_ID',
  tokenKey: 'WAYBILL_TOKEN_KEY',
  previousMasterKeys: 'WAYBILL_PREVIOUS_MASTER_KEYS',
  auditKey: 'WAYBILL_AUDIT_KEY',
  auditKeyId: 'WAYBILL_AUDIT_KEY_ID',
  previousAuditKeys: 'WAYBILL_PREVIOUS_AUDIT_KEYS',
  auditSigningKey: 'WAYBILL_AUDIT_SIGNING_KEY',
  auditCheckpointDir: 'WAYBILL_AUDIT_CHECKPOINT_DIR',
  auditCheckpointMinutes: 'WAYBILL_AUDIT_CHECKPOINT_MINUTES',
  retentionGraceDays: 'WAYBILL_RETENTION_GRACE_DAYS',
  maxLifetimeDays: 'WAYBILL_MAX_LIFETIME_DAYS',
  alertKeepDays: 'WAYBILL_ALERT_KEEP_DAYS',
  port: 'WAYBILL_PORT',
  host: 'WAYBILL_HOST',
  defaultTemplate: 'WAYBILL_DEFAULT_TEMPLATE',
  batchMaxOrders: 'WAYBILL_BATCH_MAX_ORDERS',
  batchBodyLimit: 'WAYBILL_BATCH_BODY_LIMIT',
  ratePerSecond: 'WAYBILL_API_RATE_PER_SECOND',
  maxConcurrentBatches: 'WAYBILL_MAX_CONCURRENT_BATCHES',
  shutdownGraceSeconds: 'WAYBILL_SHUTDOWN_GRACE_SECONDS',
  keepAliveSeconds: 'WAYBILL_KEEP_ALIVE_SECONDS',
  logLevel: 'WAYBILL_LOG_LEVEL',
  workers: 'WAYBILL_WORKERS',
  connectTimeoutSeconds: 'WAYBILL_PRINTER_CONNECT_TIMEOUT_SECONDS',
  idleTimeoutSeconds: 'WAYBILL_PRINTER_IDLE_TIMEOUT_SECONDS',
  attempts: 'WAYBILL_PRINTER_ATTEMPTS',
  retryBackoffMs: 'WAYBILL_PRINTER_RETRY_BACKOFF_MS',
  jobHours: 'WAYBILL_PRINTER_JOB_HOURS',
  networks: 'WAYBILL_PRINTER_NETWORKS',
  webhookNetworks: 'WAYBILL_WEBHOOK_NETWORKS',
  webhookRetryHours: 'WAYBILL_WEBHOOK_RETRY_HOURS',
  webhookBackoffSeconds: 'WAYBILL_WEBHOOK_BACKOFF_SECONDS',
  webhookBackoffMaxSeconds: 'WAYBILL_WEBHOOK_BACKOFF_MAX_SECONDS',
  webhookTimeoutSeconds: 'WAYBILL_WEBHOOK_TIMEOUT_SECONDS',
  webhookPollMs: 'WAYBILL_WEBHOOK_POLL_MS',
  webhookKeepDays: 'WAYBILL_WEBHOOK_KEEP_DAYS',
  perMinute: 'WAYBILL_SCAN_PER_MINUTE',
  distinctPerDay: 'WAYBILL_SCAN_DISTINCT_PER_DAY',
  harvestDistinctPerDay: 'WAYBILL_HARVEST_DISTINCT_PER_DAY',
  harvestUnknownPerHour: 'WAYBILL_HARVEST_UNKNOWN_PER_HOUR',
  harvestOutOfRoutePerDay: 'WAYBILL_HARVEST_OUT_OF_ROUTE_PER_DAY',
  strict: 'WAYBILL_SCAN_STRICT',
  pairingByApi: 'WAYBILL_COURIER_PAIRING_BY_API',
  eventsPerMinute: 'WAYBILL_COURIER_EVENTS_PER_MINUTE',
  closeBurst: 'WAYBILL_COURIER_CLOSE_BURST',
  verifyPerMinute: 'WAYBILL_STATION_VERIFY_PER_MINUTE',
  wrongPerWaybillDay: 'WAYBILL_STATION_WRONG_PER_WAYBILL_DAY',
  wrongPerHour: 'WAYBILL_STATION_WRONG_PER_HOUR',
  matchMinutes: 'WAYBILL_STATION_MATCH_MINUTES',
  arrivalByNumber: 'WAYBILL_STATION_ARRIVAL_BY_NUMBER',
  numbers: 'WAYBILL_RELAY_NUMBERS',
  afterSalesDays: 'WAYBILL_RELAY_AFTER_SALES_DAYS',
  maxDays: 'WAYBILL_RELAY_MAX_DAYS',
  quarantineDays: 'WAYBILL_RELAY_QUARANTINE_DAYS',
  callerPolicy: 'WAYBILL_RELAY_CALLER_POLICY',
  callLimitSeconds: 'WAYBILL_RELAY_CALL_LIMIT_SECONDS',
  clientShare: 'WAYBILL_RELAY_CLIENT_SHARE',
  provisionalHoldSeconds: 'WAYBILL_RELAY_PROVISIONAL_HOLD_SECONDS',
  maxConcurrentBatchesPerClient: 'WAYBILL_MAX_CONCURRENT_BATCHES_PER_CLIENT',
  batchIdleSeconds: 'WAYBILL_BATCH_IDLE_SECONDS',
  requestsPerSecond: 'WAYBILL_TELEPHONY_REQUESTS_PER_SECOND',
  unknownPerMinute: 'WAYBILL_TELEPHONY_UNKNOWN_PER_MINUTE',
  unknownPerHour: 'WAYBILL_TELEPHONY_UNKNOWN_PER_HOUR',
  bindingsPerHour: 'WAYBILL_TELEPHONY_BINDINGS_PER_HOUR',
  bindingsPerDay: 'WAYBILL_TELEPHONY_BINDINGS_PER_DAY',
  failuresPerMinute: 'WAYBILL_AUTH_FAILURES_PER_MINUTE',
  failureBurst: 'WAYBILL_AUTH_FAILURE_BURST',
  trustProxy: 'WAYBILL_TRUST_PROXY',
};

/**
 * The package's own folder (templates/, samples/, web/): the nearest folder above this code that holds our
 * package.json. Looked up rather than counted from __dirname: the built CLI is one bundled file (dist/cli.js),
 * while the compiled modules (dist/config/) and the TypeScript sources (src/config/) sit a folder deeper.
 */
const PACKAGE_NAME = 'privacy-waybill';
export const PACKAGE_ROOT = packageRoot(__dirname);

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
    } catch {
      // no package.json here, or not one that parses: look further up
    }
    if (path.dirname(dir) === dir) throw new Error(`the ${PACKAGE_NAME} package folder is not above ${from}`);
  }
}

/** One entry of WAYBILL_TRUST_PROXY, as express's proxy-addr reads it. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [ip, bits, extra] = entry.split('/');
  const family = isIP(ip ?? '');
  if (!family || extra !== undefined) return false;
  // A range of every address (0.0.0.0/0, ::/0) would believe anyone's X-Forwarded-For, as `true` would.
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) > 0 && Number(bits) <= (family === 4 ? 32 : 128));
}

export const CONFIG_FILE_NAME = 'waybill.config.json';

/** What a setting's name looks like (every one is an environment variable's). */
const SETTING_NAME = /^(WAYBILL_[A-Z0-9_]{1,60}|DATABASE_URL)$/;

const SettingsFile = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

/**
 * The settings of the data directory's waybill.config.json (if there is one) under the environment:
 * `serve` and every command read the same file the same way, and a variable set in the environment wins.
 * The file holds setting names exactly as the environment spells them: {"WAYBILL_RELAY_NUMBERS": "+86…"}.
 */
export function withConfigFile(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const file = path.join(env.WAYBILL_DATA_DIR ?? '.waybill', CONFIG_FILE_NAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return env;
    throw new Error(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new Error(`${file}: ${parsed.why}`);
  const settings = SettingsFile.safeParse(parsed.value);
  if (!settings.success) throw new Error(`${file}: must be one JSON object of setting names to strings, numbers or booleans`);
  const known = new Set(Object.values(ENV_NAMES).filter((n) => n !== 'WAYBILL_DATA_DIR'));
  // A name shaped like a setting's is named, so that a typo is found; anything else (a value pasted as a
  // name, a secret among them) is only counted, never quoted.
  const strange = Object.keys(settings.data).filter((k) => !known.has(k));
  const others = strange.filter((k) => !SETTING_NAME.test(k)).length;
  const unknown = [
    ...strange.filter((k) => SETTING_NAME.test(k)).map((k) => `${k}${suggestion(k, [...known])}`),
    ...(others ? [`${others} name(s) that are no setting's (not shown: a value may have been pasted there)`] : []),
  ];
  if (unknown.length) throw new Error(`${file}: unknown setting ${unknown.join(', ')} (the names are those of the environment variables in the README)`);
  return { ...Object.fromEntries(Object.entries(settings.data).map(([k, v]) => [k, String(v)])), ...env };
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // A setting given blank (`WAYBILL_PORT= waybill serve`, "" in the file) is unset: its default, never 0.
  // But a blank list of printer networks may mean "none": refused, not read as the default private ranges.
  const env = Object.fromEntries(Object.entries(withConfigFile(environment)).filter(([k, v]) => v === undefined || v.trim() !== '' || k === 'WAYBILL_PRINTER_NETWORKS'));
  const result = Config.safeParse({
    dataDir: env.WAYBILL_DATA_DIR ?? '.waybill',
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: env.WAYBILL_DATABASE_POOL_SIZE ?? 10,
    scanBaseUrl: env.WAYBILL_SCAN_BASE_URL ?? 'https://scan.example.com',
    templatesDir: env.WAYBILL_TEMPLATES_DIR ?? path.join(PACKAGE_ROOT, 'templates'),
    masterKey: env.WAYBILL_MASTER_KEY || undefined,
    masterKeyId: env.WAYBILL_MASTER_KEY_ID ?? 'k1',
    tokenKey: env.WAYBILL_TOKEN_KEY || undefined,
    previousMasterKeys: env.WAYBILL_PREVIOUS_MASTER_KEYS || undefined,
    auditKey: env.WAYBILL_AUDIT_KEY || undefined,
    auditKeyId: env.WAYBILL_AUDIT_KEY_ID ?? 'a1',
    previousAuditKeys: env.WAYBILL_PREVIOUS_AUDIT_KEYS || undefined,
    auditSigningKey: env.WAYBILL_AUDIT_SIGNING_KEY || undefined,
    auditCheckpointDir: env.WAYBILL_AUDIT_CHECKPOINT_DIR || path.join(env.WAYBILL_DATA_DIR ?? '.waybill', 'checkpoints'),
    auditCheckpointMinutes: env.WAYBILL_AUDIT_CHECKPOINT_MINUTES ?? 10,
    retentionGraceDays: env.WAYBILL_RETENTION_GRACE_DAYS ?? 7,
    maxLifetimeDays: env.WAYBILL_MAX_LIFETIME_DAYS ?? 90,
    alertKeepDays: env.WAYBILL_ALERT_KEEP_DAYS ?? 365,
    relay: {
      numbers: env.WAYBILL_RELAY_NUMBERS ?? '',
      afterSalesDays: env.WAYBILL_RELAY_AFTER_SALES_DAYS ?? 15,
      maxDays: env.WAYBILL_RELAY_MAX_DAYS ?? 60,
      quarantineDays: env.WAYBILL_RELAY_QUARANTINE_DAYS ?? 90,
      callerPolicy: env.WAYBILL_RELAY_CALLER_POLICY ?? 'anyone',
      callLimitSeconds: env.WAYBILL_RELAY_CALL_LIMIT_SECONDS ?? 600,
      clientShare: env.WAYBILL_RELAY_CLIENT_SHARE ?? 0.5,
      provisionalHoldSeconds: env.WAYBILL_RELAY_PROVISIONAL_HOLD_SECONDS ?? 300,
    },
    telephony: {
      requestsPerSecond: env.WAYBILL_TELEPHONY_REQUESTS_PER_SECOND ?? 50,
      unknownPerMinute: env.WAYBILL_TELEPHONY_UNKNOWN_PER_MINUTE ?? 30,
      unknownPerHour: env.WAYBILL_TELEPHONY_UNKNOWN_PER_HOUR ?? 200,
      bindingsPerHour: env.WAYBILL_TELEPHONY_BINDINGS_PER_HOUR ?? 600,
      bindingsPerDay: env.WAYBILL_TELEPHONY_BINDINGS_PER_DAY ?? 6000,
    },
    http: {
      port: env.WAYBILL_PORT ?? 8080,
      host: env.WAYBILL_HOST ?? '127.0.0.1',
      defaultTemplate: env.WAYBILL_DEFAULT_TEMPLATE ?? 'cn-4copy',
      batchMaxOrders: env.WAYBILL_BATCH_MAX_ORDERS ?? 10_000,
      batchBodyLimit: env.WAYBILL_BATCH_BODY_LIMIT ?? '32mb',
      ratePerSecond: env.WAYBILL_API_RATE_PER_SECOND ?? 500,
      maxConcurrentBatches: env.WAYBILL_MAX_CONCURRENT_BATCHES ?? 2,
      maxConcurrentBatchesPerClient: env.WAYBILL_MAX_CONCURRENT_BATCHES_PER_CLIENT ?? 2,
      batchIdleSeconds: env.WAYBILL_BATCH_IDLE_SECONDS ?? 30,
      shutdownGraceSeconds: env.WAYBILL_SHUTDOWN_GRACE_SECONDS ?? 10,
      keepAliveSeconds: env.WAYBILL_KEEP_ALIVE_SECONDS ?? 65,
      logLevel: env.WAYBILL_LOG_LEVEL ?? 'info',
      workers: env.WAYBILL_WORKERS || undefined,
    },
    printers: {
      connectTimeoutSeconds: env.WAYBILL_PRINTER_CONNECT_TIMEOUT_SECONDS ?? 5,
      idleTimeoutSeconds: env.WAYBILL_PRINTER_IDLE_TIMEOUT_SECONDS ?? 30,
      attempts: env.WAYBILL_PRINTER_ATTEMPTS ?? 3,
      retryBackoffMs: env.WAYBILL_PRINTER_RETRY_BACKOFF_MS ?? 500,
      jobHours: env.WAYBILL_PRINTER_JOB_HOURS ?? 24,
      networks: env.WAYBILL_PRINTER_NETWORKS ?? '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7',
    },
    webhooks: {
      webhookNetworks: env.WAYBILL_WEBHOOK_NETWORKS ?? '0.0.0.0/0,::/0',
      webhookRetryHours: env.WAYBILL_WEBHOOK_RETRY_HOURS ?? 24,
      webhookBackoffSeconds: env.WAYBILL_WEBHOOK_BACKOFF_SECONDS ?? 10,
      webhookBackoffMaxSeconds: env.WAYBILL_WEBHOOK_BACKOFF_MAX_SECONDS ?? 3600,
      webhookTimeoutSeconds: env.WAYBILL_WEBHOOK_TIMEOUT_SECONDS ?? 10,
      webhookPollMs: env.WAYBILL_WEBHOOK_POLL_MS ?? 1000,
      webhookKeepDays: env.WAYBILL_WEBHOOK_KEEP_DAYS ?? 7,
    },
    scan: {
      perMinute: env.WAYBILL_SCAN_PER_MINUTE ?? 30,
      distinctPerDay: env.WAYBILL_SCAN_DISTINCT_PER_DAY ?? 300,
      harvestDistinctPerDay: env.WAYBILL_HARVEST_DISTINCT_PER_DAY ?? 400,
      harvestUnknownPerHour: env.WAYBILL_HARVEST_UNKNOWN_PER_HOUR ?? 20,
      harvestOutOfRoutePerDay: env.WAYBILL_HARVEST_OUT_OF_ROUTE_PER_DAY ?? 10,
      strict: env.WAYBILL_SCAN_STRICT ?? 'false',
      pairingByApi: env.WAYBILL_COURIER_PAIRING_BY_API ?? 'false',
    },
    courierEvents: {
      eventsPerMinute: env.WAYBILL_COURIER_EVENTS_PER_MINUTE ?? 60,
      closeBurst: env.WAYBILL_COURIER_CLOSE_BURST ?? 20,
    },
    stations: {
      verifyPerMinute: env.WAYBILL_STATION_VERIFY_PER_MINUTE ?? 30,
      wrongPerWaybillDay: env.WAYBILL_STATION_WRONG_PER_WAYBILL_DAY ?? 5,
      wrongPerHour: env.WAYBILL_STATION_WRONG_PER_HOUR ?? 30,
      matchMinutes: env.WAYBILL_STATION_MATCH_MINUTES ?? 30,
      arrivalByNumber: env.WAYBILL_STATION_ARRIVAL_BY_NUMBER ?? 'false',
    },
    auth: {
      failuresPerMinute: env.WAYBILL_AUTH_FAILURES_PER_MINUTE ?? 30,
      failureBurst: env.WAYBILL_AUTH_FAILURE_BURST ?? 30,
      trustProxy: env.WAYBILL_TRUST_PROXY || undefined,
    },
  });
  if (!result.success) {
    const lines = issuesFromZod(result.error).map((i) => `${ENV_NAMES[String(i.path[i.path.length - 1])] ?? 'config'}: ${i.message}`);
    throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}
