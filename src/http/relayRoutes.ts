// Telephony endpoints: a PBX asks where a relay call goes (resolve) and reports how it went (call
// receipts). Only telephony clients may call them, each within its request rate; a client whose answers
// turn up many unknown extensions (a sweep of the pool) or reach more distinct bindings than its calls
// would (a harvest of real numbers) is suspended. The bridge target is the one
// place a real number leaves the service, and it is never logged or audited.

import { RefusalTally, TAMPERED_ROW_WINDOW_MS } from '../audit/refusalTally';
import { WaybillError } from '../errors';
import express from 'express';
import { z } from 'zod';
import { refusingControls } from '../validation/printableText';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { AuditLog } from '../audit/auditLog';
import type { RelayProvider } from '../relay/relayProvider';
import type { RelayStore } from '../relay/relayStore';
import { TELEPHONY_SUSPENDED, type TelephonyClients, type TelephonyLimits } from '../relay/telephonyClients';
import type { WaybillStore } from '../waybills/waybillStore';
import { issuesFromZod } from '../validation/zodIssues';
import { CredentialRefused } from '../auth/authFailure';
import { bearer, otherRoleRefusal, type AuthDeps } from './auth';
import type { SuspendedRefusals } from '../audit/refusalTally';
import type { AuthThrottle } from './authThrottle';
import { jsonBody } from './body';
import { sendProblem } from './problem';
import { rateLimit, type RateBuckets } from './rateLimit';
import { present } from '../validation/present';

export interface RelayRouteDeps {
  provider: RelayProvider;
  calls: Pick<RelayStore, 'recordCall'>;
  telephony: TelephonyClients;
  /** Per-credential request budgets (in the database: shared by every instance) and the harvest limits. */
  guard: { rateBuckets: RateBuckets; requestsPerSecond: number; limits: TelephonyLimits };
  store: WaybillStore;
  audit: AuditLog;
  now: () => Date;
  /** Counts refused credentials and throttles their source addresses (absent in some tests). */
  throttle?: AuthThrottle;
  /** Records a suspended client's refused request, once a minute (refusalTally.ts). */
  refused: SuspendedRefusals;
  /** The other roles' credentials, refused 403 here rather than as unknown ones. */
  auth?: AuthDeps;
}

const e164 = (value: string, region?: 'CN') => {
  const phone = parsePhoneNumberFromString(value, region);
  return phone?.isValid() ? (phone.number as string) : undefined;
};

export const ResolveRequest = z
  .object({
    to: z
      .string()
      .max(32)
      .describe('the dialled relay number (E.164, or national as dialled in mainland China)')
      .transform((v, ctx) => e164(v, 'CN') ?? (ctx.addIssue({ code: 'custom', message: 'must be a phone number: E.164, or national in mainland China' }), z.NEVER)),
    ext: z.string().regex(/^\d{1,4}$/, 'must be 1–4 digits').describe('the extension the caller keyed in after the relay number'),
    /** The caller id as the PBX sees it; absent or unparseable means withheld. */
    from: z.string().max(32).optional().describe('the caller id as the PBX sees it; absent or unparseable means withheld'),
  })
  .strict();

const iso = z.string().datetime({ offset: true }).optional();
export const CallReceipt = z
  .object({
    callId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1–100 letters, digits or . _ : -'),
    bindingId: z.string().uuid().optional(),
    startedAt: iso,
    answeredAt: iso,
    endedAt: iso,
    releaseCause: refusingControls(z.string().max(64)).optional(),
  })
  .strict()
  // A call's times come in order; a receipt that says otherwise is a PBX fault, not a call to record.
  .superRefine((r, ctx) => {
    const at = (s: string | undefined) => (s === undefined ? undefined : Date.parse(s));
    const [started, answered, ended] = [at(r.startedAt), at(r.answeredAt), at(r.endedAt)];
    if (started !== undefined && answered !== undefined && answered < started) ctx.addIssue({ code: 'custom', path: ['answeredAt'], message: 'must not be before startedAt' });
    if (ended !== undefined && (answered ?? started) !== undefined && ended < (answered ?? started)!) ctx.addIssue({ code: 'custom', path: ['endedAt'], message: `must not be before ${answered !== undefined ? 'answeredAt' : 'startedAt'}` });
  });

/** Where a relay call goes: bridge to the real party or reject with a recording. */
export const RelayResolveAnswer = z.union([
  z.strictObject({
    action: z.literal('bridge'),
    bindingId: z.string().uuid(),
    target: z.string().describe('the real number to bridge to, E.164; never logged or audited'),
    targetExtension: z
      .string()
      .regex(/^\d{1,6}$/)
      .optional()
      .describe('digits to dial (DTMF) once the target answers, before bridging; only when the party gave an extension'),
    timeLimitSeconds: z.number().int(),
  }),
  z.strictObject({
    action: z.literal('reject'),
    reason: z.enum(['unknown', 'expired', 'caller_not_allowed']),
    announcement: z.string().describe('id of the recording to play'),
    bindingId: z.string().uuid().optional(),
  }),
]);
/** A call receipt taken: `recorded` the first time (201), `duplicate` for the same receipt again (200). */
export const RelayCallReceipt = z.strictObject({ callId: z.string(), outcome: z.enum(['recorded', 'duplicate']) });

