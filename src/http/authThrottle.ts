// Failed authentication, throttled per source address. Every refused credential (missing, malformed,
// unknown, wrong secret, revoked) on any route is counted in /metrics and draws a token from its
// address's bucket in the database (`authfail:<address>`, shared by every instance); once the bucket is
// empty the refusal is answered 429 with Retry-After instead of 401/403, and the first such answer in a
// window is audited (the address, the kind presented and its public id part: never the secret).
//
// Only failures are held back: a valid credential from a throttled address still works. Secrets are 256
// random bits, so the throttle is not what stops guessing; it caps the load and the noise of a flood. A
// lockout of the whole address would instead let one broken or hostile device lock out every courier
// behind the same carrier NAT or proxy, and would cost every good request an extra database read.

import { isIPv4, isIPv6 } from 'node:net';
import type { Request, Response } from 'express';
import type { AuditLog } from '../audit/auditLog';
import { describePresented, type CredentialRefused } from '../auth/authFailure';
import { WaybillError } from '../errors';
import { bearerOf } from './auth';
import type { Metrics } from './metrics';
import type { RateBuckets } from './rateLimit';

export interface AuthFailureLimit {
  /** Where the buckets live: the database, so every instance on it counts the same failures. */
  rateBuckets: RateBuckets;
  /** Failed attempts per minute one address may keep making… */
  perMinute: number;
  /** …after a first burst of this many. */
  burst: number;
}

/** At most one audit record per throttled address in this many seconds, however long the flood lasts. */
export const AUTH_THROTTLE_AUDIT_SECONDS = 600;

/** How long an address's buckets take to refill from empty: idle that long, they are full (RateBuckets.forgetFull). */
export function authBucketsRefillSeconds(limit: Pick<AuthFailureLimit, 'perMinute' | 'burst'>): number {
  return Math.max((limit.burst * 60) / limit.perMinute, AUTH_THROTTLE_AUDIT_SECONDS);
}

export class AuthThrottle {
  constructor(
    private readonly deps: { metrics: Metrics; audit: Pick<AuditLog, 'append'>; now: () => Date; limit?: AuthFailureLimit },
  ) {}

  /**
   * A credential was refused: counts it and draws from its address's bucket. Returns the error to answer
   * with: the refusal itself, or a 429 once the address has used up its failures.
   */
  refused(req: Request, res: Response, refusal: CredentialRefused): Promise<WaybillError> {
    return this.refusedFrom({ ip: req.ip, authorization: req.get('authorization'), requestId: res.locals.requestId as string | undefined }, refusal);
  }

  /** The same, for a request that is not an express one (the agent link's WebSocket upgrade). */
  async refusedFrom(source: { ip: string | undefined; authorization: string | undefined; requestId?: string }, refusal: CredentialRefused): Promise<WaybillError> {
    const presented = presentedOf(source.authorization);
    this.deps.metrics.authFailures.inc({ kind: presented.kind });
    const limit = this.deps.limit;
    if (!limit) return refusal;
    const address = addressKey(source.ip);
    const wait = await limit.rateBuckets.take(`authfail:${address}`, limit.perMinute / 60, limit.burst);
    if (wait === 0) return refusal;
    this.deps.metrics.authThrottled.inc({ kind: presented.kind });
    // A bucket of one token per window: one record per burst from any instance, not one per request.
    if ((await limit.rateBuckets.take(`authfail-audit:${address}`, 1 / AUTH_THROTTLE_AUDIT_SECONDS, 1)) === 0) {
      await this.deps.audit.append({
        at: this.deps.now().toISOString(),
        actor: 'system',
        action: 'auth_throttle',
        outcome: 'limited',
        requestId: source.requestId,
        // What was presented, not who: a refused credential proves nothing, and anyone can send another's id.
        detail: { address, kind: presented.kind, ...(presented.credentialId ? { claimedCredential: presented.credentialId } : {}) },
      });
    }
    return new WaybillError('limited', 'too many failed authentication attempts from this address', [], Math.max(1, Math.ceil(wait)));
  }
}

/** What the Authorization header held: nothing, something that is not a bearer credential, or a credential. */
function presentedOf(authorization: string | undefined): ReturnType<typeof describePresented> {
  if (!authorization) return { kind: 'missing' };
  return describePresented(bearerOf(authorization) ?? 'not a bearer credential');
}

/**
 * The bucket key of a source address: IPv4 as is (also when mapped into IPv6), IPv6 by its /64, since
 * one host may hold a whole /64 and could otherwise start afresh with every address in it.
 */
export function addressKey(ip: string | undefined): string {
  const address = (ip ?? '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return 'unknown';
  return `${hextets(address).slice(0, 4).map((h) => h.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 text (`::` expanded, a trailing dotted IPv4 part converted). */
function hextets(address: string): number[] {
  let text = address;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16));
}
