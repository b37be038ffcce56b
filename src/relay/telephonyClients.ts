// Telephony clients: the PBXs (Asterisk, FreeSWITCH, Kamailio …) that ask where a relay call goes.
// Their own credential role (`wbt_…`), shown once and stored as a hash, like couriers', over a
// repository that stores rows only.

import { newCredential, newCredentialId, parseCredential, secretMatches } from '../auth/credentials';

export interface TelephonyClient {
  id: string;
  name: string;
  createdAt: string;
  revokedAt?: string;
}

/** A telephony client as stored: the client and the hash of its credential's secret. */
export interface StoredTelephonyClient extends TelephonyClient {
  credentialHash: Buffer;
}

/** Where telephony clients live (one implementation for both databases, in src/store/). */
export interface TelephonyClientRepository {
  insert(client: StoredTelephonyClient): Promise<void>;
  findById(id: string): Promise<StoredTelephonyClient | undefined>;
}

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

  /** The live client a credential belongs to; undefined when malformed, unknown, wrong secret or revoked. */
  async authenticate(credential: string | undefined): Promise<TelephonyClient | undefined> {
    const parsed = credential ? parseCredential(credential, 'wbt') : undefined;
    if (!parsed) return undefined;
    const stored = await this.repo.findById(parsed.id);
    if (!stored || stored.revokedAt || !secretMatches(parsed.secret, stored.credentialHash)) return undefined;
    return { id: stored.id, name: stored.name, createdAt: stored.createdAt };
  }
}

/** Refuses names that could not be shown safely in lists and logs. */
export function checkTelephonyName(name: string): string {
  if (!/^[\p{L}\p{N} ._-]{1,40}$/u.test(name)) throw new Error('name must be 1–40 letters, digits, spaces, dots, dashes or underscores');
  return name;
}
