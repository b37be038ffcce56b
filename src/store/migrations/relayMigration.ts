// Version 5: virtual relay numbers. A binding maps number + extension to one party of one waybill; the
// real number is sealed and shredded when the binding ends or expires. Slots are what make a number +
// extension exclusive: their PRIMARY KEY refuses a double allocation in any process, on any database.

import type { Migration } from './index';

export const RELAY_MIGRATION: Migration = {
  version: 5,
  name: 'relay number bindings, slots and call receipts',
  sql: `
    CREATE TABLE relay_bindings (
      id                 TEXT PRIMARY KEY,
      number             TEXT NOT NULL,
      ext                TEXT NOT NULL,
      waybill_id         TEXT NOT NULL,
      party              TEXT NOT NULL CHECK (party IN ('recipient', 'sender')),
      caller_policy      TEXT NOT NULL CHECK (caller_policy IN ('anyone', 'couriers', 'parties')),
      party_phone_hashes TEXT NOT NULL, -- JSON array of keyed hashes of the waybill's parties' phones, for the 'parties' policy
      key_id             TEXT,
      wrapped_key        BLOB,
      sealed             BLOB,          -- the real number, sealed; NULL once the binding ended or expired
      valid_from         TEXT NOT NULL,
      expires_at         TEXT NOT NULL,
      ended_at           TEXT,
      quarantine_until   TEXT NOT NULL
    );
    CREATE INDEX relay_bindings_waybill ON relay_bindings(waybill_id);
    CREATE INDEX relay_bindings_number_ext ON relay_bindings(number, ext);
    -- expireDue looks only at bindings that still hold a real number.
    CREATE INDEX relay_bindings_sealed_expiry ON relay_bindings(expires_at) WHERE sealed IS NOT NULL;

    -- One row per number + extension in use: live, or quarantined so a stale label cannot reach the
    -- next buyer. held_until = the binding's end (or expiry) + quarantine; after it the slot may be taken over.
    CREATE TABLE relay_slots (
      number     TEXT NOT NULL,
      ext        TEXT NOT NULL,
      binding_id TEXT NOT NULL,
      held_until TEXT NOT NULL,
      PRIMARY KEY (number, ext)
    );
    CREATE INDEX relay_slots_binding ON relay_slots(binding_id);

    -- Call receipts from the relay provider, idempotent by call id. No caller or callee numbers.
    CREATE TABLE relay_calls (
      call_id       TEXT PRIMARY KEY,
      binding_id    TEXT,
      body_hash     TEXT NOT NULL,
      started_at    TEXT,
      answered_at   TEXT,
      ended_at      TEXT,
      release_cause TEXT,
      received_at   TEXT NOT NULL
    );
    CREATE INDEX relay_calls_binding ON relay_calls(binding_id);
  `,
};
