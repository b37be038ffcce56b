// Telephony clients: the PBXs (Asterisk, FreeSWITCH, Kamailio …) that ask where a relay call goes.
// Their own credential role (`wbt_…`), shown once and stored as a hash, like couriers', over a
// repository that stores rows only.

import { checkRows, credentialBinding, newCredential, newCredentialId, parseCredential, reinstatedBinding, rowIntact, secretMatches, type BoundState, type CredentialTampered, type RowCheck } from '../auth/credentials';
import { inChunks } from '../eventLoop';
import { DAY_MS } from '../time';
import { WaybillError } from '../errors';

/** What a suspended telephony client's requests are answered. */
export const TELEPHONY_SUSPENDED = 'this telephony client is suspended until an operator reinstates it';

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

/** A telephony client as stored: the client, the hash of its credential's secret and the row's binding (null once revoked). */
export interface StoredTelephonyClient extends TelephonyClient {
  credentialHash: Buffer;
  binding: Buffer | null;
}

/** Where telephony clients live (one implementation for both databases, in src/store/). */
export interface TelephonyClientRepository {
  insert(client: StoredTelephonyClient): Promise<void>;
  findById(id: string): Promise<StoredTelephonyClient | undefined>;
  /** Every client, oldest first. */
  list(): Promise<TelephonyClient[]>;
  /** Sets the revocation time unless one is set, and drops the binding; false only for an unknown id. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Suspends a live client that is not suspended yet, with the binding; true only when this call suspended it. */
  suspend(id: string, at: string, reason: string, binding: Buffer | null): Promise<boolean>;
  /** Clears a suspension and the client's counted answers, and sets the binding; false for an unknown or revoked id. */
  reinstate(id: string, binding: Buffer): Promise<boolean>;
  /** Clients not revoked, with their bindings (none yet for those an earlier release made). */
  live(): Promise<StoredTelephonyClient[]>;
  /** Sets the binding of a row that has none. */
  bind(id: string, binding: Buffer): Promise<void>;
  /**
   * In one transaction: forgets the client's answers before `since.day`, records this one (the binding it
   * reached; null: unknown) at `at`, and counts those left in each window.
   */
  recordAnswer(id: string, at: string, bindingId: string | null, since: { minute: string; hour: string; day: string }): Promise<AnswerCounts>;
  /** Deletes at most `limit` answers (any client's) recorded before `before`, oldest first; returns how many. */
  forgetAnswers(before: string, limit: number): Promise<number>;
}

/** A telephony client's resolve answers in the last minute, hour and day. */
export interface AnswerCounts {
  unknownMinute: number;
  unknownHour: number;
  /** Distinct bindings its resolves reached (bridged, expired or caller refused): for the hour, those first reached in it. */
  bindingsHour: number;
  bindingsDay: number;
}

/** Beyond these a telephony client is harvesting the pool (config: WAYBILL_TELEPHONY_*). */
export interface TelephonyLimits {
  unknownPerMinute: number;
  unknownPerHour: number;
  bindingsPerHour: number;
  bindingsPerDay: number;
}

/**
 * Why harvest detection suspends a client (shown in lists, alerts and the audit record), or undefined.
 * Unknown extensions in a burst or paced over an hour: a walk of the pool; many distinct bindings: the
 * real numbers of many parcels, more than the calls of the client's traffic reach.
 */
export function harvestReason(c: AnswerCounts, limits: TelephonyLimits): string | undefined {
  if (c.unknownMinute > limits.unknownPerMinute) return 'too many unknown extensions in a minute';
  if (c.unknownHour > limits.unknownPerHour) return 'too many unknown extensions in an hour';
  if (c.bindingsHour > limits.bindingsPerHour) return 'too many distinct relay bindings in an hour';
  if (c.bindingsDay > limits.bindingsPerDay) return 'too many distinct relay bindings in a day';
  return undefined;
}

export class TelephonyClients {
  /** `key`: keys the rows' bindings; `tampered`: told of a credential whose row no longer matches its binding. */
  constructor(
    private readonly repo: TelephonyClientRepository,
    private readonly key?: Buffer,
    private readonly tampered: CredentialTampered = async () => {},
  ) {}

