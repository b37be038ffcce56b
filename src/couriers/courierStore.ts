// Courier identities: issue, list, suspend, revoke and check bearer credentials, over a repository that
// stores rows only. Only the hash of a credential's secret is stored; the text exists once, in `add`'s result.

import { newCredential, newCredentialId, parseCredential, secretMatches } from '../auth/credentials';
import { parseNewCourier, type Courier, type NewCourier } from './courier';

/** A courier as stored: the courier and the hash of its credential's secret. */
export interface StoredCourier extends Courier {
  credentialHash: Buffer;
}

/** Where couriers live (one implementation for both databases, in src/store/). Times are ISO-8601 text. */
export interface CourierRepository {
  /** Saves a new courier; false (nothing written) when its id is already taken. */
  insert(courier: StoredCourier): Promise<boolean>;
  /** Every courier, oldest first (ties by id, bytewise). */
  list(): Promise<Courier[]>;
  findById(id: string): Promise<StoredCourier | undefined>;
  /** Sets the revocation time unless one is set; false only for an unknown id. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Sets suspension time and reason unless already suspended; false for an unknown or revoked id. */
  suspend(id: string, at: string, reason: string): Promise<boolean>;
  /** Clears any suspension; false for an unknown or revoked id. */
  reinstate(id: string): Promise<boolean>;
  /** False for an unknown or revoked id. */
  setPhoneHash(id: string, phoneHash: string): Promise<boolean>;
  /** Whether a courier neither revoked nor suspended has this phone hash. */
  hasActivePhone(phoneHash: string): Promise<boolean>;
}

// 50-bit ids practically never collide, but a collision must not fail an add: a few more draws.
const ID_DRAWS = 4;

export class CourierStore {
  constructor(private readonly repo: CourierRepository) {}

  /** Validates and saves a new courier with a fresh credential, returned here and never again. */
  async add(input: NewCourier, at: Date): Promise<{ courier: Courier; credential: string }> {
    // Validated here as well as at the edges, so no caller can store a courier the schema refuses.
    const c = parseNewCourier(input);
    const createdAt = at.toISOString();
    for (let draw = 0; draw < ID_DRAWS; draw++) {
      const id = newCredentialId();
      const { credential, secretHash } = newCredential(id, 'wbc');
      const courier: Courier = { ...c, id, createdAt };
      if (await this.repo.insert({ ...courier, credentialHash: secretHash })) return { courier, credential };
    }
    throw new Error(`no free courier id after ${ID_DRAWS} draws`);
  }

  /** All couriers, oldest first, in every status. */
  list(): Promise<Courier[]> {
    return this.repo.list();
  }

  async get(id: string): Promise<Courier | undefined> {
    const stored = await this.repo.findById(id);
    return stored && withoutHash(stored);
  }

  /** Permanently disables a courier; idempotent (the first time is kept). False only for an unknown id. */
  revoke(id: string, at: Date): Promise<boolean> {
    return this.repo.revoke(id, at.toISOString());
  }

  /**
   * Suspends a courier until reinstated; if already suspended, the first time and reason are kept.
   * False for an unknown or a revoked courier.
   */
  suspend(id: string, at: Date, reason: string): Promise<boolean> {
    return this.repo.suspend(id, at.toISOString(), reason);
  }

  /** Lifts a suspension (a no-op on an active courier). False for an unknown or a revoked courier. */
  reinstate(id: string): Promise<boolean> {
    return this.repo.reinstate(id);
  }

  /**
   * The courier a credential belongs to, or undefined when the credential is malformed, names no
   * courier or carries the wrong secret. A valid credential of a revoked or suspended courier DOES
   * return that courier, so callers can tell "who are you?" (401) from "not now" (403) and record the
   * attempt against the courier: callers must check `isActive` / `revokedAt` / `suspendedAt`.
   */
  async authenticate(credential: string): Promise<Courier | undefined> {
    const parsed = parseCredential(credential, 'wbc');
    if (!parsed) return undefined;
    // Courier ids are not secret (lists, audit lines), so an early return for an unknown id leaks
    // nothing; the secret itself is compared in constant time.
    const stored = await this.repo.findById(parsed.id);
    if (!stored || !secretMatches(parsed.secret, stored.credentialHash)) return undefined;
    return withoutHash(stored);
  }

  /** Registers the courier's work phone as a keyed hash (for the relay's couriers-only caller policy). */
  setPhoneHash(id: string, phoneHash: string): Promise<boolean> {
    return this.repo.setPhoneHash(id, phoneHash);
  }

  /** Whether an active courier has this phone hash. */
  isCourierPhone(phoneHash: string): Promise<boolean> {
    return this.repo.hasActivePhone(phoneHash);
  }
}

function withoutHash(stored: StoredCourier): Courier {
  const { credentialHash: _hash, ...courier } = stored;
  return courier;
}
