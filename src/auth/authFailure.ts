// Refused credentials, told apart from other refusals so the HTTP layer can count and throttle them per
// source address. What is known about a presented text is only what it says openly: its kind and its
// id. The secret part is never looked at here, so it cannot end up in a metric label or an audit record.

import { WaybillError, type ErrorCode } from '../errors';

/** What was presented, as counted in metrics (a fixed set: metric labels must stay few and say nothing). */
export const PRESENTED_KINDS = ['api_key', 'courier', 'telephony', 'malformed', 'missing'] as const;
export type PresentedKind = (typeof PRESENTED_KINDS)[number];

// A paired device's credential (wbd) is a courier's: one kind in metrics.
const KIND_OF_PREFIX: Record<string, PresentedKind> = { wbk: 'api_key', wbc: 'courier', wbd: 'courier', wbt: 'telephony' };
// The issued shape (credentials.ts) with the secret left unread: the id is not secret, the rest is.
const PUBLIC_PART = /^(wbk|wbc|wbd|wbt)_([a-z2-7]{10})_[A-Za-z0-9_-]{43}$/;

/**
 * The kind of a presented bearer text and, when it has the issued shape, its public part (`wbk_<id>`):
 * the most an audit record may say about it.
 */
export function describePresented(text: string | undefined): { kind: PresentedKind; credentialId?: string } {
  if (!text) return { kind: 'missing' };
  const m = PUBLIC_PART.exec(text);
  return m ? { kind: KIND_OF_PREFIX[m[1]!]!, credentialId: `${m[1]}_${m[2]}` } : { kind: 'malformed' };
}

/**
 * A credential refused for what it is — missing, malformed, unknown, wrong secret or revoked — rather
 * than for what its holder asked. Only these count as failed authentication.
 */
export class CredentialRefused extends WaybillError {
  constructor(code: Extract<ErrorCode, 'unauthenticated' | 'forbidden'>, message: string) {
    super(code, message);
  }
}
