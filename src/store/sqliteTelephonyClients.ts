// Telephony clients in the embedded SQLite file (migration 6): the credential's secret hash only.

import type Database from 'better-sqlite3';
import { newCredentialId, newCredential, parseCredential } from '../auth/credentials';
import { checkTelephonyName, type TelephonyClient, type TelephonyClients } from '../relay/telephonyClients';
import { statementCache } from './statementCache';
import { authenticatedTelephonyClient, type TelephonyRow } from './credentialRows';

export class SqliteTelephonyClients implements TelephonyClients {
  private readonly sql: (text: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.sql = statementCache(db);
  }

  async add(name: string, at: Date): Promise<{ client: TelephonyClient; credential: string }> {
    checkTelephonyName(name);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbt');
    const createdAt = at.toISOString();
    this.sql('INSERT INTO telephony_clients (id, name, credential_hash, created_at) VALUES (?, ?, ?, ?)').run(id, name, secretHash, createdAt);
    return { client: { id, name, createdAt }, credential };
  }

  async authenticate(credential: string | undefined): Promise<TelephonyClient | undefined> {
    const parsed = credential ? parseCredential(credential, 'wbt') : undefined;
    if (!parsed) return undefined;
    const row = this.sql('SELECT * FROM telephony_clients WHERE id = ?').get(parsed.id) as TelephonyRow | undefined;
    return authenticatedTelephonyClient(row, parsed.secret);
  }
}
