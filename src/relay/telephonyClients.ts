// Telephony clients: the PBXs (Asterisk, FreeSWITCH, Kamailio …) that ask where a relay call goes.
// Their own credential role (`wbt_…`), shown once and stored as a hash, like couriers', over a
// repository that stores rows only.

import { newCredential, newCredentialId, parseCredential, secretMatches } from '../auth/credentials';

export interface TelephonyClient {
  id: string;
  name: string;
  createdAt: string;
  /** Permanent: the credential opens nothing any more. */
  revokedAt?: string;
  /** Temporary (sweep detection) until an operator reinstates the client. */
  suspendedAt?: string;
  suspendReason?: string;
}

/** A telephony client as stored: the client and the hash of its credential's secret. */
export interface StoredTelephonyClient extends TelephonyClient {
  credentialHash: Buffer;
}

/** Where telephony clients live (one implementation for both databases, in src/store/). */
export interface TelephonyClientRepository {
  insert(client: StoredTelephonyClient): Promise<void>;
  findById(id: string): Promise<StoredTelephonyClient | undefined>;
  /** Every client, oldest first. */
  list(): Promise<TelephonyClient[]>;
  /** Sets the revocation time unless one is set; false only for an unknown id. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Suspends a live client that is not suspended yet; true only when this call suspended it. */
  suspend(id: string, at: string, reason: string): Promise<boolean>;
  /** Clears a suspension and the client's counted unknown answers; false for an unknown or revoked id. */
  reinstate(id: string): Promise<boolean>;
  /** In one transaction: forgets the client's unknown answers before `since`, records one at `at`, and counts those left. */
  countUnknownAnswer(id: string, at: string, since: string): Promise<number>;
}

/** Why sweep detection suspends a client (shown in lists, alerts and the audit record). */
export const SWEEP_REASON = 'too many unknown extensions in a minute';

export class TelephonyClients {
  constructor(private readonly repo: TelephonyClientRepository) {}

  /** Saves a new client with a fresh credential, returned here and never again. */
  async add(name: string, at: Date): Promise<{ client: TelephonyClient; credential: string }> {
    checkTelephonyName(name);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbt');
    const client: TelephonyClient = { id, name, createdAt: at.toISOString() };
    await this.repo.insert({ ...client, credentialHash: secretHash });
    return { client, credential };
  }

  /**
   * The client a credential belongs to; undefined when malformed, unknown, wrong secret or revoked. A
   * suspended client IS returned (with `suspendedAt`), so callers can answer "not now" (403) rather than
   * "who are you?" (401): callers must check `suspendedAt`.
   */
  async authenticate(credential: string | undefined): Promise<TelephonyClient | undefined> {
    const parsed = credential ? parseCredential(credential, 'wbt') : undefined;
    if (!parsed) return undefined;
    const stored = await this.repo.findById(parsed.id);
    if (!stored || stored.revokedAt || !secretMatches(parsed.secret, stored.credentialHash)) return undefined;
    return withoutHash(stored);
  }

  list(): Promise<TelephonyClient[]> {
    return this.repo.list();
  }

  async get(id: string): Promise<TelephonyClient | undefined> {
    const stored = await this.repo.findById(id);
    return stored && withoutHash(stored);
  }

  /** Permanently disables a client; idempotent (the first time is kept). False only for an unknown id. */
  revoke(id: string, at: Date): Promise<boolean> {
    return this.repo.revoke(id, at.toISOString());
  }

  /** Lifts a suspension and starts its unknown-answer count afresh. False for an unknown or revoked client. */
  reinstate(id: string): Promise<boolean> {
    return this.repo.reinstate(id);
  }

  /**
   * Counts one `unknown` resolve answer in the database (so every instance adds to the same count); more
   * than `perMinute` of them within a minute look like a sweep of the pool and suspend the client.
   * True only for the one call that suspended it (so exactly one alert is raised).
   */
  async countUnknownAnswer(id: string, now: Date, perMinute: number): Promise<boolean> {
    const count = await this.repo.countUnknownAnswer(id, now.toISOString(), new Date(now.getTime() - 60_000).toISOString());
    return count > perMinute && this.repo.suspend(id, now.toISOString(), SWEEP_REASON);
  }
}

function withoutHash(stored: StoredTelephonyClient): TelephonyClient {
  const { credentialHash: _hash, ...client } = stored;
  return client;
}

/** A client's status as lists show it. */
export function telephonyStatus(c: TelephonyClient): string {
  if (c.revokedAt) return `revoked ${c.revokedAt}`;
  return c.suspendedAt ? `suspended ${c.suspendedAt} (${c.suspendReason ?? 'no reason given'})` : 'active';
}

/** Refuses names that could not be shown safely in lists and logs. */
export function checkTelephonyName(name: string): string {
  if (!/^[\p{L}\p{N} ._-]{1,40}$/u.test(name)) throw new Error('name must be 1–40 letters, digits, spaces, dots, dashes or underscores');
  return name;
}
