// The schema, as ONE list of versioned migrations for both databases, applied in order, each once
// (recorded in schema_migrations, so databases made by earlier releases continue from their version).
// Each migration is written once; column types that differ come from the dialect's type table, and a
// statement is branched by dialect only where the databases truly differ (the audit log's guard
// triggers, an expression index, a covering index). Add a version at the end; never edit a shipped one.

import type { Dialect } from './database';

export interface Migration {
  version: number;
  name: string;
  sql(dialect: Dialect): string;
}

interface Types {
  /** An ISO-8601 UTC time: text, compared bytewise on both (COLLATE "C" on PostgreSQL). */
  time: string;
  blob: string;
  /** A generated row id. */
  id: string;
  /** A 64-bit sequence number. */
  bigint: string;
  flag: string;
  real: string;
}

const TYPES: Record<Dialect, Types> = {
  sqlite: { time: 'TEXT', blob: 'BLOB', id: 'INTEGER PRIMARY KEY', bigint: 'INTEGER', flag: 'INTEGER NOT NULL DEFAULT 0', real: 'REAL' },
  postgres: {
    time: 'text COLLATE "C"',
    blob: 'bytea',
    id: 'bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    bigint: 'bigint',
    flag: 'boolean NOT NULL DEFAULT false',
    real: 'double precision',
  },
};