  private binding(c: Pick<StoredTelephonyClient, 'id' | 'credentialHash'>, state: BoundState): Buffer {
    return credentialBinding(this.key, 'wbt', c.id, [state], c.credentialHash);
  }

  private intact(c: StoredTelephonyClient): boolean {
    return rowIntact(c, (state) => this.binding(c, state));
  }

  /** Saves a new client with a fresh credential, returned here and never again. */
  async add(name: string, at: Date): Promise<{ client: TelephonyClient; credential: string }> {
    checkTelephonyName(name);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbt');
    const client: TelephonyClient = { id, name, createdAt: at.toISOString() };
    await this.repo.insert({ ...client, credentialHash: secretHash, binding: this.binding({ id, credentialHash: secretHash }, 'live') });
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
    if (this.intact(stored)) return withoutHash(stored);
    await this.tampered('telephony client', stored.id);
    return undefined;
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

  /**
   * Forgets answers older than the longest window (a day), a chunk at a time: a client's own calls forget
   * its old ones, so these are a quiet or revoked client's. Returns how many.
   */
  forgetOldAnswers(now: Date): Promise<number> {
    const before = new Date(now.getTime() - DAY_MS).toISOString();
    return inChunks((limit) => this.repo.forgetAnswers(before, limit));
  }

  /**
   * Lifts a suspension and starts its counts afresh. False for an unknown or revoked client; a `conflict`
   * for one whose row was changed outside the service (revoke it and add a new one).
   */
  async reinstate(id: string): Promise<boolean> {
    const stored = await this.repo.findById(id);
    if (!stored || stored.revokedAt) return false;
    return this.repo.reinstate(id, await reinstatedBinding('telephony client', stored, (state) => this.binding(stored, state), this.tampered));
  }

  /** Binds the clients an earlier release made (once, on the first open with keys); how many. */
  async bindUnbound(): Promise<number> {
    const clients = (await this.repo.live()).filter((c) => !c.binding);
    for (const c of clients) await this.repo.bind(c.id, this.binding(c, c.suspendedAt ? 'suspended' : 'live'));
    return clients.length;
  }

  /** Every client not revoked whose row was changed outside the service (`waybill audit rows`). */
  async checkRows(): Promise<RowCheck> {
    return checkRows(await this.repo.live(), (c) => this.intact(c));
  }

  /**
   * Counts one resolve answer in the database (so every instance adds to the same counts); the answer
   * beyond a limit suspends the client. Returns the reason only to the one call that suspended it (so
   * exactly one alert is raised), and whether the client is suspended now (by this call or another).
   */
  async countAnswer(id: string, now: Date, bindingId: string | undefined, limits: TelephonyLimits): Promise<{ suspended: boolean; reason?: string }> {
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const counts = await this.repo.recordAnswer(id, now.toISOString(), bindingId ?? null, { minute: ago(60_000), hour: ago(3_600_000), day: ago(DAY_MS) });
    const reason = harvestReason(counts, limits);
    if (!reason) return { suspended: false };
    // The client authenticated just now, so its row holds its live binding.
    const stored = await this.repo.findById(id);
    const binding = stored && this.intact(stored) ? this.binding(stored, 'suspended') : null;
    return (await this.repo.suspend(id, now.toISOString(), reason, binding)) ? { suspended: true, reason } : { suspended: true };
  }
}

function withoutHash(stored: StoredTelephonyClient): TelephonyClient {
  const { credentialHash: _hash, binding: _binding, ...client } = stored;
  return client;
}

/** A client's status as lists show it. */
export function telephonyStatus(c: TelephonyClient): string {
  if (c.revokedAt) return `revoked ${c.revokedAt}`;
  return c.suspendedAt ? `suspended ${c.suspendedAt} (${c.suspendReason ?? 'no reason given'})` : 'active';
}

/** Refuses names that could not be shown safely in lists and logs. */
export function checkTelephonyName(name: string): string {
  if (!/^[\p{L}\p{N} ._-]{1,40}$/u.test(name))
    throw new WaybillError('invalid_input', 'the telephony client is invalid', [{ path: ['name'], message: 'must be 1–40 letters, digits, spaces, dots, dashes or underscores' }]);
  return name;
}
