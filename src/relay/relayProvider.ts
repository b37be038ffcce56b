// The relay seam: what printing, lifecycle and telephony need from a number-protection service. The
// built-in pool implements it over our own numbers; a cloud provider can replace it behind the same calls.

import type { Lang } from '../privacy/lang';
import type { RelayParty, UnstoredLease } from './relayStore';

export interface BindRequest {
  waybillId: string;
  party: RelayParty;
  /** The real number (E.164): handed to the provider, never printed, logged or audited. */
  realPhone: string;
  /** Its extension (1–6 digits), dialled once the call is connected; same care as the number. */
  realExtension?: string;
  /** Both parties' real numbers, for the "parties only" caller policy. */
  partyPhones: string[];
  validFrom: Date;
  expiresAt: Date;
  /** The print run binding it: the binding stays provisional (reaches nobody) until that run saves its waybill. */
  leaseId?: string;
  /** The API client printing, held to its share of the pool. */
  clientId?: string;
}

export interface Bound {
  bindingId: string;
  /** What the paper shows, e.g. "170 0000 1234 转 5678". */
  printed: string;
}

export type BindOutcome = Bound | undefined | 'client over share';

export type ResolveDecision =
  | { action: 'bridge'; bindingId: string; waybillId: string; target: string; targetExtension?: string; timeLimitSeconds: number }
  | {
      action: 'reject';
      reason: 'unknown' | 'expired' | 'caller_not_allowed';
      announcement: string;
      bindingId?: string;
      waybillId?: string;
      /** Never told to the PBX: the binding's row was changed in the database (its terms lack their binding). */
      tampered?: boolean;
    };

export interface RelayProvider {
  /**
   * A binding per request (a waybill's parties, made together), in order: undefined where none can be
   * made (pool exhausted), 'client over share' where the client holds its share of the pool already;
   * throws when the provider fails. An unstored `lease` (the requests' run's) is stored with the claim
   * when the provider makes one in the database the lease lives in; its `stored()` tells.
   */
  bind(reqs: BindRequest[], lang: Lang, lease?: UnstoredLease): Promise<BindOutcome[]>;
  /** The live relay numbers of a waybill as the paper shows them, for a reprint. */
  printedFor(waybillId: string, lang: Lang, now: Date): Promise<Partial<Record<RelayParty, string>>>;
  /**
   * Undoes bindings of a print that failed before it was recorded; those in `out` were on labels that
   * left already (streamed pages): ended and quarantined, never freed for a new buyer.
   */
  release(bindingIds: string[], out?: readonly string[]): Promise<void>;
  /** Sets when a waybill's live bindings stop reaching anyone (delivery + after-sales, capped); may shorten. */
  reschedule(waybillId: string, expiresAt: Date): Promise<void>;
  /** Moves that time later, never earlier (returns, after-sales). */
  extend(waybillId: string, expiresAt: Date): Promise<void>;
  /** Ends a waybill's bindings now (cancellation); their numbers go into quarantine. */
  end(waybillId: string, at: Date): Promise<void>;
  resolve(call: { to: string; ext: string; from?: string }, now: Date): Promise<ResolveDecision>;
}