const ZERO_HASH = '0'.repeat(64);

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'waybills, print jobs and printed copies',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE waybills (
          id          text PRIMARY KEY,
          waybill_no  text NOT NULL UNIQUE,
          carrier     text NOT NULL,
          order_id    text NOT NULL,
          created_at  ${t.time} NOT NULL,
          token_hash  text NOT NULL UNIQUE,
          key_id      text NOT NULL,
          wrapped_key ${t.blob},
          sealed      ${t.blob}
        );
        CREATE TABLE print_jobs (
          id          text PRIMARY KEY,
          created_at  ${t.time} NOT NULL,
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
        CREATE INDEX copy_prints_waybill ON copy_prints(waybill_id);`;
    },
  },
  {
    version: 2,
    name: 'waybill lifecycle, scan attempts, alerts',
    sql: (d) => {
      const t = TYPES[d];
      return `
        ALTER TABLE waybills ADD COLUMN routing_code text;
        ALTER TABLE waybills ADD COLUMN status text NOT NULL DEFAULT 'created';
        ALTER TABLE waybills ADD COLUMN purge_after ${t.time};
        ALTER TABLE waybills ADD COLUMN purged_at ${t.time};
        CREATE INDEX waybills_purge_after ON waybills(purge_after) WHERE purged_at IS NULL;
        CREATE TABLE waybill_events (
          id         ${t.id},
          waybill_id text NOT NULL REFERENCES waybills(id),
          type       text NOT NULL,
          at         ${t.time} NOT NULL,
          actor      text NOT NULL
        );
        CREATE TABLE scan_attempts (
          id         ${t.id},
          courier_id text NOT NULL,
          waybill_id text,
          at         ${t.time} NOT NULL,
          outcome    text NOT NULL
        );
        CREATE INDEX scan_attempts_courier_at ON scan_attempts(courier_id, at);
        CREATE TABLE alerts (
          id         ${t.id},
          at         ${t.time} NOT NULL,
          kind       text NOT NULL,
          courier_id text,
          detail     text NOT NULL
        );`;
    },
  },
  {
    version: 3,
    name: 'audit log',
    // The head is kept apart from the rows, and triggers refuse edits, deletes, truncation and
    // out-of-line inserts, so only someone who first drops them can tamper, and the chain shows it.
    sql: (d) => `
      CREATE TABLE audit_log (
        seq        ${TYPES[d].bigint} PRIMARY KEY,
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
      CREATE INDEX audit_log_job ON audit_log(${d === 'sqlite' ? "json_extract(detail, '$.job')" : "((detail::jsonb) ->> 'job')"}) WHERE detail IS NOT NULL;
      CREATE TABLE audit_head (
        id   integer PRIMARY KEY CHECK (id = 1),
        seq  ${TYPES[d].bigint} NOT NULL,
        hash text NOT NULL
      );
      INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${ZERO_HASH}');
      ${d === 'sqlite' ? SQLITE_AUDIT_GUARDS : POSTGRES_AUDIT_GUARDS}`,
  },
  {
    version: 4,
    name: 'courier identities',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE couriers (
          id              text PRIMARY KEY,
          carrier         text NOT NULL,
          name            text NOT NULL,
          outlet          text NOT NULL,
          routes          text NOT NULL, -- JSON array of routing-code prefixes; [] = no route restriction
          device          text NOT NULL,
          credential_hash ${t.blob} NOT NULL CHECK (length(credential_hash) = 32),
          created_at      ${t.time} NOT NULL,
          revoked_at      ${t.time},
          suspended_at    ${t.time},
          suspend_reason  text
        );`;
    },
  },
  {
    version: 5,
    name: 'relay number bindings, slots and call receipts',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE relay_bindings (
          id                 text PRIMARY KEY,
          number             text NOT NULL,
          ext                text NOT NULL,
          waybill_id         text NOT NULL,
          party              text NOT NULL CHECK (party IN ('recipient', 'sender')),
          caller_policy      text NOT NULL CHECK (caller_policy IN ('anyone', 'couriers', 'parties')),
          party_phone_hashes text NOT NULL, -- JSON array of keyed hashes of the parties' phones, for the 'parties' policy
          key_id             text,
          wrapped_key        ${t.blob},
          sealed             ${t.blob},       -- the real number, sealed; NULL once the binding ended or expired
          valid_from         ${t.time} NOT NULL,
          expires_at         ${t.time} NOT NULL,
          ended_at           ${t.time},
          quarantine_until   ${t.time} NOT NULL
        );
        CREATE INDEX relay_bindings_waybill ON relay_bindings(waybill_id);
        CREATE INDEX relay_bindings_number_ext ON relay_bindings(number, ext);
        -- expireDue looks only at bindings that still hold a real number.
        CREATE INDEX relay_bindings_sealed_expiry ON relay_bindings(expires_at) WHERE sealed IS NOT NULL;
        -- One row per number + extension in use, live or quarantined: the PRIMARY KEY makes a number +
        -- extension exclusive across instances. held_until = the binding's end (or expiry) + quarantine.
        CREATE TABLE relay_slots (
          number     text NOT NULL,
          ext        text NOT NULL,
          binding_id text NOT NULL,
          held_until ${t.time} NOT NULL,
          PRIMARY KEY (number, ext)
        );
        CREATE INDEX relay_slots_binding ON relay_slots(binding_id);
        -- Call receipts from the relay provider, idempotent by call id. No caller or callee numbers.
        CREATE TABLE relay_calls (
          call_id       text PRIMARY KEY,
          binding_id    text,
          body_hash     text NOT NULL,
          started_at    ${t.time},
          answered_at   ${t.time},
          ended_at      ${t.time},
          release_cause text,
          received_at   ${t.time} NOT NULL
        );
        CREATE INDEX relay_calls_binding ON relay_calls(binding_id);`;
    },
  },
  {
    version: 6,
    name: 'telephony clients, courier phone hashes, relay-unavailable waybills',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE telephony_clients (
          id              text PRIMARY KEY,
          name            text NOT NULL,
          credential_hash ${t.blob} NOT NULL,
          created_at      ${t.time} NOT NULL,
          revoked_at      ${t.time}
        );
        ALTER TABLE couriers ADD COLUMN phone_hash text;
        CREATE INDEX couriers_phone_hash ON couriers(phone_hash) WHERE phone_hash IS NOT NULL;
        ALTER TABLE waybills ADD COLUMN relay_unavailable ${t.flag};`;
    },
  },
  {
    version: 7,
    name: 'api keys, waybill clients, idempotency keys',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE api_keys (
          id          text PRIMARY KEY,
          name        text NOT NULL,
          role        text NOT NULL,
          client_id   text,
          secret_hash ${t.blob} NOT NULL,
          created_at  ${t.time} NOT NULL,
          revoked_at  ${t.time}
        );
        ALTER TABLE waybills ADD COLUMN client_id text;
        CREATE UNIQUE INDEX waybills_client_order ON waybills(client_id, order_id) WHERE client_id IS NOT NULL;
        CREATE TABLE idempotency_keys (
          client_id    text NOT NULL,
          key          text NOT NULL,
          request_hash text NOT NULL,
          created_at   ${t.time} NOT NULL,
          completed_at ${t.time},
          status       integer,
          content_type text,
          location     text,
          key_id       text,
          wrapped_key  ${t.blob},
          body         ${t.blob},
          PRIMARY KEY (client_id, key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);`;
    },
  },
  {
    version: 8,
    name: 'covering index for scan limits',
    // SQLite has no INCLUDE: the extra columns go into the key, which covers the query just as well.
    sql: (d) => `
      CREATE INDEX scan_attempts_courier_at_cover ON scan_attempts${d === 'sqlite' ? '(courier_id, at, outcome, waybill_id)' : '(courier_id, at) INCLUDE (outcome, waybill_id)'};
      DROP INDEX scan_attempts_courier_at;`,
  },
  {
    version: 9,
    name: 'printers and print deliveries',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE printers (
          name            text PRIMARY KEY,
          host            text NOT NULL,
          port            integer NOT NULL,
          language        text NOT NULL,
          dpi             integer NOT NULL,
          template_id     text,
          client_id       text,
          zpl_compression text NOT NULL,
          created_at      ${t.time} NOT NULL
        );
        CREATE TABLE print_deliveries (
          job_id       text PRIMARY KEY REFERENCES print_jobs(id),
          printer      text NOT NULL,
          client_id    text,
          status       text NOT NULL,
          attempts     integer NOT NULL,
          last_error   text,
          byte_length  integer NOT NULL,
          created_at   ${t.time} NOT NULL,
          updated_at   ${t.time} NOT NULL,
          delivered_at ${t.time},
          key_id       text,
          wrapped_key  ${t.blob},
          body         ${t.blob}
        );
        CREATE INDEX print_deliveries_status ON print_deliveries(status, created_at);`;
    },
  },
  {
    version: 10,
    name: 'shared API request rate buckets',
    sql: (d) => `
      CREATE TABLE api_rate_buckets (
        bucket  text PRIMARY KEY,
        tokens  ${TYPES[d].real} NOT NULL,
        at_ms   ${TYPES[d].real} NOT NULL,
        allowed integer NOT NULL
      );`,
  },
  // Reserved while issue 14 is built in parallel; each is replaced by its real migration.
  {
    version: 11,
    name: 'waybill state machine and courier custody',
    sql: (d) => {
      const t = TYPES[d];
      // Waybills of earlier releases: those with a paper copy were printed; a courier's pickup gave custody.
      return `
        ALTER TABLE waybills ADD COLUMN custodian text;
        ALTER TABLE waybills ADD COLUMN assigned_outlet text;
        ALTER TABLE waybill_events ADD COLUMN detail text;
        ALTER TABLE scan_attempts ADD COLUMN purpose text;
        CREATE INDEX waybill_events_waybill ON waybill_events(waybill_id);
        CREATE TABLE event_attempts (
          id         ${t.id},
          courier_id text NOT NULL,
          waybill_id text NOT NULL,
          type       text NOT NULL,
          at         ${t.time} NOT NULL,
          outcome    text NOT NULL
        );
        CREATE INDEX event_attempts_courier_at ON event_attempts(courier_id, at);
        -- A kept print job's waybills (its retry checks they are still printable).
        CREATE INDEX copy_prints_job ON copy_prints(job_id);
        UPDATE waybills SET status = 'printed'
          WHERE status = 'created' AND id IN (SELECT waybill_id FROM copy_prints);
        UPDATE waybills SET custodian = (
            SELECT substr(e.actor, 9) FROM waybill_events e
            WHERE e.waybill_id = waybills.id AND e.type = 'picked_up' AND e.actor LIKE 'courier:%'
            ORDER BY e.id DESC LIMIT 1)
          WHERE status = 'picked_up';`;
    },
  },
  {
    version: 12,
    name: 'print leases, provisional and per-client relay bindings',
    sql: (d) => {
      const t = TYPES[d];
      return `
        -- A print run in progress (an HTTP create or batch, a CLI print), renewed while it runs: its relay
        -- bindings stay provisional until its waybills are saved. A batch of a client takes one of its
        -- numbered slots, so UNIQUE (client_id, slot) caps the client's concurrent batches across instances.
        CREATE TABLE print_leases (
          id         text PRIMARY KEY,
          client_id  text,
          slot       integer,
          host       text NOT NULL,
          pid        integer NOT NULL,
          output     text,
          started_at ${t.time} NOT NULL,
          expires_at ${t.time} NOT NULL
        );
        CREATE UNIQUE INDEX print_leases_client_slot ON print_leases(client_id, slot);
        CREATE INDEX print_leases_expiry ON print_leases(expires_at);
        -- lease_id: the run that made the binding, until its waybill is saved (provisional: never bridges).
        ALTER TABLE relay_bindings ADD COLUMN lease_id text;
        ALTER TABLE relay_bindings ADD COLUMN client_id text;
        CREATE INDEX relay_bindings_lease ON relay_bindings(lease_id) WHERE lease_id IS NOT NULL;
        CREATE INDEX relay_bindings_client ON relay_bindings(client_id, quarantine_until) WHERE client_id IS NOT NULL;
        -- Bindings left by prints that never saved their waybill (killed runs of earlier releases):
        -- provisional under a lease that does not exist, so the next sweep returns their slots.
        UPDATE relay_bindings SET lease_id = 'before-v12'
         WHERE NOT EXISTS (SELECT 1 FROM waybills w WHERE w.id = relay_bindings.waybill_id);`;
    },
  },
  {
    version: 13,
    name: 'telephony client suspension, unknown resolve answers',
    sql: (d) => {
      const t = TYPES[d];
      return `
        ALTER TABLE telephony_clients ADD COLUMN suspended_at ${t.time};
        ALTER TABLE telephony_clients ADD COLUMN suspend_reason text;
        CREATE TABLE telephony_unknown_answers (
          client_id text NOT NULL,
          at        ${t.time} NOT NULL
        );
        CREATE INDEX telephony_unknown_answers_client_at ON telephony_unknown_answers(client_id, at);`;
    },
  },
  {
    version: 14,
    // A column rather than a detail field: the hash covers detail, and the key must be known before the
    // link can be checked; the head carries it too, so an append learns the chain's key without another query.
    name: 'audit key id per record and on the head (keyed chain)',
    sql: () => `
      ALTER TABLE audit_log ADD COLUMN key_id text;
      ALTER TABLE audit_head ADD COLUMN key_id text;`,
  },
  {
    version: 15,
    // Search is keyset pagination newest first, (created_at, id) as the key: each filter combination is a
    // range scan of one index, scoped by client (keys) or not (admins). (client_id, order_id) exists (v7).
    // Batches: the order index → waybill map of a PDF or printer-language batch, saved with its waybills.
    name: 'waybill search indexes, batches',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE INDEX waybills_client_created ON waybills(client_id, created_at, id);
        CREATE INDEX waybills_client_status_created ON waybills(client_id, status, created_at, id);
        CREATE INDEX waybills_created ON waybills(created_at, id);
        CREATE INDEX waybills_status_created ON waybills(status, created_at, id);
        CREATE INDEX waybills_order ON waybills(order_id);
        CREATE TABLE batches (
          id         text PRIMARY KEY REFERENCES print_jobs(id),
          client_id  text,
          created_at ${t.time} NOT NULL,
          count      integer NOT NULL
        );
        CREATE TABLE batch_items (
          batch_id   text NOT NULL REFERENCES batches(id),
          idx        integer NOT NULL,
          waybill_id text NOT NULL REFERENCES waybills(id),
          PRIMARY KEY (batch_id, idx)
        );`;
    },
  },
  {
    version: 16,
    // The secret must be recoverable to sign, so it is sealed under the master key ring like other
    // sealed data; the previous one keeps signing until prev_expires_at (a rotation). One outbox row per
    // event and endpoint, written in the transaction of the state change; a worker claims due rows with
    // a conditional update (claimed_by/claimed_until), so no two instances send the same attempt.
    name: 'webhook endpoints and their outbox',
    sql: (d) => {
      const t = TYPES[d];
      return `
        CREATE TABLE webhook_endpoints (
          id               text PRIMARY KEY,
          client_id        text,
          url              text NOT NULL,
          events           text,
          key_id           text NOT NULL,
          wrapped_key      ${t.blob} NOT NULL,
          sealed           ${t.blob} NOT NULL,
          prev_key_id      text,
          prev_wrapped_key ${t.blob},
          prev_sealed      ${t.blob},
          prev_expires_at  ${t.time},
          created_at       ${t.time} NOT NULL,
          disabled_at      ${t.time},
          disabled_reason  text,
          failing_since    ${t.time}
        );
        CREATE INDEX webhook_endpoints_client ON webhook_endpoints(client_id);
        CREATE TABLE webhook_outbox (
          id              text PRIMARY KEY,
          endpoint_id     text NOT NULL,
          client_id       text,
          type            text NOT NULL,
          payload         text NOT NULL,
          created_at      ${t.time} NOT NULL,
          next_attempt_at ${t.time} NOT NULL,
          attempts        integer NOT NULL DEFAULT 0,
          delivered_at    ${t.time},
          given_up_at     ${t.time},
          last_error      text,
          claimed_by      text,
          claimed_until   ${t.time}
        );
        CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;
        CREATE INDEX webhook_outbox_endpoint ON webhook_outbox(endpoint_id);
        -- The clean-up sweep finds finished rows by when they finished, without reading the outbox.
        CREATE INDEX webhook_outbox_delivered ON webhook_outbox(delivered_at) WHERE delivered_at IS NOT NULL;
        CREATE INDEX webhook_outbox_given_up ON webhook_outbox(given_up_at) WHERE given_up_at IS NOT NULL;`;
    },
  },
  {
    version: 17,
    // Multi-piece shipments (子母件): pieces 2..N of a waybill carry child numbers; piece 1 is the waybill's
    // own number. A child number never equals a master number: generation checks both tables (a UNIQUE
    // cannot span two tables). Copies record their piece, so a copy code traces to the very label.
    // One copy of each kind per piece and print: the piece joins copy_prints' unique key, which SQLite can
    // only change by rebuilding the table.
    name: 'waybill pieces (child numbers), piece of a printed copy',
    sql: (d) => `
      CREATE TABLE waybill_pieces (
        waybill_id text NOT NULL REFERENCES waybills(id),
        piece_no   integer NOT NULL,
        waybill_no text NOT NULL UNIQUE,
        PRIMARY KEY (waybill_id, piece_no)
      );
      ${
        d === 'postgres'
          ? `ALTER TABLE copy_prints ADD COLUMN piece_no integer NOT NULL DEFAULT 1;
      ALTER TABLE copy_prints DROP CONSTRAINT copy_prints_waybill_id_copy_print_no_key;
      ALTER TABLE copy_prints ADD CONSTRAINT copy_prints_piece_key UNIQUE (waybill_id, copy, print_no, piece_no);`
          : `CREATE TABLE copy_prints_new (
        copy_code   text PRIMARY KEY,
        job_id      text NOT NULL REFERENCES print_jobs(id),
        waybill_id  text NOT NULL REFERENCES waybills(id),
        copy        text NOT NULL,
        print_no    integer NOT NULL,
        piece_no    integer NOT NULL DEFAULT 1,
        UNIQUE (waybill_id, copy, print_no, piece_no)
      );
      INSERT INTO copy_prints_new (copy_code, job_id, waybill_id, copy, print_no) SELECT copy_code, job_id, waybill_id, copy, print_no FROM copy_prints;
      DROP TABLE copy_prints;
      ALTER TABLE copy_prints_new RENAME TO copy_prints;
      CREATE INDEX copy_prints_waybill ON copy_prints(waybill_id);
      CREATE INDEX copy_prints_job ON copy_prints(job_id);`
      }`,
  },
  {
    version: 18,
    // Parcel stations (驿站): a station key names its station; an arrival takes a pickup code unique per
    // station and day (the sequence makes it so; the second UNIQUE guards the code itself); verify
    // attempts are kept to limit tries per station and per waybill and to let a match allow `delivered`.
    name: 'parcel stations: station keys, arrivals with pickup codes, verify attempts',
    sql: (d) => `
      ALTER TABLE api_keys ADD COLUMN station_id text;
      CREATE TABLE station_arrivals (
        waybill_id  text NOT NULL REFERENCES waybills(id),
        station_id  text NOT NULL,
        day         text NOT NULL,
        seq         integer NOT NULL,
        pickup_code text NOT NULL,
        arrived_at  ${TYPES[d].time} NOT NULL,
        UNIQUE (station_id, day, seq),
        UNIQUE (station_id, day, pickup_code)
      );
      CREATE INDEX station_arrivals_waybill ON station_arrivals(waybill_id);
      CREATE TABLE station_verifications (
        id         ${TYPES[d].id},
        station_id text NOT NULL,
        waybill_id text REFERENCES waybills(id),
        at         ${TYPES[d].time} NOT NULL,
        outcome    text NOT NULL
      );
      CREATE INDEX station_verifications_station ON station_verifications(station_id, at);
      CREATE INDEX station_verifications_waybill ON station_verifications(waybill_id, at);`,
  },
  {
    version: 19,
    // A courier's handhelds, each with its own credential (wbd_), paired by a short one-use code. Only
    // hashes are stored: of a device's secret, and of a pairing code (its primary key, so a redeem finds
    // it by hash and marks it used with one conditional UPDATE). One open code per courier at most, so
    // two redeems for one courier never race past its device limit.
    name: 'courier devices and pairing codes',
    sql: (d) => `
      CREATE TABLE courier_devices (
        id           text PRIMARY KEY,
        courier_id   text NOT NULL REFERENCES couriers(id),
        name         text NOT NULL,
        secret_hash  ${TYPES[d].blob} NOT NULL CHECK (length(secret_hash) = 32),
        created_at   ${TYPES[d].time} NOT NULL,
        revoked_at   ${TYPES[d].time},
        last_used_at ${TYPES[d].time}
      );
      CREATE INDEX courier_devices_courier ON courier_devices(courier_id);
      CREATE TABLE courier_pairings (
        code_hash  text PRIMARY KEY,
        courier_id text NOT NULL REFERENCES couriers(id),
        created_at ${TYPES[d].time} NOT NULL,
        expires_at ${TYPES[d].time} NOT NULL,
        used_at    ${TYPES[d].time},
        device_id  text
      );
      CREATE UNIQUE INDEX courier_pairings_open ON courier_pairings(courier_id) WHERE used_at IS NULL;`,
  },
  {
    version: 20,
    // Compact jobs (issue 19): per printer, native barcode commands and (TSPL) a resident font. Existing
    // printers get 'raster' for both, so the jobs they are sent stay exactly as before.
    name: 'printer barcode and text modes',
    sql: () => `
      ALTER TABLE printers ADD COLUMN barcodes text NOT NULL DEFAULT 'raster';
      ALTER TABLE printers ADD COLUMN text_mode text NOT NULL DEFAULT 'raster';
      ALTER TABLE printers ADD COLUMN tspl_font text;`,
  },
  {
    version: 21,
    // Printers behind a warehouse agent (`waybill agent`): the agent's key owns them (the name stays the
    // table's key, so an agent never takes another printer's name); seen_at is refreshed while the agent is
    // connected to some instance, so every instance can tell online from offline.
    name: 'printers reached through a warehouse agent',
    sql: (d) => `
      ALTER TABLE printers ADD COLUMN agent_key text;
      ALTER TABLE printers ADD COLUMN agent_seen_at ${TYPES[d].time};
      CREATE INDEX printers_agent_key ON printers(agent_key);
      CREATE INDEX print_deliveries_printer_status ON print_deliveries(printer, status);`,
  },
  {
    version: 22,
    // A long print writes its records here as it goes, under its run's lease, instead of holding them all
    // in memory until its save; the save moves them into waybills, waybill_pieces and copy_prints in its
    // one transaction (nothing is visible before), and the lease's drop or sweep deletes them.
    name: 'records staged by running prints',
    sql: (d) => {
      const t = TYPES[d];
      return `
      CREATE TABLE staged_waybills (
        seq               ${t.id},
        lease_id          text NOT NULL,
        id                text NOT NULL,
        waybill_no        text NOT NULL,
        carrier           text NOT NULL,
        order_id          text NOT NULL,
        client_id         text,
        routing_code      text,
        created_at        ${t.time} NOT NULL,
        token_hash        text NOT NULL,
        status            text NOT NULL,
        purge_after       ${t.time},
        relay_unavailable ${t.flag},
        key_id            text NOT NULL,
        wrapped_key       ${t.blob},
        sealed            ${t.blob}
      );
      CREATE INDEX staged_waybills_lease ON staged_waybills(lease_id, seq);
      CREATE TABLE staged_waybill_pieces (
        lease_id   text NOT NULL,
        waybill_id text NOT NULL,
        piece_no   integer NOT NULL,
        waybill_no text NOT NULL
      );
      CREATE INDEX staged_waybill_pieces_lease ON staged_waybill_pieces(lease_id);
      CREATE TABLE staged_copy_prints (
        lease_id   text NOT NULL,
        copy_code  text NOT NULL,
        job_id     text NOT NULL,
        waybill_id text NOT NULL,
        copy       text NOT NULL,
        print_no   integer NOT NULL,
        piece_no   integer NOT NULL
      );
      CREATE INDEX staged_copy_prints_lease ON staged_copy_prints(lease_id);
      CREATE INDEX staged_copy_prints_code ON staged_copy_prints(copy_code);`;
    },
  },
  {
    version: 23,
    // "Has this courier opened this waybill today?" is asked on every scan (and "scanned it for pickup?"
    // on every pickup event). Led by (courier, at), it walked the courier's whole day of attempts: a busy
    // handheld's scans slowed through the day. Led by (courier, waybill), it is one seek.
    name: 'scan attempts by courier and waybill',
    sql: () => `CREATE INDEX scan_attempts_courier_waybill ON scan_attempts(courier_id, waybill_id, outcome, at);`,
  },
  {
    version: 24,
    // copy_prints' UNIQUE (waybill_id, copy, print_no, piece_no) already finds a waybill's copies, so the
    // index on waybill_id alone only cost its upkeep: a quarter of inserting a batch's copies, which a
    // batch's save does in its one transaction (docs/performance.md).
    name: 'copy prints found by their unique key, not a second index',
    sql: () => `DROP INDEX copy_prints_waybill;`,
  },
  {
    version: 25,
    // The relay pool's reading (/metrics, `waybill relay pool`) counted every held slot joined to its
    // binding's row: 40 ms for 20,000 slots, a second for 200,000, each scrape. Two counts over
    // covering indexes read no table rows: a slot is held while held_until is ahead, and a binding is
    // live while it has not ended and not expired (relayRepository.ts: poolCounts).
    name: 'relay pool counted from covering indexes',
    sql: () => `
      CREATE INDEX relay_slots_number_held ON relay_slots(number, held_until);
      CREATE INDEX relay_bindings_live ON relay_bindings(number, expires_at, ended_at) WHERE ended_at IS NULL;`,
  },
  {
    version: 26,
    // Attempts only ever grew: a row per scan, per courier event, per station check. The sweep now forgets
    // them by age, walking each table from its oldest id (waybills/attemptRetention.ts), so no index on
    // their time is kept up on every scan. An opened pickup scan lets its courier post `picked_up` while the
    // waybill lives: before its attempt is forgotten it moves here, until the waybill is shredded.
    name: 'attempts forgotten by age; pickup rights kept apart',
    sql: () => `
      CREATE TABLE pickup_rights (
        waybill_id text NOT NULL,
        courier_id text NOT NULL,
        PRIMARY KEY (waybill_id, courier_id)
      );`,
  },
  {
    version: 27,
    // Call receipts are kept only to answer a PBX's retried receipt (relayStore.ts: CALL_RECEIPTS_KEPT_DAYS),
    // then forgotten by age; a few per parcel, so an index on their time costs little.
    name: 'call receipts found by age, to be forgotten',
    sql: () => `CREATE INDEX relay_calls_received ON relay_calls(received_at);`,
  },
  {
    version: 28,
    // A telephony client's unknown answers and the first answer reaching each binding, kept a day, so
    // harvesting is seen over an hour and a day, not only as a burst of unknown extensions in a minute.
    // The minute's unknown answers kept so far are not carried over (a minute's worth at most).
    name: 'telephony resolve answers with their bindings',
    sql: (d) => {
      const t = TYPES[d];
      return `
        DROP TABLE telephony_unknown_answers;
        CREATE TABLE telephony_answers (
          id         ${t.id},
          client_id  text NOT NULL,
          at         ${t.time} NOT NULL,
          binding_id text
        );
        CREATE INDEX telephony_answers_client_at ON telephony_answers(client_id, at);
        CREATE UNIQUE INDEX telephony_answers_client_binding ON telephony_answers(client_id, binding_id);`;
    },
  },
  {
    version: 29,
    // The purge now ends a waybill's relay bindings; those of waybills purged before lived on to their
    // after-sales expiry, their real number still sealed and reachable. They end as of their purge.
    name: 'relay bindings of purged waybills end',
    sql: () => `
      UPDATE relay_bindings
         SET ended_at = (SELECT purged_at FROM waybills WHERE waybills.id = relay_bindings.waybill_id),
             expires_at = CASE
               WHEN expires_at > (SELECT purged_at FROM waybills WHERE waybills.id = relay_bindings.waybill_id)
               THEN (SELECT purged_at FROM waybills WHERE waybills.id = relay_bindings.waybill_id)
               ELSE expires_at END,
             key_id = NULL, wrapped_key = NULL, sealed = NULL
       WHERE ended_at IS NULL AND waybill_id IN (SELECT id FROM waybills WHERE purged_at IS NOT NULL);`,
  },
  {
    version: 30,
    // A station whose wrong verify answers in an hour pass its limit is sweeping buyers' digits across
    // parcels: it is suspended, every key it has, until an operator reinstates it.
    name: 'station suspensions',
    sql: (d) => `
      CREATE TABLE station_suspensions (
        station_id   text PRIMARY KEY,
        suspended_at ${TYPES[d].time} NOT NULL,
        reason       text NOT NULL
      );`,
  },
  {
    version: 31,
    // A long print's audit records follow its save in groups; they are kept with the save until then, so a
    // crash between the two cannot leave its waybills recorded without them (auditLog.ts: appendPending).
    name: 'audit records kept with a save until appended',
    sql: () => `
      CREATE TABLE audit_pending (
        job_id text NOT NULL,
        idx    integer NOT NULL,
        entry  text NOT NULL,
        PRIMARY KEY (job_id, idx)
      );`,
  },
  {
    version: 32,
    // A send that failed part way (a link lost mid-job, an agent that took the bytes and said failed) may be
    // on paper: its print number and copy codes stay its own, never taken over by the next print.
    name: 'print jobs that may be partly on paper',
    sql: (d) => `ALTER TABLE print_deliveries ADD COLUMN partly_sent_at ${TYPES[d].time};`,
  },
  {
    version: 33,
    // A print to a file keeps its lease past its save, marked saved, until the file is in place: a run
    // killed in between leaves its finished .partial for the sweep to put in place, not to delete.
    name: 'print leases kept past the save until the output file is in place',
    sql: () => `ALTER TABLE print_leases ADD COLUMN saved_job text;`,
  },
  {
    version: 34,
    // A replayed label answer says what its label could not show as given (Waybill-Warnings), as the first
    // did; a batch resource says it of each of its waybills.
    name: 'label warnings kept with idempotent answers and batch items',
    sql: () => `ALTER TABLE idempotency_keys ADD COLUMN warnings text;
      ALTER TABLE batch_items ADD COLUMN warnings text;`,
  },
  {
    version: 35,
    // An outbox row carries a seal (HMAC under a key held outside the database) made by the service that
    // wrote it: a row a database writer inserted or edited is refused, not signed and sent.
    name: 'webhook outbox rows sealed by the service',
    sql: () => `ALTER TABLE webhook_outbox ADD COLUMN seal text;`,
  },
  {
    version: 36,
    // A streamed run's pages leave as they are made: if it dies, the numbers bound under it may be on paper
    // already, so the sweep ends them in quarantine instead of giving them to the next buyer.
    name: 'print leases say whether their run streams',
    sql: (d) => `ALTER TABLE print_leases ADD COLUMN streamed ${TYPES[d].flag};`,
  },
  {
    version: 37,
    // What an event's relay numbers still owe (ended, shortened to after-sales, lengthened), committed with
    // the event and cleared once done: a crash between the two cannot leave a delivered parcel's number
    // ringing until its print-time expiry; the sweep finishes it.
    name: 'relay changes owed by waybill events',
    sql: () => `ALTER TABLE waybill_events ADD COLUMN relay_due text;
      CREATE INDEX waybill_events_relay_due ON waybill_events(id) WHERE relay_due IS NOT NULL;`,
  },
  {
    version: 38,
    // Each credential row's binding (src/auth/credentials.ts): an HMAC under a key the database never holds.
    // Rows made by earlier releases get theirs once, by the first process that opens the store with its
    // keys (the marker row says it is owed; that process deletes it and writes an audit record).
    name: 'credential rows bound to their authority',
    sql: (d) => {
      const blob = TYPES[d].blob;
      return `ALTER TABLE api_keys ADD COLUMN binding ${blob};
        ALTER TABLE couriers ADD COLUMN binding ${blob};
        ALTER TABLE courier_devices ADD COLUMN binding ${blob};
        ALTER TABLE telephony_clients ADD COLUMN binding ${blob};
        CREATE TABLE credential_binding_due (id integer PRIMARY KEY);
        INSERT INTO credential_binding_due (id) VALUES (1);`;
    },
  },
  {
    version: 39,
    // A waybill's state (status, holder, outlet, purge, after-sales) carries a binding (src/waybills/lifeBinding.ts),
    // so after-sales, which opens a delivered parcel to its carrier's couriers, becomes a column it covers; a
    // relay binding's terms carry one too (src/relay/relayTerms.ts). Those of earlier releases get theirs as
    // credentials did in 38: the first open with the keys.
    name: 'waybill states and relay terms bound to the service',
    sql: (d) => {
      const blob = TYPES[d].blob;
      return `ALTER TABLE waybills ADD COLUMN after_sales ${TYPES[d].flag};
        ALTER TABLE waybills ADD COLUMN life_binding ${blob};
        ALTER TABLE staged_waybills ADD COLUMN life_binding ${blob};
        ALTER TABLE relay_bindings ADD COLUMN terms_binding ${blob};
        UPDATE waybills SET after_sales = ${d === 'sqlite' ? '1' : 'true'} WHERE id IN (SELECT waybill_id FROM waybill_events WHERE type = 'after_sales');
        CREATE TABLE waybill_binding_due (id integer PRIMARY KEY);
        INSERT INTO waybill_binding_due (id) VALUES (1);`;
    },
  },
];

const SQLITE_AUDIT_GUARDS = `
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
  CREATE TRIGGER audit_log_in_line BEFORE INSERT ON audit_log
    WHEN NEW.seq IS NOT (SELECT seq + 1 FROM audit_head WHERE id = 1)
      OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'audit record does not follow the head'); END;
  CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1
      OR NEW.hash IS NOT (SELECT hash FROM audit_log WHERE seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'audit head only moves to the newest record'); END;
  CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    BEGIN SELECT RAISE(ABORT, 'audit head cannot be deleted'); END;`;

// PostgreSQL also has TRUNCATE, which row triggers do not see.
const POSTGRES_AUDIT_GUARDS = `
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
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('audit head cannot be deleted');`;
