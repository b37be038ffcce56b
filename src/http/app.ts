// The HTTP service: thin routes that validate, call one use case and return a presenter. Errors leave as
// problem+json; log lines carry the route template and request id, never a token or personal data.

import express, { type NextFunction, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/auditLog';
import type { CourierStore } from '../couriers/courierStore';
import { WaybillError } from '../errors';
import type { Store } from '../store/store';
import type { RelayStore } from '../relay/relayStore';
import type { Keys } from '../vault/keyFile';
import { WaybillEvent, recordWaybillEvent } from '../vault/lifecycle';
import { ScanRefusal, scanWaybill, type ScanLimits } from '../vault/scanAccess';
import { CONSUMER_PAGE } from './consumerPage';
import { sendProblem } from './problem';
import { bearer } from './auth';
import { relayRoutes, type RelayRouteDeps } from './relayRoutes';

export interface AppDeps {
  store: Store;
  couriers: CourierStore;
  audit: AuditLog;
  keys: Keys;
  limits: ScanLimits;
  retentionGraceDays: number;
  relay?: Omit<RelayRouteDeps, 'store' | 'audit' | 'now'> & { bindings: Pick<RelayStore, 'forWaybill'>; afterSalesDays: number; maxDays: number };
  now: () => Date;
  log: (entry: Record<string, unknown>) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    res.locals.requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', res.locals.requestId as string);
    const started = process.hrtime.bigint();
    res.on('finish', () =>
      deps.log({
        requestId: res.locals.requestId,
        method: req.method,
        route: req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched',
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      }),
    );
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // The QR URL itself: a phone camera gets the same page whatever the token.
  app.get('/w/:token', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Robots-Tag', 'noindex');
    res.type('html').send(CONSUMER_PAGE);
  });

  app.get('/v1/scan/:token', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const result = await scanWaybill({ ...deps, ...(deps.relay ? { relayBindings: deps.relay.bindings } : {}) }, {
      credential: bearer(req),
      token: String(req.params.token),
      purpose: typeof req.query.purpose === 'string' ? req.query.purpose : '',
      requestId: res.locals.requestId as string,
    });
    res.json(result);
  });

  app.post('/v1/waybills/:waybillNo/events', express.json({ limit: '4kb' }), async (req, res) => {
    const courier = await authenticatedCourier(deps, req);
    const event = WaybillEvent.safeParse(req.body);
    if (!event.success) {
      const issues = event.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
      return sendProblem(res, 'invalid_input', 'the event is invalid', { issues });
    }
    const result = await recordWaybillEvent(deps, {
      waybillNo: String(req.params.waybillNo),
      event: event.data,
      actor: `courier:${courier.id}`,
      carrier: courier.carrier,
      requestId: res.locals.requestId as string,
    });
    res.status(201).json(result);
  });

  if (deps.relay) app.use('/v1/relay', relayRoutes({ ...deps.relay, store: deps.store, audit: deps.audit, now: deps.now }));

  app.use((_req, res) => sendProblem(res, 'not_found', 'no such resource'));

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ScanRefusal) return sendProblem(res, err.code, err.message, { retryAfterSeconds: err.retryAfterSeconds });
    if (err instanceof WaybillError) return sendProblem(res, err.code, err.message, { issues: err.issues });
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') return sendProblem(res, 'payload_too_large', 'the body is too large');
    if (e.type === 'entity.parse.failed') return sendProblem(res, 'bad_request', 'the body is not valid JSON');
    if (e.status && e.status >= 400 && e.status < 500) return sendProblem(res, 'bad_request', 'the request is malformed');
    deps.log({ requestId: res.locals.requestId, level: 'error', error: (err as Error)?.name ?? 'unknown' });
    return sendProblem(res, 'internal', 'internal error');
  });

  return app;
}

async function authenticatedCourier(deps: AppDeps, req: Request) {
  const credential = bearer(req);
  const courier = credential ? await deps.couriers.authenticate(credential) : undefined;
  if (!courier) throw new ScanRefusal('unauthenticated', 'a valid courier credential is required');
  if (courier.revokedAt || courier.suspendedAt) throw new ScanRefusal('forbidden', 'this courier may not act now');
  return courier;
}
