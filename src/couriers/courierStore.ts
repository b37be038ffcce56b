// Where courier identities live, behind an async interface like the main Store so PostgreSQL can sit
// beside SQLite. Credentials are stored as secret hashes only; the text exists once, in `add`'s result.

import type { Courier, NewCourier } from './courier';

export interface CourierStore {
  /** Validates and saves a new courier with a fresh credential, returned here and never again. */
  add(c: NewCourier, at: Date): Promise<{ courier: Courier; credential: string }>;
  /** All couriers, oldest first, in every status. */
  list(): Promise<Courier[]>;
  get(id: string): Promise<Courier | undefined>;
  /** Permanently disables a courier; idempotent (the first time is kept). False only for an unknown id. */
  revoke(id: string, at: Date): Promise<boolean>;
  /**
   * Suspends a courier until reinstated; if already suspended, the first time and reason are kept.
   * False for an unknown or a revoked courier.
   */
  suspend(id: string, at: Date, reason: string): Promise<boolean>;
  /** Lifts a suspension (a no-op on an active courier). False for an unknown or a revoked courier. */
  reinstate(id: string): Promise<boolean>;
  /**
   * The courier a credential belongs to, or undefined when the credential is malformed, names no
   * courier or carries the wrong secret. A valid credential of a revoked or suspended courier DOES
   * return that courier, so callers can tell "who are you?" (401) from "not now" (403) and record the
   * attempt against the courier: callers must check `isActive` / `revokedAt` / `suspendedAt`.
   */
  authenticate(credential: string): Promise<Courier | undefined>;
  /** Registers the courier's work phone as a keyed hash (for the relay's couriers-only caller policy). */
  setPhoneHash(id: string, phoneHash: string): Promise<boolean>;
  /** Whether an active courier has this phone hash. */
  isCourierPhone(phoneHash: string): Promise<boolean>;
}
