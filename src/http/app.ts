// The HTTP service: thin routes that validate, call one use case and return a presenter. Errors leave as
// problem+json; log lines carry the route template and request id, never a token or personal data.

import express, { type NextFunction, type Request, type Response } from 'express';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/auditLog';
import type { ApiKeyStore } from '../auth/apiKeyStore';
import type { CourierStore } from '../couriers/courierStore';
import { WaybillError } from '../errors';
import { loadTemplate, type LoadedTemplate } from '../layout/loadTemplate';
import { fontMetrics } from '../layout/textMeasure';
import type { WaybillStore } from '../waybills/waybillStore';
import type { RelayStore } from '../relay/relayStore';
import type { TelephonyClients } from '../relay/telephonyClients';
import type { Keys } from '../vault/keyFile';
import type { DeliveryDeps } from '../printers/deliverJob';
import { scanWaybill, type ScanLimits } from '../waybills/scanAccess';
import type { CourierEventLimits } from '../waybills/lifecycle';
import type { PrintLeases } from '../printing/printLeases';
import { CredentialRefused } from '../auth/authFailure';
import { bearer, otherRoleRefusal, type AuthDeps } from './auth';
import { RefusalTally, suspendedRefusals } from '../audit/refusalTally';
import { AuthThrottle, type AuthFailureLimit } from './authThrottle';
import { alertRoutes } from './alertRoutes';
import { batchRoutes, type BatchLimits } from './batchRoutes';
import { previewRoutes } from './previewRoutes';
import { CONSUMER_PAGE } from './consumerPage';
import { allowedMethods } from './methodTable';
import { openApiDocument } from './openapi';
import { docsRoutes } from './docsPage';
import { previewPageRoutes } from './previewPage';
import { webAppRoutes } from './webApp';
import type { IdempotencyStore } from './idempotency';
import { Metrics } from './metrics';
import { sendProblem } from './problem';
import { rateLimit, type RateBuckets } from './rateLimit';
import { printerRoutes } from './printerRoutes';
import { relayRoutes, type RelayRouteDeps } from './relayRoutes';
import { waybillRoutes, type WaybillRouteDeps } from './waybillRoutes';
import { webhookRoutes, type WebhookRouteDeps } from './webhookRoutes';
import { ScanAnswer } from './scanAnswer';
import { present } from '../validation/present';
import { searchRoutes } from './searchRoutes';
import { templateRoutes } from './templateRoutes';
import { stationRoutes } from './stationRoutes';
import { courierDeviceRoutes } from './courierDeviceRoutes';
import { matchAllows, type StationDeps } from '../stations/stationHandoff';

