// The PostgreSQL schema: the same versioned migrations as SQLite's (src/store/migrations/, same version
// numbers and meaning), in PostgreSQL's dialect. Times stay ISO-8601 UTC text, as on SQLite, so stores
// compare and return them the same way on both backends; `COLLATE "C"` makes those comparisons bytewise
// whatever the database's locale. Binary data is bytea.
//
// All pending versions are applied in ONE transaction under a transaction-level advisory lock: when
// several instances start at once, the first migrates, the others wait on the lock, then see the
// versions recorded and apply nothing.

import type pg from 'pg';
import type { Migration } from '../migrations/index';

/** Arbitrary, fixed: the advisory lock every instance takes to migrate (two int4 keys: "wayb", "migr"). */
const MIGRATION_LOCK: [number, number] = [0x77617962, 0x6d696772];

const T = 'text COLLATE "C"'; // a time: ISO-8601 UTC text, ordered bytewise

export const PG_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'waybills, print jobs and printed copies',
    sql: `
      CREATE TABLE waybills (
        id          text PRIMARY KEY,
        waybill_no  text NOT NULL CONSTRAINT waybills_waybill_no_key UNIQUE,
        carrier     text NOT NULL,
        order_id    text NOT NULL,
        created_at  ${T} NOT NULL,
        token_hash  text NOT NULL CONSTRAINT waybills_token_hash_key UNIQUE,
        key_id      text NOT NULL,
        wrapped_key bytea,
        sealed      bytea
      );
      CREATE TABLE print_jobs (
        id          text PRIMARY KEY,
        created_at  ${T} NOT NULL,
        channel     text NOT NULL,
        template_id text NOT NULL,
        format      text NOT NULL,
        host        text NOT NULL,
        operator    text NOT NULL
      );
      CREATE TABLE copy_prints (
        copy_code   text PRIMARY KEY,
        job_id      text NOT NULL REFERENCES print_jobs(id),
        waybill_id  text NOT NULL REFERENCES waybills(id),
        copy        text NOT NULL,
        print_no    integer NOT NULL,
        UNIQUE (waybill_id, copy, print_no)
      );
      CREATE INDEX copy_prints_waybill ON copy_prints(waybill_id);
    `,
  },
  {
    version: 2,
    name: 'waybill lifecycle, scan attempts, alerts',
    sql: `
      ALTER TABLE waybills ADD COLUMN routing_code text;
      ALTER TABLE waybills ADD COLUMN status text NOT NULL DEFAULT 'created';
      ALTER TABLE waybills ADD COLUMN purge_after ${T};
      ALTER TABLE waybills ADD COLUMN purged_at ${T};
      CREATE INDEX waybills_purge_after ON waybills(purge_after) WHERE purged_at IS NULL;
      CREATE TABLE waybill_events (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        waybill_id text NOT NULL REFERENCES waybills(id),
        type       text NOT NULL,
        at         ${T} NOT NULL,
        actor      text NOT NULL
      );
      CREATE TABLE scan_attempts (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        courier_id text NOT NULL,
        waybill_id text,
        at         ${T} NOT NULL,
        outcome    text NOT NULL
      );
      CREATE INDEX scan_attempts_courier_at ON scan_attempts(courier_id, at);
      CREATE TABLE alerts (
        id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at         ${T} NOT NULL,
        kind       text NOT NULL,
        courier_id text,
        detail     text NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'audit log',
    // As on SQLite: the head is kept apart from the rows, and triggers refuse edits, deletes, truncation
    // and out-of-line inserts, so only someone who first drops them can tamper, and the chain shows it.
    sql: `
      CREATE TABLE audit_log (
        seq        bigint PRIMARY KEY,
        at         text NOT NULL,
        actor      text NOT NULL,
        action     text NOT NULL,
        waybill_no text,
        purpose    text,
        outcome    text NOT NULL,
        request_id text,
        detail     text,
        prev_hash  text NOT NULL,
        hash       text NOT NULL
      );
      CREATE INDEX audit_log_waybill_no ON audit_log(waybill_no);
      -- trace: from a copy code to its print job's records; the query must use this exact expression.
      CREATE INDEX audit_log_job ON audit_log(((detail::jsonb) ->> 'job')) WHERE detail IS NOT NULL;

      CREATE TABLE audit_head (
        id   integer PRIMARY KEY CHECK (id = 1),
        seq  bigint NOT NULL,
        hash text NOT NULL
      );
      INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');

      CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
      CREATE FUNCTION audit_log_check_in_line() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.seq IS DISTINCT FROM (SELECT seq + 1 FROM audit_head WHERE id = 1)
             OR NEW.prev_hash IS DISTINCT FROM (SELECT hash FROM audit_head WHERE id = 1) THEN
            RAISE EXCEPTION 'audit record does not follow the head';
          END IF;
          RETURN NEW;
        END $$;
      CREATE FUNCTION audit_head_check_forward() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id IS DISTINCT FROM OLD.id OR NEW.seq IS DISTINCT FROM OLD.seq + 1
             OR NEW.hash IS DISTINCT FROM (SELECT hash FROM audit_log WHERE seq = NEW.seq) THEN
            RAISE EXCEPTION 'audit head only moves to the newest record';
          END IF;
          RETURN NEW;
        END $$;
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_refuse('audit log is append-only');
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_refuse('audit log is append-only');
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('audit log is append-only');
      CREATE TRIGGER audit_log_in_line BEFORE INSERT ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_check_in_line();
      CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
        FOR EACH ROW EXECUTE FUNCTION audit_head_check_forward();
      CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
        FOR EACH ROW EXECUTE FUNCTION audit_refuse('audit head cannot be deleted');
      CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('audit head cannot be deleted');
    `,
  },
  {
    version: 4,
    name: 'courier identities',
    sql: `
      CREATE TABLE couriers (
        id              text PRIMARY KEY,
        carrier         text NOT NULL,
        name            text NOT NULL,
        outlet          text NOT NULL,
        routes          text NOT NULL, -- JSON array of routing-code prefixes; [] = no route restriction
        device          text NOT NULL,
        credential_hash bytea NOT NULL CHECK (length(credential_hash) = 32),
        created_at      ${T} NOT NULL,
        revoked_at      ${T},
        suspended_at    ${T},
        suspend_reason  text
      );
    `,
  },
  {
    version: 5,
    name: 'relay number bindings, slots and call receipts',
    // relay_slots' PRIMARY KEY (number, ext) is what makes a number + extension exclusive across instances.
    sql: `
      CREATE TABLE relay_bindings (
        id                 text PRIMARY KEY,
        number             text NOT NULL,
        ext                text NOT NULL,
        waybill_id         text NOT NULL,
        party              text NOT NULL CHECK (party IN ('recipient', 'sender')),
        caller_policy      text NOT NULL CHECK (caller_policy IN ('anyone', 'couriers', 'parties')),
        party_phone_hashes text NOT NULL,
        key_id             text,
        wrapped_key        bytea,
        sealed             bytea,
        valid_from         ${T} NOT NULL,
        expires_at         ${T} NOT NULL,
        ended_at           ${T},
        quarantine_until   ${T} NOT NULL
      );
      CREATE INDEX relay_bindings_waybill ON relay_bindings(waybill_id);
      CREATE INDEX relay_bindings_number_ext ON relay_bindings(number, ext);
      CREATE INDEX relay_bindings_sealed_expiry ON relay_bindings(expires_at) WHERE sealed IS NOT NULL;
      CREATE TABLE relay_slots (
        number     text NOT NULL,
        ext        text NOT NULL,
        binding_id text NOT NULL,
        held_until ${T} NOT NULL,
        PRIMARY KEY (number, ext)
      );
      CREATE INDEX relay_slots_binding ON relay_slots(binding_id);
      CREATE TABLE relay_calls (
        call_id       text PRIMARY KEY,
        binding_id    text,
        body_hash     text NOT NULL,
        started_at    ${T},
        answered_at   ${T},
        ended_at      ${T},
        release_cause text,
        received_at   ${T} NOT NULL
      );
      CREATE INDEX relay_calls_binding ON relay_calls(binding_id);
    `,
  },
  {
    version: 6,
    name: 'telephony clients, courier phone hashes, relay-unavailable waybills',
    sql: `
      CREATE TABLE telephony_clients (
        id              text PRIMARY KEY,
        name            text NOT NULL,
        credential_hash bytea NOT NULL,
        created_at      ${T} NOT NULL,
        revoked_at      ${T}
      );
      ALTER TABLE couriers ADD COLUMN phone_hash text;
      CREATE INDEX couriers_phone_hash ON couriers(phone_hash) WHERE phone_hash IS NOT NULL;
      ALTER TABLE waybills ADD COLUMN relay_unavailable boolean NOT NULL DEFAULT false;
    `,
  },
  {
    version: 7,
    name: 'api keys, waybill clients, idempotency keys',
    sql: `
      CREATE TABLE api_keys (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        role        text NOT NULL,
        client_id   text,
        secret_hash bytea NOT NULL,
        created_at  ${T} NOT NULL,
        revoked_at  ${T}
      );
      ALTER TABLE waybills ADD COLUMN client_id text;
      CREATE UNIQUE INDEX waybills_client_order ON waybills(client_id, order_id) WHERE client_id IS NOT NULL;
      CREATE TABLE idempotency_keys (
        client_id    text NOT NULL,
        key          text NOT NULL,
        request_hash text NOT NULL,
        created_at   ${T} NOT NULL,
        completed_at ${T},
        status       integer,
        content_type text,
        location     text,
        key_id       text,
        wrapped_key  bytea,
        body         bytea,
        PRIMARY KEY (client_id, key)
      );
      CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
    `,
  },
  {
    version: 8,
    name: 'covering index for scan limits',
    sql: `
      CREATE INDEX scan_attempts_courier_at_cover ON scan_attempts(courier_id, at) INCLUDE (outcome, waybill_id);
      DROP INDEX scan_attempts_courier_at;
    `,
  },
  {
    version: 9,
    name: 'printers and print deliveries',
    sql: `
      CREATE TABLE printers (
        name            text PRIMARY KEY,
        host            text NOT NULL,
        port            integer NOT NULL,
        language        text NOT NULL,
        dpi             integer NOT NULL,
        template_id     text,
        client_id       text,
        zpl_compression text NOT NULL,
        created_at      ${T} NOT NULL
      );
      CREATE TABLE print_deliveries (
        job_id       text PRIMARY KEY REFERENCES print_jobs(id),
        printer      text NOT NULL,
        client_id    text,
        status       text NOT NULL,
        attempts     integer NOT NULL,
        last_error   text,
        byte_length  integer NOT NULL,
        created_at   ${T} NOT NULL,
        updated_at   ${T} NOT NULL,
        delivered_at ${T},
        key_id       text,
        wrapped_key  bytea,
        body         bytea
      );
      CREATE INDEX print_deliveries_status ON print_deliveries(status, created_at);
    `,
  },
  {
    version: 10,
    name: 'shared API request rate buckets',
    sql: `
      CREATE TABLE api_rate_buckets (
        bucket  text PRIMARY KEY,
        tokens  double precision NOT NULL,
        at_ms   double precision NOT NULL,
        allowed integer NOT NULL
      );
    `,
  },
];

/** Applies the versions the database lacks, all in one transaction under the migration lock. */
export async function applyPgMigrations(pool: pg.Pool, migrations: Migration[] = PG_MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', MIGRATION_LOCK);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}
