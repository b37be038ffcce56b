// Telephony clients: the PBXs (Asterisk, FreeSWITCH, Kamailio …) that ask where a relay call goes.
// Their own credential role (`wbt_…`), shown once and stored as a hash, like couriers'. Behind an async
// interface like the other stores, so SQLite and PostgreSQL can both keep them.

export interface TelephonyClient {
  id: string;
  name: string;
  createdAt: string;
  revokedAt?: string;
}

export interface TelephonyClients {
  /** Saves a new client with a fresh credential, returned here and never again. */
  add(name: string, at: Date): Promise<{ client: TelephonyClient; credential: string }>;
  /** The live client a credential belongs to; undefined when malformed, unknown, wrong secret or revoked. */
  authenticate(credential: string | undefined): Promise<TelephonyClient | undefined>;
}

/** Refuses names that could not be shown safely in lists and logs. */
export function checkTelephonyName(name: string): string {
  if (!/^[\p{L}\p{N} ._-]{1,40}$/u.test(name)) throw new Error('name must be 1–40 letters, digits, spaces, dots, dashes or underscores');
  return name;
}