export function relayRoutes(deps: RelayRouteDeps): express.Router {
  const tamperAlerts = new RefusalTally(TAMPERED_ROW_WINDOW_MS);
  const router = express.Router();
  // The credential first, then the body (jsonBody: JSON only, UTF-8 only): a stranger's body is never read.
  router.use((req, res, next) => {
    deps.telephony.authenticate(bearer(req)).then((client) => {
      if (!client)
        return void otherRoleRefusal(deps.auth, bearer(req), 'telephony', res.locals.requestId as string).then((forbidden) => {
          if (forbidden) return next(forbidden);
          const refusal = new CredentialRefused('unauthenticated', 'a valid telephony credential is required');
          return deps.throttle ? void deps.throttle.refused(req, res, refusal).then(next, next) : next(refusal);
        }, next);
      if (client.suspendedAt)
        return void deps.refused(`telephony:${client.id}`, res.locals.requestId as string).then(
          () => next(new WaybillError('suspended', TELEPHONY_SUSPENDED)),
          next,
        );
      res.locals.telephonyClient = client.id;
      res.locals.principal = { role: 'telephony', id: client.id };
      next();
    }, next);
  });
  router.use(rateLimit(deps.guard.requestsPerSecond, deps.guard.rateBuckets));
  router.use(jsonBody('4kb'));

  router.post('/resolve', async (req, res) => {
    const parsed = ResolveRequest.safeParse(req.body);
    if (!parsed.success) return sendProblem(res, 'invalid_input', 'the resolve request is invalid', { issues: issuesFromZod(parsed.error) });
    const { to, ext, from } = parsed.data;
    const now = deps.now();
    const decision = await deps.provider.resolve({ to, ext, from: from ? e164(from, 'CN') : undefined }, now);
    const clientId = String(res.locals.telephonyClient);
    const requestId = res.locals.requestId as string;
    // Counted before answering: the answer that crosses a limit gives nothing away.
    const counted = await deps.telephony.countAnswer(clientId, now, decision.bindingId, deps.guard.limits);
    if (counted.reason) await raiseSuspension(deps, clientId, counted.reason, now, requestId);
    const waybill = decision.waybillId ? await deps.store.findWaybillById(decision.waybillId) : undefined;
    const tampered = decision.action === 'reject' && decision.tampered === true;
    await deps.audit.append({
      at: now.toISOString(),
      actor: `telephony:${clientId}`,
      action: 'call',
      waybillNo: waybill?.waybillNo,
      outcome: counted.suspended ? 'suspended' : decision.action === 'bridge' ? 'bridged' : tampered ? 'record_tampered' : decision.reason,
      requestId,
      detail: decision.bindingId ? { binding: decision.bindingId } : undefined,
    });
    // Once an hour per binding and process, as a rewritten waybill's (the audit has every call).
    if (tampered && tamperAlerts.take(decision.bindingId!, now))
      await deps.store.recordAlert({ at: now.toISOString(), kind: 'relay_tampered', detail: `relay binding ${decision.bindingId} of waybill ${decision.waybillId}: its row was changed outside the service; calls refused` });
    if (counted.suspended) throw new WaybillError('suspended', TELEPHONY_SUSPENDED);
    const { waybillId: _internal, ...answer } = decision;
    if (answer.action === 'reject') delete answer.tampered; // the service's own to know
    res.json(present(RelayResolveAnswer, answer));
  });

  router.post('/calls', async (req, res) => {
    const parsed = CallReceipt.safeParse(req.body);
    if (!parsed.success) return sendProblem(res, 'invalid_input', 'the call receipt is invalid', { issues: issuesFromZod(parsed.error) });
    const outcome = await deps.calls.recordCall(parsed.data, deps.now().toISOString());
    if (outcome === 'conflict') return sendProblem(res, 'conflict', 'a different receipt with this call id was already recorded');
    res.status(outcome === 'recorded' ? 201 : 200).json(present(RelayCallReceipt, { callId: parsed.data.callId, outcome }));
  });

  return router;
}

/** The alert and the audit record of a client this request's answer suspended. */
async function raiseSuspension(deps: RelayRouteDeps, clientId: string, reason: string, now: Date, requestId: string): Promise<void> {
  const at = now.toISOString();
  await deps.store.recordAlert({ at, kind: 'telephony_suspended', detail: `telephony client ${clientId}: ${reason}` });
  await deps.audit.append({ at, actor: 'system', action: 'suspend', outcome: 'suspended', requestId, detail: { telephony: clientId, reason } });
}
