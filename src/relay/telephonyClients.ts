// Telephony clients: the PBXs (Asterisk, FreeSWITCH, Kamailio …) that ask where a relay call goes.
// Their own credential role (`wbt_…`), shown once and stored as a hash, like couriers'.

import type Database from 'better-sqlite3';
import { newCredentialId, newCredential, parseCredential, secretMatches } from '../couriers/credentials';

export interface TelephonyClient {
  id: string;
  name: string;
  createdAt: string;
  revokedAt?: string;
}

export class TelephonyClients {
  constructor(private readonly db: Database.Database) {}

  add(name: string, at: Date): { client: TelephonyClient; credential: string } {
    if (!/^[\p{L}\p{N} ._-]{1,40}$/u.test(name)) throw new Error('name must be 1–40 letters, digits, spaces, dots, dashes or underscores');
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbt');
    const createdAt = at.toISOString();
    this.db.prepare('INSERT INTO telephony_clients (id, name, credential_hash, created_at) VALUES (?, ?, ?, ?)').run(id, name, secretHash, createdAt);
    return { client: { id, name, createdAt }, credential };
  }

  authenticate(credential: string | undefined): TelephonyClient | undefined {
    const parsed = credential ? parseCredential(credential, 'wbt') : undefined;
    if (!parsed) return undefined;
    const row = this.db.prepare('SELECT * FROM telephony_clients WHERE id = ?').get(parsed.id) as
      | { id: string; name: string; credential_hash: Buffer; created_at: string; revoked_at: string | null }
      | undefined;
    if (!row || row.revoked_at || !secretMatches(parsed.secret, row.credential_hash)) return undefined;
    return { id: row.id, name: row.name, createdAt: row.created_at };
  }
}
