// Telephony clients on PostgreSQL (migration 6): the credential's secret hash only.

import { newCredentialId, newCredential, parseCredential } from '../../auth/credentials';
import { checkTelephonyName, type TelephonyClient, type TelephonyClients } from '../../relay/telephonyClients';
import type { PgDatabase } from './pgDatabase';
import { authenticatedTelephonyClient, type TelephonyRow } from '../credentialRows';

export class PostgresTelephonyClients implements TelephonyClients {
  constructor(private readonly db: PgDatabase) {}

  async add(name: string, at: Date): Promise<{ client: TelephonyClient; credential: string }> {
    checkTelephonyName(name);
    const id = newCredentialId();
    const { credential, secretHash } = newCredential(id, 'wbt');
    const createdAt = at.toISOString();
    await this.db.run('INSERT INTO telephony_clients (id, name, credential_hash, created_at) VALUES ($1, $2, $3, $4)', [id, name, secretHash, createdAt]);
    return { client: { id, name, createdAt }, credential };
  }

  async authenticate(credential: string | undefined): Promise<TelephonyClient | undefined> {
    const parsed = credential ? parseCredential(credential, 'wbt') : undefined;
    if (!parsed) return undefined;
    const row = await this.db.one<TelephonyRow>('SELECT * FROM telephony_clients WHERE id = $1', [parsed.id]);
    return authenticatedTelephonyClient(row, parsed.secret);
  }
}
