// A courier identity: one person of one carrier at one delivery outlet (网点), on one handheld. It is who
// may scan waybill QR codes; what they may open is narrowed by carrier and, in strict mode, routes.

import { z } from 'zod';
import { printableText } from '../validation/printableText';
import { issuesFromZod } from '../validation/zodIssues';
import { WaybillError } from '../errors';
import { CARRIER_CODES } from '../order/carriers';

export const NewCourier = z
  .object({
    carrier: z.enum(CARRIER_CODES, { error: `must be one of ${CARRIER_CODES.join(', ')}` }),
    name: printableText(40),
    outlet: z.string().regex(/^[A-Za-z0-9-]{1,20}$/, 'must be an outlet code: 1–20 letters, digits or hyphens'),
    /** Routing-code prefixes this courier serves; empty means no route restriction. */
    // Prefixes of an order's routingCode, so of its form: a route with a space or a 中 never matches one.
    routes: z.array(z.string().regex(/^[A-Za-z0-9-]{1,16}$/, 'must be 1–16 ASCII letters, digits or "-" (a routing code or its start)')),
    device: printableText(40),
  })
  .strict();
export type NewCourier = z.infer<typeof NewCourier>;

export interface Courier extends NewCourier {
  id: string;
  createdAt: string; // ISO 8601
  /** Permanent: a revoked courier is never reinstated; a new identity is added instead. */
  revokedAt?: string;
  /** Temporary (by an operator or by harvest detection) until reinstated. */
  suspendedAt?: string;
  suspendReason?: string;
}

export type CourierStatus = 'active' | 'revoked' | 'suspended';

export function isActive(c: Courier): boolean {
  return !c.revokedAt && !c.suspendedAt;
}

/** Revocation wins over suspension: it is the permanent one. */
export function courierStatus(c: Courier): CourierStatus {
  return c.revokedAt ? 'revoked' : c.suspendedAt ? 'suspended' : 'active';
}

/** Validates untrusted input into a NewCourier, or throws `invalid_input` with one issue per field. */
export function parseNewCourier(input: unknown): NewCourier {
  const result = NewCourier.safeParse(input);
  if (result.success) return result.data;
  throw new WaybillError('invalid_input', 'invalid courier', issuesFromZod(result.error));
}
