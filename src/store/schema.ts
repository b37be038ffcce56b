// The tables as Kysely sees them: one typed schema for both backends. Times are ISO-8601 UTC text on
// both; binary data is a Buffer (BLOB / bytea); generated ids are numbers on SQLite and bigint text on
// PostgreSQL, so repositories never rely on their type.

import type { ColumnType, Generated } from 'kysely';

/** A flag: INTEGER 0/1 on SQLite, boolean on PostgreSQL; written as 0/1, which both accept. */
type Flag = ColumnType<number | boolean, number, number>;
type GeneratedId = Generated<number | string>;

export interface Schema {
  schema_migrations: { version: number; name: string; applied_at: string };
  waybills: {
    id: string;
    waybill_no: string;
    carrier: string;
    order_id: string;
    client_id: string | null;
    routing_code: string | null;
    created_at: string;
    token_hash: string;
    status: string;
    purge_after: string | null;
    purged_at: string | null;
    relay_unavailable: Flag;
    custodian: string | null;
    assigned_outlet: string | null;
    key_id: string;
    wrapped_key: Buffer | null;
    sealed: Buffer | null;
    /** Migration 39: an after-sales request was recorded; the binding of the row's state (src/waybills/lifeBinding.ts). */
    after_sales: ColumnType<number | boolean, number | undefined, number>;
    life_binding: Buffer | null;
  };
  print_jobs: { id: string; created_at: string; channel: string; template_id: string; format: string; host: string; operator: string };
  copy_prints: { copy_code: string; job_id: string; waybill_id: string; copy: string; print_no: number; piece_no: Generated<number> };
  waybill_pieces: { waybill_id: string; piece_no: number; waybill_no: string };
  /** A running print's records, under its lease, until its save moves them (migration 22). */
  staged_waybills: Omit<Schema['waybills'], 'purged_at' | 'custodian' | 'assigned_outlet' | 'status' | 'after_sales'> & { seq: GeneratedId; lease_id: string; status: string };
  staged_waybill_pieces: Schema['waybill_pieces'] & { lease_id: string };
  staged_copy_prints: { lease_id: string; copy_code: string; job_id: string; waybill_id: string; copy: string; print_no: number; piece_no: number };
  waybill_events: {
    id: GeneratedId;
    waybill_id: string;
    type: string;
    at: string;
    actor: string;
    detail: string | null;
    /** The relay change the event still owes (migration 37); null once done, or when it owes none. */
    relay_due: Generated<string | null>;
  };
  scan_attempts: { id: GeneratedId; courier_id: string; waybill_id: string | null; purpose: string | null; at: string; outcome: string };
  event_attempts: { id: GeneratedId; courier_id: string; waybill_id: string; type: string; at: string; outcome: string };
  pickup_rights: { waybill_id: string; courier_id: string };
  alerts: { id: GeneratedId; at: string; kind: string; courier_id: string | null; detail: string };
  audit_log: {
    seq: number | string;
    at: string;
    actor: string;
    action: string;
    waybill_no: string | null;
    purpose: string | null;
    outcome: string;
    request_id: string | null;
    detail: string | null;
    prev_hash: string;
    hash: string;
    /** The audit key whose HMAC links this record; null before keying (migration 14). */
    key_id: string | null;
  };
  audit_head: { id: number; seq: number | string; hash: string; key_id: string | null };
  couriers: {
    id: string;
    carrier: string;
    name: string;
    outlet: string;
    routes: string;
    device: string;
    credential_hash: Buffer;
    created_at: string;
    revoked_at: string | null;
    suspended_at: string | null;
    suspend_reason: string | null;
    phone_hash: string | null;
    /** Migration 38: what binds the row to its authority and state (src/auth/credentials.ts); null once revoked. */
    binding: Buffer | null;
  };
  api_keys: {
    id: string;
    name: string;
    role: string;
    client_id: string | null;
    secret_hash: Buffer;
    created_at: string;
    revoked_at: string | null;
    station_id: Generated<string | null>;
    binding: Buffer | null;
  };
  telephony_clients: {
    id: string;
    name: string;
    credential_hash: Buffer;
    created_at: string;
    revoked_at: string | null;
    suspended_at: string | null;
    suspend_reason: string | null;
    binding: Buffer | null;
  };
  /** One row per `unknown` resolve answer of the last minute (older rows are deleted as new ones come). */
  telephony_answers: { id: GeneratedId; client_id: string; at: string; binding_id: string | null };
  idempotency_keys: {
    client_id: string;
    key: string;
    request_hash: string;
    created_at: string;
    completed_at: string | null;
    status: number | null;
    content_type: string | null;
    location: string | null;
    warnings: string | null;
    key_id: string | null;
    wrapped_key: Buffer | null;
    body: Buffer | null;
  };
  relay_bindings: {
    id: string;
    number: string;
    ext: string;
    waybill_id: string;
    party: string;
    caller_policy: string;
    party_phone_hashes: string;
    key_id: string | null;
    wrapped_key: Buffer | null;
    sealed: Buffer | null;
    valid_from: string;
    expires_at: string;
    ended_at: string | null;
    quarantine_until: string;
    /** The print run that made it while its waybill is unsaved (provisional); NULL once saved. */
    lease_id: string | null;
    client_id: string | null;
    /** Migration 39: the binding of its terms (src/relay/relayTerms.ts); null for one an earlier release made, until bound. */
    terms_binding: Buffer | null;
  };
  relay_slots: { number: string; ext: string; binding_id: string; held_until: string };
  relay_calls: {
    call_id: string;
    binding_id: string | null;
    body_hash: string;
    started_at: string | null;
    answered_at: string | null;
    ended_at: string | null;
    release_cause: string | null;
    received_at: string;
  };
  printers: {
    name: string;
    host: string;
    port: number;
    language: string;
    dpi: number;
    template_id: string | null;
    client_id: string | null;
    zpl_compression: string;
    /** 'native' | 'raster' and 'raster' | 'printer-font' (migration 20); tspl_font: the printer font for printer-font (a TSPL name or, despite the column's name, a CPCL number); null: the language's default. */
    barcodes: Generated<string>;
    text_mode: Generated<string>;
    tspl_font: string | null;
    created_at: string;
    /** The key of the agent that reaches this printer (migration 21); null for a network printer. */
    agent_key: string | null;
    agent_seen_at: string | null;
  };
  print_deliveries: {
    job_id: string;
    printer: string;
    client_id: string | null;
    status: string;
    attempts: number;
    last_error: string | null;
    byte_length: number;
    created_at: string;
    updated_at: string;
    delivered_at: string | null;
    key_id: string | null;
    wrapped_key: Buffer | null;
    body: Buffer | null;
    /** When a failed send may have put part of the job on paper (migration 32). */
    partly_sent_at: Generated<string | null>;
  };
  print_leases: {
    id: string;
    client_id: string | null;
    slot: number | null;
    host: string;
    pid: number;
    output: string | null;
    started_at: string;
    expires_at: string;
    /** The print job its run saved, while the run puts its output file in place (migration 33). */
    saved_job: Generated<string | null>;
    /** Its run's pages leave as they are made (a streamed batch), migration 36. */
    streamed: Flag;
  };
  api_rate_buckets: { bucket: string; tokens: number; at_ms: number; allowed: number };
  /** Webhook endpoints (migration 16): client_id NULL is an admin endpoint (every client, admin events). */
  webhook_endpoints: {
    id: string;
    client_id: string | null;
    url: string;
    /** JSON array of event types; NULL: every type. */
    events: string | null;
    key_id: string;
    wrapped_key: Buffer;
    sealed: Buffer;
    prev_key_id: string | null;
    prev_wrapped_key: Buffer | null;
    prev_sealed: Buffer | null;
    prev_expires_at: string | null;
    created_at: string;
    disabled_at: string | null;
    disabled_reason: string | null;
    failing_since: string | null;
  };
  /** One row per event and endpoint; `id` is the event id the receiver sees. */
  webhook_outbox: {
    id: string;
    endpoint_id: string;
    client_id: string | null;
    type: string;
    payload: string;
    created_at: string;
    next_attempt_at: string;
    attempts: number;
    delivered_at: string | null;
    given_up_at: string | null;
    last_error: string | null;
    claimed_by: string | null;
    claimed_until: string | null;
    /** The service's seal over the row (migration 35); null on rows from before it. */
    seal: string | null;
  };
  /** A PDF or printer-language batch (id = its print job), saved with its waybills (migration 15). */
  batches: { id: string; client_id: string | null; created_at: string; count: number };
  batch_items: { batch_id: string; idx: number; waybill_id: string; warnings: string | null };
  /** Parcel-station arrivals (migration 18): the pickup code is unique per station and day. */
  station_arrivals: { waybill_id: string; station_id: string; day: string; seq: number; pickup_code: string; arrived_at: string };
  /** Station verify attempts (migration 18): outcome match, no_match or limited; never the digits. */
  station_verifications: { id: GeneratedId; station_id: string; waybill_id: string | null; at: string; outcome: string };
  /** Suspended stations (migration 30): too many wrong verify answers in an hour. */
  station_suspensions: { station_id: string; suspended_at: string; reason: string };
  /** Audit entries of a saved print still to be appended to the chain (migration 31). */
  audit_pending: { job_id: string; idx: number; entry: string };
  /** A courier's paired handhelds (migration 19): the hash of each device credential's secret. */
  courier_devices: { id: string; courier_id: string; name: string; secret_hash: Buffer; created_at: string; revoked_at: string | null; last_used_at: string | null; binding: Buffer | null };
  /** Migration 38: one row while rows made by an earlier release still owe their binding. */
  credential_binding_due: { id: number };
  /** Migration 39: one row while waybills made by an earlier release still owe the binding of their state. */
  waybill_binding_due: { id: number };
  /** One-use pairing codes (migration 19), keyed by the code's hash; the code itself is never stored. */
  courier_pairings: { code_hash: string; courier_id: string; created_at: string; expires_at: string; used_at: string | null; device_id: string | null };
}