export interface AppDeps {
  store: WaybillStore;
  couriers: CourierStore;
  audit: AuditLog;
  keys: Keys;
  limits: ScanLimits;
  courierEvents: CourierEventLimits;
  /** Parcel stations (arrivals, verify, `delivered` after a match); without it the station routes do not exist. */
  stations?: Pick<StationDeps, 'stations' | 'limits'>;
  retentionGraceDays: number;
  relay?: Omit<RelayRouteDeps, 'store' | 'audit' | 'now' | 'throttle' | 'refused'> & { bindings: Pick<RelayStore, 'forWaybill'>; afterSalesDays: number; maxDays: number };
  /** The warehouse API (API keys, waybills, batches); without it only scan, relay and health routes exist. */
  api?: {
    apiKeys: ApiKeyStore;
    telephony: TelephonyClients;
    idempotency: IdempotencyStore;
    templatesDir: string;
    defaultTemplate: string;
    scanBaseUrl: string;
    /** Whether admin keys may issue courier pairing codes (else only `waybill couriers pair`). */
    pairingByApi: boolean;
    maxLifetimeDays: number;
    batch: BatchLimits;
    ratePerSecond: number;
    /** Where each credential's request budget is kept (the database: shared by every instance). */
    rateBuckets: RateBuckets;
    /** Network printers (`POST /v1/waybills/{id}/print`, `/v1/printers`, `/v1/print-jobs`). */
    delivery?: DeliveryDeps;
    /** Leases of running prints (provisional relay bindings, per-client batch slots); absent in some tests. */
    leases?: PrintLeases;
    /** Webhook endpoints (`/v1/webhooks`, `/v1/webhook-events`); absent in some tests. */
    webhooks?: Omit<WebhookRouteDeps, 'auth' | 'limit' | 'audit' | 'now'>;
  };
  metrics?: Metrics;
  /** Failed authentication per source address (buckets in the database); without it, failures are only counted. */
  authFailures?: AuthFailureLimit;
  /** Express's `trust proxy` (a hop count or proxy addresses): only then is X-Forwarded-For believed for req.ip. */
  trustProxy?: number | string;
  /** Throws when the store cannot be reached; /readyz answers 503 then. */
  checkReady?: () => Promise<void>;
  /** True once shutdown began: new work is refused with 503 while running requests finish. */
  draining?: () => boolean;
  now: () => Date;
  log: (entry: Record<string, unknown>) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  const metrics = deps.metrics ?? new Metrics();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple'); // no nested objects from a[b]=c: query values are strings or string arrays
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  const authThrottle = new AuthThrottle({ metrics, audit: deps.audit, now: deps.now, ...(deps.authFailures ? { limit: deps.authFailures } : {}) });
  // Suspended principals and a courier past its scans may retry in a loop: on record once a minute each.
  const refusals = new RefusalTally();
  const refused = suspendedRefusals(deps.audit, deps.now, refusals);

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    res.locals.requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', res.locals.requestId as string);
    const started = process.hrtime.bigint();
    // On 'close', not 'finish': an answer cut short (a batch whose client went away) is logged and counted too.
    res.on('close', () => {
      const base = (res.locals.mountPath as string | undefined) ?? '';
      const route = req.route ? (req.route.path === '/' && base ? base : `${base}${String(req.route.path)}`) : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.inc({ method: req.method, route, status: res.statusCode });
      metrics.httpSeconds.observe({ method: req.method, route }, seconds);
      deps.log({ requestId: res.locals.requestId, method: req.method, route, status: res.statusCode, ms: seconds * 1000, ...(res.writableFinished ? {} : { aborted: true }) });
    });
    if (deps.draining?.() && req.path !== '/healthz') return next(new WaybillError('unavailable', 'the service is shutting down', [], 1));
    next();
  });

  // The document lists every route, so it says which methods a path has (405 and OPTIONS below).
  const doc = openApiDocument(deps.api ? { batchMaxOrders: deps.api.batch.maxOrders } : {});
  const allowed = allowedMethods(doc.paths as Record<string, unknown>);
  // OPTIONS says which methods a path has, and nothing more (no CORS: the pages are served from here).
  app.use((req, res, next) => {
    const methods = req.method === 'OPTIONS' ? allowed(req.path) : undefined;
    if (!methods) return next();
    res.setHeader('Allow', [...methods, 'OPTIONS'].join(', '));
    res.status(204).end();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    try {
      await deps.checkReady?.();
      res.json({ status: 'ready' });
    } catch {
      sendProblem(res, 'unavailable', 'the store is not reachable', { retryAfterSeconds: 5 });
    }
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // The QR URL itself: a phone camera gets the same page whatever the token.
  app.get('/w/:token', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Robots-Tag', 'noindex');
    res.type('html').send(CONSUMER_PAGE);
  });

  // No API answer is ever kept by a browser, a service worker or a proxy: they carry personal data or
  // state that changes under them.
  app.use('/v1', (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    // Express answers HEAD with the GET handler, and an API GET may have effects: a label fetch is a
    // recorded print (a link checker's HEAD would make the first paper a reprint), a scan is counted.
    if (req.method === 'HEAD') {
      res.setHeader('Allow', (allowed(req.baseUrl + req.path) ?? ['GET']).join(', '));
      return next(new WaybillError('method_not_allowed', 'HEAD is not served on the API: use GET'));
    }
    // The query parser decodes a broken %-sequence to U+FFFD, which would then be searched for: refused
    // as a broken path is.
    const query = req.originalUrl.indexOf('?');
    if (query >= 0 && !wellEncoded(req.originalUrl.slice(query + 1))) return next(new WaybillError('bad_request', 'the query is not well percent-encoded'));
    next();
  });

  // Who else may call (API keys, telephony): a valid credential of another role is refused 403 on the
  // routes of one role too, not counted as failed authentication.
  const auth: AuthDeps | undefined = deps.api && {
    apiKeys: deps.api.apiKeys,
    couriers: deps.couriers,
    telephony: deps.api.telephony,
    throttle: authThrottle,
    refused,
    ...(deps.stations ? { stations: deps.stations.stations } : {}),
  };

  app.get('/v1/scan/:token', async (req, res) => {
    try {
      const result = await scanWaybill({ ...deps, refusals, ...(deps.relay ? { relayBindings: deps.relay.bindings } : {}) }, {
        credential: bearer(req),
        token: String(req.params.token),
        purpose: typeof req.query.purpose === 'string' ? req.query.purpose : '',
        requestId: res.locals.requestId as string,
      });
      metrics.scans.inc({ outcome: 'ok' });
      res.json(present(ScanAnswer, result));
    } catch (e) {
      metrics.scans.inc({ outcome: e instanceof WaybillError ? e.code : 'error' });
      if (!(e instanceof CredentialRefused)) throw e;
      throw (await otherRoleRefusal(auth, bearer(req), 'courier', res.locals.requestId as string)) ?? (await authThrottle.refused(req, res, e));
    }
  });

  if (deps.api && auth) {
    const api = deps.api;
    const templates = new Map<string, LoadedTemplate>();
    const routeDeps: WaybillRouteDeps = {
      auth,
      print: {
        store: deps.store,
        audit: deps.audit,
        keys: deps.keys,
        scanBaseUrl: api.scanBaseUrl,
        metrics: fontMetrics,
        maxLifetimeDays: api.maxLifetimeDays,
        ...(deps.relay ? { relay: { provider: deps.relay.provider, maxDays: deps.relay.maxDays } } : {}),
        ...(api.delivery ? { printers: api.delivery.printers } : {}),
        ...(api.leases ? { leases: api.leases } : {}),
        now: deps.now,
      },
      lifecycle: {
        store: deps.store,
        audit: deps.audit,
        retentionGraceDays: deps.retentionGraceDays,
        relay: deps.relay,
        couriers: { store: deps.couriers, limits: deps.courierEvents },
        ...(deps.stations ? { stationMatch: (stationId: string, waybillId: string, now: Date) => matchAllows(deps.stations!, stationId, waybillId, now) } : {}),
        now: deps.now,
      },
      idempotency: { store: api.idempotency, ring: deps.keys.ring, hashKey: deps.keys.tokenKey, now: deps.now, waitMs: 30_000 },
      metrics,
      template: (id) => {
        let t = templates.get(id);
        if (!t) templates.set(id, (t = loadTemplate(api.templatesDir, id)));
        return t;
      },
      defaultTemplate: api.defaultTemplate,
      host: os.hostname(),
      limit: rateLimit(api.ratePerSecond, api.rateBuckets),
      ...(api.delivery ? { delivery: api.delivery } : {}),
    };
    mount(app, '/v1/waybills', searchRoutes(routeDeps));
    mount(app, '/v1/waybills', waybillRoutes(routeDeps));
    if (deps.stations) {
      const station = stationRoutes({ auth: routeDeps.auth, limit: routeDeps.limit, station: { ...deps.stations, store: deps.store, audit: deps.audit, keys: deps.keys, now: deps.now } });
      mount(app, '/v1/waybills', station.arrivals);
      mount(app, '/v1/stations', station.stations);
      // The station's counter page (web/station, with the shared kit).
      app.use('/station', webAppRoutes({ folders: ['common', 'station'] }));
    }
    mount(app, '/v1/templates', templateRoutes({ ...routeDeps, templatesDir: api.templatesDir }));
    if (api.delivery) {
      const printers = printerRoutes({ auth: routeDeps.auth, delivery: api.delivery, limit: routeDeps.limit });
      mount(app, '/v1/printers', printers.printers);
      mount(app, '/v1/print-jobs', printers.jobs);
    }
    if (api.webhooks) {
      const webhooks = webhookRoutes({ ...api.webhooks, auth: routeDeps.auth, limit: routeDeps.limit, audit: deps.audit, now: deps.now });
      mount(app, '/v1/webhooks', webhooks.endpoints);
      mount(app, '/v1/webhook-events', webhooks.events);
    }
    mount(app, '/v1/alerts', alertRoutes({ auth: routeDeps.auth, limit: routeDeps.limit, store: deps.store }));
    mount(app, '/v1/batches', batchRoutes({ ...routeDeps, batch: api.batch, log: deps.log }));
    mount(app, '/v1/previews', previewRoutes({ ...routeDeps, batch: api.batch }));
    // Courier device pairing (admin: codes, device lists, revocation; a phone: redeem, whoami, log-out).
    const courierDevices = courierDeviceRoutes({ auth: routeDeps.auth, limit: routeDeps.limit, audit: deps.audit, scanBaseUrl: api.scanBaseUrl, pairingByApi: api.pairingByApi, now: deps.now });
    mount(app, '/v1/couriers', courierDevices.couriers);
    mount(app, '/v1/courier-devices', courierDevices.devices);
    app.get('/openapi.json', (_req, res) => {
      res.json(doc);
    });
    app.use('/docs', docsRoutes());
    app.use('/preview', previewPageRoutes());
    app.use('/courier', webAppRoutes({ folders: ['common', 'courier'], extra: { '/vendor/jsQR.js': require.resolve('jsqr/dist/jsQR.js') }, headers: { 'Permissions-Policy': 'camera=(self)' } }));
  }

  if (deps.relay) mount(app, '/v1/relay', relayRoutes({ ...deps.relay, store: deps.store, audit: deps.audit, now: deps.now, throttle: authThrottle, refused, ...(auth ? { auth } : {}) }));

  app.use((req, res) => {
    const methods = allowed(req.path);
    if (!methods || methods.includes(req.method)) return sendProblem(res, 'not_found', 'no such resource');
    res.setHeader('Allow', methods.join(', '));
    sendProblem(res, 'method_not_allowed', 'this method is not served on this path: Allow lists those that are');
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return res.destroy();
    if (err instanceof WaybillError)
      return sendProblem(res, err.code, err.message, {
        issues: err.issues,
        retryAfterSeconds: err.retryAfterSeconds ?? (err.code === 'in_progress' ? 1 : undefined),
        ...(err.facts ? { extra: err.facts } : {}),
      });
    const e = err as { status?: number };
    if (e.status && e.status >= 400 && e.status < 500) return sendProblem(res, 'bad_request', 'the request is malformed');
    deps.log({ requestId: res.locals.requestId, level: 'error', error: (err as Error)?.name ?? 'unknown' });
    return sendProblem(res, 'internal', 'internal error');
  });

  return app;
}

/** Mounts a router and remembers where, so logs and metrics name the full route template. */
function mount(app: express.Express, path: string, router: express.Router): void {
  app.use(
    path,
    (_req, res, next) => {
      res.locals.mountPath = path;
      next();
    },
    router,
  );
}

/** Whether every %-sequence of a query decodes (as UTF-8). */
function wellEncoded(query: string): boolean {
  try {
    decodeURIComponent(query);
    return true;
  } catch {
    return false;
  }
}
