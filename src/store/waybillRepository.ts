// Waybills, print jobs, printed copies, lifecycle events, scan attempts and alerts on either database.
// Uniqueness (waybill numbers, copy codes, order ids per client) rests on constraints, never on a
// read-then-write: a racing instance gets UniqueViolation.

import { sql, type Kysely, type Selectable } from 'kysely';
import { letRequestsIn } from '../eventLoop';
import type { CopyKind } from '../privacy/copyPolicy';
import type {
  CopyPrintRecord,
  EventAttempt,
  BatchRecord,
  EventChange,
  KeptAnswer,
  NewAlert,
  PrintFact,
  PrintJobRecord,
  RelayDue,
  RelayEffect,
  TracedCopy,
  ScanAttempt,
  AlertQuery,
  AttemptKind,
  ScanCounts,
  ScanGate,
  WaybillRecord,
  StoredAlert,
  StoredWaybillEvent,
  WaybillSearch,
  WaybillStatus,
  WaybillStore,
  WaybillSummary,
} from '../waybills/waybillStore';
import { DAY_MS } from '../time';
import type { SealedBox } from '../vault/sealing';
import { isUniqueViolation, step, type Database, type Steps } from './database';
import { forgetOldest, oldestBefore } from './attemptTables';
import { prepared } from './prepared';
import type { Schema } from './schema';
import { UniqueViolation } from '../errors';
import type { AuditChain } from '../audit/auditLog';
import { appendSteps, keepPendingSteps } from './auditRepository';
import { completion } from './idempotencyRepository';
import { leaseLost } from '../printing/printLeases';
import { printRefused } from '../waybills/printable';
import type { UnstoredLease } from '../relay/relayStore';
import type { RowCheck } from '../auth/credentials';
import { insertLease, leaseRow } from './printLeaseRepository';
import { changeLife, LIFE_COLUMNS, rowLifeHolds } from './waybillLife';
import { checkInPages } from './bindingPages';
import { lifeBinding } from '../waybills/lifeBinding';
import { waybillData, type OutboxWriter } from './webhookOutbox';
import { LOCAL_CLIENT, lifecycleEventType, type OutboxEvent } from '../webhooks/events';

type WaybillRow = Selectable<Schema['waybills']>;

/** Rows per INSERT: well under both databases' limits on bound parameters (14 a waybill). */
const CHUNK = 500;

function toWaybill(row: WaybillRow, key: Buffer | undefined): WaybillRecord {
  return {
    id: row.id,
    waybillNo: row.waybill_no,
    carrier: row.carrier,
    orderId: row.order_id,
    ...(row.client_id ? { clientId: row.client_id } : {}),
    ...(row.routing_code ? { routingCode: row.routing_code } : {}),
    createdAt: row.created_at,
    tokenHash: row.token_hash,
    status: row.status as WaybillStatus,
    purgeAfter: row.purge_after as string, // set on every waybill the service saves
    ...(row.purged_at ? { purgedAt: row.purged_at } : {}),
    ...(row.relay_unavailable ? { relayUnavailable: true } : {}),
    ...(row.custodian ? { custodian: row.custodian } : {}),
    ...(row.assigned_outlet ? { assignedOutlet: row.assigned_outlet } : {}),
    ...(row.after_sales ? { afterSales: true } : {}),
    ...(row.wrapped_key && row.sealed ? { sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.sealed } } : {}),
    // A shredded waybill opens nothing whatever its state says (and a page of them owed no binding).
    ...(row.sealed && !rowLifeHolds(key, row) ? { rewritten: true } : {}),
  };
}

/** Which unique value a failed save hit, from the constraint (PostgreSQL) or the columns (SQLite) named in the error. */
function violated(e: unknown): string {
  const message = String((e as Error).message);
  if (/waybills_waybill_no_key|waybills\.waybill_no\b|waybill_pieces_waybill_no_key|waybill_pieces\.waybill_no\b/.test(message)) return 'waybill number';
  if (/waybills_client_order|waybills\.client_id, waybills\.order_id/.test(message)) return 'order id';
  if (/copy_prints_piece_key|copy_prints\.waybill_id, copy_prints\.copy, copy_prints\.print_no/.test(message)) return 'print number';
  return 'generated identifier';
}

function chunks<T>(all: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += CHUNK) out.push(all.slice(i, i + CHUNK));
  return out;
}

/** New waybills' rows (status printed when a copy is on paper, the state bound) and their pieces' rows. */
function newWaybillRows(waybills: WaybillRecord[], onPaper: Set<string>, key: Buffer | undefined) {
  for (const w of waybills) if (!w.sealed) throw new Error('a new waybill needs its sealed data');
  return {
    waybills: waybills.map((w) => {
      const status = w.status === 'created' && onPaper.has(w.id) ? 'printed' : w.status;
      return {
        id: w.id,
        waybill_no: w.waybillNo,
        carrier: w.carrier,
        order_id: w.orderId,
        client_id: w.clientId ?? null,
        routing_code: w.routingCode ?? null,
        created_at: w.createdAt,
        token_hash: w.tokenHash,
        status,
        purge_after: w.purgeAfter,
        relay_unavailable: w.relayUnavailable ? 1 : 0,
        key_id: w.sealed!.keyId,
        wrapped_key: w.sealed!.wrappedKey,
        sealed: w.sealed!.ciphertext,
        life_binding: lifeBinding(key, w.id, { status, custodian: null, assignedOutlet: null, purgeAfter: w.purgeAfter, afterSales: false }),
      };
    }),
    pieces: waybills.flatMap((w) => (w.childNos ?? []).map((no, i) => ({ waybill_id: w.id, piece_no: i + 2, waybill_no: no }))),
  };
}

function copyRow(c: CopyPrintRecord) {
  return { copy_code: c.copyCode, job_id: c.jobId, waybill_id: c.waybillId, copy: c.copy, print_no: c.printNo, piece_no: c.pieceNo ?? 1 };
}

type EventRow = Pick<WaybillRow, 'id' | 'waybill_no' | 'order_id' | 'client_id' | 'carrier' | 'status'>;

/** A webhook event's data from a waybill's row. */
function rowData(r: Omit<EventRow, 'status'>, status: string): OutboxEvent['data'] {
  return waybillData({ id: r.id, waybillNo: r.waybill_no, orderId: r.order_id, carrier: r.carrier, ...(r.client_id ? { clientId: r.client_id } : {}) }, status);
}

/** New waybills' webhook events: created, and printed when it went on paper. */
function newWaybillEvents(rows: EventRow[], createdAt: string): OutboxEvent[] {
  const events: OutboxEvent[] = [];
  for (const r of rows) {
    const data = rowData(r, r.status);
    const client = r.client_id ?? LOCAL_CLIENT;
    events.push({ type: 'waybill.created', createdAt, client, data });
    if (r.status === 'printed') events.push({ type: 'waybill.printed', createdAt, client, data });
  }
  return events;
}

/** The columns of a new waybill, the same in waybills and staged_waybills. */
const STAGED_COLUMNS = ['id', 'waybill_no', 'carrier', 'order_id', 'client_id', 'routing_code', 'created_at', 'token_hash', 'status', 'purge_after', 'relay_unavailable', 'key_id', 'wrapped_key', 'sealed', 'life_binding'] as const;

/** An alert and its webhook events, in the caller's transaction. */
export function* insertAlert(db: Kysely<Schema>, outbox: OutboxWriter, alert: NewAlert): Steps<void> {
  yield* step(db.insertInto('alerts').values({ at: alert.at, kind: alert.kind, courier_id: alert.courierId ?? null, detail: alert.detail }));
  // Admin endpoints only. Alert details name ids and reasons, never personal data.
  const data = { kind: alert.kind, courierId: alert.courierId ?? null, detail: alert.detail };
  const events: OutboxEvent[] = [{ type: 'alert.raised', createdAt: alert.at, client: null, data }];
  if (alert.kind === 'courier_suspended' && alert.courierId)
    events.push({ type: 'courier.suspended', createdAt: alert.at, client: null, data: { courierId: alert.courierId, reason: alert.detail } });
  yield* outbox.events(db, events);
}

/**
 * Inside a save: the run's staged records into their tables (INSERT … SELECT, nothing through memory),
 * their webhook events a chunk at a time in the order staged, then the staging rows gone.
 */
function* moveStaged(db: Kysely<Schema>, outbox: OutboxWriter, leaseId: string, createdAt: string): Steps<void> {
  yield* step(db.insertInto('waybills').columns([...STAGED_COLUMNS]).expression(db.selectFrom('staged_waybills').select([...STAGED_COLUMNS]).where('lease_id', '=', leaseId)));
  yield* step(
    db
      .insertInto('waybill_pieces')
      .columns(['waybill_id', 'piece_no', 'waybill_no'])
      .expression(db.selectFrom('staged_waybill_pieces').select(['waybill_id', 'piece_no', 'waybill_no']).where('lease_id', '=', leaseId)),
  );
  const copyColumns = ['copy_code', 'job_id', 'waybill_id', 'copy', 'print_no', 'piece_no'] as const;
  // Copy codes are random by design; in their order, the inserts walk the copy-code index once instead of
  // jumping about it (a 10,000-waybill save: some 8 % shorter).
  yield* step(db.insertInto('copy_prints').columns([...copyColumns]).expression(db.selectFrom('staged_copy_prints').select([...copyColumns]).where('lease_id', '=', leaseId).orderBy('copy_code')));
  for (let after: number | string = -1; ; ) {
    const { rows }: { rows: (EventRow & { seq: number | string })[] } = yield* step(
      db
        .selectFrom('staged_waybills')
        .select(['seq', 'id', 'waybill_no', 'order_id', 'client_id', 'carrier', 'status'])
        .where('lease_id', '=', leaseId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(CHUNK),
    );
    if (rows.length === 0) break;
    yield* outbox.events(db, newWaybillEvents(rows, createdAt));
    after = rows.at(-1)!.seq;
  }
}

/** Where running prints stage their records, waybills first (migration 22). */
export const STAGED_TABLES = ['staged_waybills', 'staged_waybill_pieces', 'staged_copy_prints'] as const;

/** A run's staged records deleted (its save moved them, or the run ended without one). */
export function* deleteStaged(db: Kysely<Schema>, leaseId: string): Steps<void> {
  for (const table of STAGED_TABLES) yield* step(db.deleteFrom(table).where('lease_id', '=', leaseId));
}

/** The recorded codes among a list, in one prepared statement whatever its length: the list goes as a JSON array. */
const copyCodesIn = prepared((db, a: { codes: string }, dialect) => {
  const listed = () => (dialect === 'sqlite' ? sql<string>`(SELECT value FROM json_each(${a.codes}))` : sql<string>`(SELECT jsonb_array_elements_text(${a.codes}::jsonb))`);
  // Staged by a running print counts as recorded: its save would otherwise fail on the code.
  return db
    .selectFrom('copy_prints')
    .select('copy_code')
    .where('copy_code', 'in', listed())
    .unionAll(db.selectFrom('staged_copy_prints').select('copy_code').where('copy_code', 'in', listed()));
});

// A child number never equals a master number, so a number is taken when either table has it.
const waybillNoTaken = prepared((db, a: { waybillNo: string }) =>
  db
    .selectFrom('waybills')
    .select(sql<number>`1`.as('one'))
    .where('waybill_no', '=', a.waybillNo)
    .unionAll(db.selectFrom('waybill_pieces').select(sql<number>`1`.as('one')).where('waybill_no', '=', a.waybillNo)),
);
const waybillByTokenHash = prepared((db, a: { tokenHash: string }) => db.selectFrom('waybills').selectAll().where('token_hash', '=', a.tokenHash));
const waybillByClientOrder = prepared((db, a: { clientId: string; orderId: string }) =>
  db.selectFrom('waybills').selectAll().where('client_id', '=', a.clientId).where('order_id', '=', a.orderId),
);
const insertScanAttempt = prepared((db, a: { courierId: string; waybillId: string | null; purpose: string | null; at: string; outcome: string }) =>
  db.insertInto('scan_attempts').values({ courier_id: a.courierId, waybill_id: a.waybillId, purpose: a.purpose, at: a.at, outcome: a.outcome }),
);
export const scannedFor = prepared((db, a: { courierId: string; waybillId: string; purpose: string }) =>
  db
    .selectFrom('scan_attempts')
    .select(sql<number>`1`.as('one'))
    .where('courier_id', '=', a.courierId)
    .where('waybill_id', '=', a.waybillId)
    .where('purpose', '=', a.purpose)
    .where('outcome', '=', 'ok')
    .limit(1),
);
const insertEventAttempt = prepared((db, a: { courierId: string; waybillId: string; type: string; at: string; outcome: string }) =>
  db.insertInto('event_attempts').values({ courier_id: a.courierId, waybill_id: a.waybillId, type: a.type, at: a.at, outcome: a.outcome }),
);
const eventAttemptsSince = prepared((db, a: { courierId: string; since: string }) =>
  db
    .selectFrom('event_attempts')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('all'),
      eb.fn.countAll<number | string>().filterWhere('type', 'in', ['delivered', 'returned']).as('closing'),
    ])
    .where('courier_id', '=', a.courierId)
    .where('at', '>', a.since),
);
/** One pass over the courier's last day; counts are bigint (text) on PostgreSQL. */
const scanCountsOf = prepared((db, a: { courierId: string; waybillId: string | null; minuteAgo: string; hourAgo: string; dayAgo: string }) =>
  db
    .selectFrom('scan_attempts')
    .select((eb) => [
      eb.fn.countAll<number | string>().filterWhere('at', '>', a.minuteAgo).as('last_minute'),
      eb.fn.count<number | string>('waybill_id').distinct().as('distinct_day'),
      eb.fn.count<number | string>('waybill_id').distinct().filterWhere('outcome', '=', 'ok').as('opened_day'),
      eb.fn.countAll<number | string>().filterWhere((f) => f.and([f('outcome', '=', 'unknown'), f('at', '>', a.hourAgo)])).as('unknown_hour'),
      eb.fn.countAll<number | string>().filterWhere('outcome', '=', 'out_of_route').as('out_of_route_day'),
      // With no waybill, `waybill_id = NULL` is never true: nothing opened.
      eb.fn.countAll<number | string>().filterWhere((f) => f.and([f('outcome', '=', 'ok'), f('waybill_id', '=', a.waybillId)])).as('opened_this'),
    ])
    .where('courier_id', '=', a.courierId)
    .where('at', '>', a.dayAgo),
);
/**
 * The checks before every scan in one statement: the last minute's attempts, counted only up to `cap`
 * (enough to decide a limit of `cap`, however busy the courier), and whether this waybill was opened in
 * the last day (an EXISTS that stops at the first row, unlike the day's distinct counts).
 */
export const scanGateOf = prepared((db, a: { courierId: string; waybillId: string | null; minuteAgo: string; dayAgo: string; cap: number }) =>
  db.selectNoFrom((eb) => [
    eb
      .selectFrom(
        eb.selectFrom('scan_attempts').select(sql<number>`1`.as('one')).where('courier_id', '=', a.courierId).where('at', '>', a.minuteAgo).limit(a.cap).as('recent'),
      )
      .select((r) => r.fn.countAll<number | string>().as('n'))
      .as('last_minute'),
    eb
      .exists(
        eb
          .selectFrom('scan_attempts')
          .select(sql<number>`1`.as('one'))
          .where('courier_id', '=', a.courierId)
          .where('at', '>', a.dayAgo)
          .where('outcome', '=', 'ok')
          .where('waybill_id', '=', a.waybillId),
      )
      .as('opened_this'),
  ]),
);

/**
 * The search as one statement (the bench explains it). Keyset pagination: `created_at <= c AND
 * (created_at < c OR id < i)` bounds the index range on created_at on both databases, unlike an OR at
 * the top; the rest filters within the range. Every filter combination meets an index led by
 * client_id (or not, for admins), then status, then (created_at, id): migration 15.
 */
export function searchQuery(db: Kysely<Schema>, q: WaybillSearch) {
  let query = db.selectFrom('waybills').select(['id', 'waybill_no', 'order_id', 'client_id', 'carrier', 'status', 'created_at']);
  if (q.clientId !== undefined) query = query.where('client_id', '=', q.clientId);
  if (q.orderId !== undefined) query = query.where('order_id', '=', q.orderId);
  if (q.waybillNo !== undefined) query = query.where('waybill_no', '=', q.waybillNo);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.createdFrom !== undefined) query = query.where('created_at', '>=', q.createdFrom);
  if (q.createdTo !== undefined) query = query.where('created_at', '<', q.createdTo);
  const after = q.after;
  if (after)
    query = query.where('created_at', '<=', after.createdAt).where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb('id', '<', after.id)]));
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit);
}

/**
 * A running reprint's claim on its print number (claimPrintNo): a row in staged_copy_prints under the
 * run's lease that names no copy, found by the copy-code index (a real code is XXXX-XXXX and never
 * starts so). The lease's save deletes it with the copies it recorded; its drop or sweep deletes it
 * with the lease.
 */
const CLAIM_COPY = 'claim';
const claimCode = (waybillId: string) => `claim:${waybillId}`;

/**
 * A waybill's highest print number that is or may still get on paper: its recorded prints, less those
 * sent to a printer and cancelled or expired undelivered, and the numbers claimed by its reprints still
 * running (their lease alive).
 */
const lastPrintNo = prepared((db, a: { waybillId: string; claim: string }) =>
  db
    .selectFrom(
      db
        .selectFrom('copy_prints as c')
        .leftJoin('print_deliveries as d', 'd.job_id', 'c.job_id')
        .select('c.print_no as n')
        .where('c.waybill_id', '=', a.waybillId)
        .where((w) => w.or([w('d.status', 'is', null), w('d.status', 'not in', ['cancelled', 'expired']), w('d.partly_sent_at', 'is not', null)]))
        .unionAll(
          db
            .selectFrom('staged_copy_prints as s')
            .select('s.print_no as n')
            .where('s.copy_code', '=', a.claim)
            .where(({ exists, selectFrom }) => exists(selectFrom('print_leases as l').select('l.id').whereRef('l.id', '=', 's.lease_id'))),
        )
        .as('p'),
    )
    .select((eb) => eb.fn.max('p.n').as('last')),
);

export class SqlWaybillRepository implements WaybillStore {
  /** `key`: the token key, which binds each waybill's state (src/waybills/lifeBinding.ts); none in some tests and benches. */
  constructor(
    private readonly d: Database,
    private readonly outbox: OutboxWriter,
    private readonly key?: Buffer,
  ) {}

  async waybillNoExists(waybillNo: string): Promise<boolean> {
    return (await this.d.run(waybillNoTaken, { waybillNo })).rows.length > 0;
  }

  async stagePrint(leaseId: string, waybills: WaybillRecord[], copies: CopyPrintRecord[]): Promise<void> {
    const { db } = this.d;
    const onPaper = new Set(copies.map((c) => c.waybillId));
    const rows = newWaybillRows(waybills, onPaper, this.key);
    await this.d.transaction(function* () {
      for (const part of chunks(rows.waybills)) yield* step(db.insertInto('staged_waybills').values(part.map((w) => ({ ...w, lease_id: leaseId }))));
      for (const part of chunks(rows.pieces)) yield* step(db.insertInto('staged_waybill_pieces').values(part.map((p) => ({ ...p, lease_id: leaseId }))));
      for (const part of chunks(copies)) yield* step(db.insertInto('staged_copy_prints').values(part.map((c) => ({ ...copyRow(c), lease_id: leaseId }))));
    });
  }

  async savePrintJob(
    job: PrintJobRecord,
    waybills: WaybillRecord[],
    copies: CopyPrintRecord[],
    run: { leaseId?: string; keepLease?: boolean; staged?: boolean; claimed?: boolean; trail?: AuditChain; pending?: readonly string[]; answer?: KeptAnswer; alerts?: readonly NewAlert[] } = {},
  ): Promise<void> {
    const { leaseId, keepLease = false, staged = false, claimed = false, trail, pending, answer, alerts = [] } = run;
    const { db, dialect } = this.d;
    const { outbox, key } = this;
    // Paper moves created → printed: new waybills are saved so; earlier ones (a reprint) are updated.
    const onPaper = new Set(copies.map((c) => c.waybillId));
    const rows = newWaybillRows(waybills, onPaper, this.key);
    const created = new Set(waybills.map((w) => w.id));
    const reprinted = [...onPaper].filter((id) => !created.has(id));
    try {
      await this.d.transaction(function* () {
        if (leaseId !== undefined) {
          // The run's lease ends with its save, and its relay bindings stop being provisional; a lease
          // already swept (the run was taken for dead) saves nothing, as its bindings and staged records are gone.
          // A run writing a file keeps it, marked saved, until the file is in place (PrintLeases.sweep).
          const ended = keepLease
            ? db.updateTable('print_leases').set({ saved_job: job.id }).where('id', '=', leaseId).where('saved_job', 'is', null)
            : db.deleteFrom('print_leases').where('id', '=', leaseId);
          if ((yield* step(ended)).changes !== 1) throw leaseLost();
          yield* step(db.updateTable('relay_bindings').set({ lease_id: null }).where('lease_id', '=', leaseId));
          // The print numbers its reprints claimed: the copies below hold them from now on.
          if (claimed) yield* step(db.deleteFrom('staged_copy_prints').where('lease_id', '=', leaseId));
        }
        // A reprint decided on the waybill as read before it rendered: a cancel (or purge) that committed
        // since refuses it here, so no paper is recorded after the cancel. On PostgreSQL the rows are
        // locked, so a cancel running now waits for this save or this save sees it.
        // A state rewritten in the database since is refused as gone (its reprint's read raised the alarm).
        const firstPaper: { id: string; from: EventChange['from'] }[] = [];
        for (const part of chunks(reprinted)) {
          const live = db
            .selectFrom('waybills')
            .select((eb) => [...LIFE_COLUMNS, 'purged_at', eb('sealed', 'is', null).as('shredded')])
            .where('id', 'in', part);
          const { rows: now } = yield* step(dialect === 'postgres' ? live.forUpdate() : live);
          if (now.some((w) => w.purged_at !== null || w.shredded || !rowLifeHolds(key, w) || (w.purge_after !== null && w.purge_after <= job.createdAt))) throw printRefused('gone');
          if (now.some((w) => w.status === 'cancelled')) throw printRefused('cancelled');
          for (const w of now) if (w.status === 'created') firstPaper.push({ id: w.id, from: { status: 'created', ...(w.custodian ? { custodian: w.custodian } : {}) } });
        }
        yield* step(
          db
            .insertInto('print_jobs')
            .values({ id: job.id, created_at: job.createdAt, channel: job.channel, template_id: job.templateId, format: job.format, host: job.host, operator: job.operator }),
        );
        // The records the run staged as it went (a long print's) come first, in the order staged.
        if (leaseId !== undefined && staged) yield* moveStaged(db, outbox, leaseId, job.createdAt);
        for (const part of chunks(rows.waybills)) yield* step(db.insertInto('waybills').values(part));
        for (const part of chunks(rows.pieces)) yield* step(db.insertInto('waybill_pieces').values(part));
        // A copy code taken over from a print of the same number that never reached paper moves to this job.
        for (const c of copies.filter((c) => c.takenOver))
          yield* step(db.deleteFrom('copy_prints').where('copy_code', '=', c.copyCode).where('waybill_id', '=', c.waybillId).where('copy', '=', c.copy).where('print_no', '=', c.printNo));
        for (const part of chunks(copies)) yield* step(db.insertInto('copy_prints').values(part.map(copyRow)));
        // Webhook events in this same transaction: created for new waybills, printed for first paper;
        // written a chunk at a time, so a 10,000-waybill batch never holds all its events at once.
        for (const part of chunks(rows.waybills)) yield* outbox.events(db, newWaybillEvents(part, job.createdAt));
        for (const { id, from } of firstPaper) {
          // The rows were checked just above, in this transaction.
          if (!(yield* changeLife(db, key, id, from, (life) => ({ ...life, status: 'printed' })))) throw printRefused('gone');
          yield* outbox.waybill(db, id, 'waybill.printed', job.createdAt);
        }
        if (job.batch) {
          // The batch's client is its waybills' (saved above, or staged and moved).
          const first = job.batch[0]?.waybillId ?? '';
          const client = db.selectFrom('waybills').select('client_id').where('id', '=', first);
          yield* step(db.insertInto('batches').values({ id: job.id, client_id: client, created_at: job.createdAt, count: job.batch.length }));
          for (const part of chunks(job.batch))
            yield* step(db.insertInto('batch_items').values(part.map((b) => ({ batch_id: job.id, idx: b.orderIndex, waybill_id: b.waybillId, warnings: b.warnings ? JSON.stringify(b.warnings) : null }))));
        }
        // A long trail is kept to be appended after the save (AuditLog.appendPending), never lost to a crash.
        if (pending?.length) yield* keepPendingSteps(db, job.id, pending);
        if (answer) yield* step(completion(db, answer));
        for (const alert of alerts) yield* insertAlert(db, outbox, alert);
        // Last, so that the audit head is held only until the commit.
        if (trail) yield* appendSteps(trail);
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new UniqueViolation(violated(e));
      throw e;
    }
    if (leaseId !== undefined && staged) await this.clearStaged(leaseId);
  }

  /**
   * A saved run's staged rows, deleted in a transaction of their own once the process has had a turn: in
   * the save they were a seventh of the transaction that holds the database's write lock (and, on SQLite,
   * the process) for a 10,000-waybill batch. Deleting them a slice at a time cost several times as much in all.
   * Left over, they are harmless copies of saved records (their codes and numbers are taken either way),
   * and the sweep deletes any a crash leaves, as their lease is gone.
   */
  private async clearStaged(leaseId: string): Promise<void> {
    const { db } = this.d;
    await letRequestsIn();
    try {
      await this.d.transaction(() => deleteStaged(db, leaseId));
    } catch {
      // The save stands (a print must not fail after it, or its bindings would be released); the sweep deletes the rows.
    }
  }

  async findWaybillByTokenHash(tokenHash: string): Promise<WaybillRecord | undefined> {
    const row = (await this.d.run(waybillByTokenHash, { tokenHash })).rows[0];
    return row && toWaybill(row, this.key);
  }

  async findWaybillByNo(waybillNo: string): Promise<WaybillRecord | undefined> {
    const { db } = this.d;
    const row =
      (await db.selectFrom('waybills').selectAll().where('waybill_no', '=', waybillNo).executeTakeFirst()) ??
      // Not a master number: a child number finds its master (one waybill; status lives there).
      (await db
        .selectFrom('waybills')
        .selectAll()
        .where('id', '=', (eb) => eb.selectFrom('waybill_pieces').select('waybill_id').where('waybill_no', '=', waybillNo))
        .executeTakeFirst());
    return row && toWaybill(row, this.key);
  }

  async childNosOf(waybillId: string): Promise<string[]> {
    const rows = await this.d.db.selectFrom('waybill_pieces').select('waybill_no').where('waybill_id', '=', waybillId).orderBy('piece_no').execute();
    return rows.map((r) => r.waybill_no);
  }

  async findWaybillById(id: string): Promise<WaybillRecord | undefined> {
    const row = await this.d.db.selectFrom('waybills').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWaybill(row, this.key);
  }

  async findWaybillByClientOrder(clientId: string, orderId: string): Promise<WaybillRecord | undefined> {
    const row = (await this.d.run(waybillByClientOrder, { clientId, orderId })).rows[0];
    return row && toWaybill(row, this.key);
  }

  async nextPrintNo(waybillId: string): Promise<number> {
    const { rows } = await this.d.run(lastPrintNo, { waybillId, claim: claimCode(waybillId) });
    return Number(rows[0]?.last ?? 0) + 1;
  }

  async claimPrintNo(waybillId: string, lease: { id: string; unstored?: UnstoredLease }): Promise<number> {
    const { db } = this.d;
    const postgres = this.d.dialect === 'postgres';
    const claim = lease.unstored;
    const printNo = await this.d.transaction(function* () {
      // A run's lease not stored yet is stored with its first claim, as with a relay claim.
      if (claim) yield* step(insertLease, leaseRow(claim.record));
      // One claim of a waybill at a time: SQLite's write transaction is one at a time on the file (every
      // process); on PostgreSQL the waybill's row lock queues them, and each statement after it sees the
      // claims and saves committed before.
      if (postgres) yield* step(db.selectFrom('waybills').select('id').where('id', '=', waybillId).forUpdate());
      const { rows } = yield* step(lastPrintNo, { waybillId, claim: claimCode(waybillId) });
      const next = Number(rows[0]?.last ?? 0) + 1;
      yield* step(
        db.insertInto('staged_copy_prints').values({ lease_id: lease.id, copy_code: claimCode(waybillId), job_id: '', waybill_id: waybillId, copy: CLAIM_COPY, print_no: next, piece_no: 0 }),
      );
      return next;
    });
    claim?.stored();
    return printNo;
  }

  async copyCodesTaken(codes: string[]): Promise<string[]> {
    if (!codes.length) return [];
    return (await this.d.run(copyCodesIn, { codes: JSON.stringify(codes) })).rows.map((r) => r.copy_code);
  }

  async copyCodesAt(waybillId: string, printNo: number, pieceNo = 1): Promise<Partial<Record<CopyKind, string>>> {
    const rows = await this.d.db
      .selectFrom('copy_prints')
      .select(['copy', 'copy_code'])
      .where('waybill_id', '=', waybillId)
      .where('print_no', '=', printNo)
      .where('piece_no', '=', pieceNo)
      .execute();
    return Object.fromEntries(rows.map((r) => [r.copy, r.copy_code]));
  }

  async waybillsOfJob(jobId: string): Promise<WaybillRecord[]> {
    const rows = await this.d.db
      .selectFrom('waybills')
      .selectAll()
      .where('id', 'in', (eb) => eb.selectFrom('copy_prints').select('waybill_id').where('job_id', '=', jobId))
      .execute();
    return rows.map((r) => toWaybill(r, this.key));
  }

  async keptJobsOf(waybillId: string): Promise<string[]> {
    const { db } = this.d;
    const kept = await db
      .selectFrom('print_deliveries')
      .select('job_id')
      .where('status', 'in', ['pending', 'failed'])
      .where('job_id', 'in', (eb) => eb.selectFrom('copy_prints').select('job_id').where('waybill_id', '=', waybillId))
      .execute();
    // Rarely any: only then look for other waybills on those jobs.
    if (!kept.length) return [];
    const shared = await db
      .selectFrom('copy_prints')
      .select('job_id')
      .distinct()
      .where('job_id', 'in', kept.map((k) => k.job_id))
      .where('waybill_id', '<>', waybillId)
      .execute();
    const others = new Set(shared.map((s) => s.job_id));
    return kept.map((k) => k.job_id).filter((id) => !others.has(id));
  }

  async findCopyPrint(copyCode: string): Promise<TracedCopy | undefined> {
    const row = await this.d.db
      .selectFrom('copy_prints as c')
      .innerJoin('print_jobs as j', 'j.id', 'c.job_id')
      .innerJoin('waybills as w', 'w.id', 'c.waybill_id')
      .select(['c.copy_code', 'c.job_id', 'c.waybill_id', 'c.copy', 'c.print_no', 'c.piece_no', 'j.created_at', 'j.channel', 'j.template_id', 'j.format', 'j.host', 'j.operator', 'w.waybill_no'])
      .where('c.copy_code', '=', copyCode)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      copyCode: row.copy_code,
      jobId: row.job_id,
      waybillId: row.waybill_id,
      copy: row.copy as CopyKind,
      printNo: Number(row.print_no),
      ...(Number(row.piece_no) > 1 ? { pieceNo: Number(row.piece_no) } : {}),
      waybillNo: row.waybill_no,
      job: {
        id: row.job_id,
        createdAt: row.created_at,
        channel: row.channel as PrintJobRecord['channel'],
        templateId: row.template_id,
        format: row.format,
        host: row.host,
        operator: row.operator,
      },
    };
  }

  async searchWaybills(q: WaybillSearch): Promise<WaybillSummary[]> {
    const rows = await searchQuery(this.d.db, q).execute();
    return rows.map((r) => ({
      id: r.id,
      waybillNo: r.waybill_no,
      orderId: r.order_id,
      ...(r.client_id ? { clientId: r.client_id } : {}),
      carrier: r.carrier,
      status: r.status as WaybillStatus,
      createdAt: r.created_at,
    }));
  }

  async eventsOf(waybillId: string): Promise<StoredWaybillEvent[]> {
    const rows = await this.d.db.selectFrom('waybill_events').select(['type', 'at', 'actor', 'detail']).where('waybill_id', '=', waybillId).orderBy('id').execute();
    return rows.map((r) => ({ type: r.type, at: r.at, actor: r.actor, ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, string> } : {}) }));
  }

  async printsOf(waybillId: string): Promise<PrintFact[]> {
    // Every copy of one print number comes from one job (a taken-over code moves to the new job).
    const rows = await this.d.db
      .selectFrom('copy_prints as c')
      .innerJoin('print_jobs as j', 'j.id', 'c.job_id')
      .select(['c.print_no', 'j.created_at', 'j.channel', 'j.operator'])
      .distinct()
      .where('c.waybill_id', '=', waybillId)
      .orderBy('c.print_no')
      .execute();
    const seen = new Set<number>();
    const out: PrintFact[] = [];
    for (const r of rows) {
      const printNo = Number(r.print_no);
      if (seen.has(printNo)) continue;
      seen.add(printNo);
      out.push({ printNo, at: r.created_at, channel: r.channel, operator: r.operator });
    }
    return out;
  }

  async findBatch(id: string): Promise<BatchRecord | undefined> {
    const batch = await this.d.db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
    if (!batch) return undefined;
    const items = await this.d.db
      .selectFrom('batch_items as b')
      .innerJoin('waybills as w', 'w.id', 'b.waybill_id')
      .select(['b.idx', 'b.warnings', 'w.id', 'w.order_id', 'w.waybill_no'])
      .where('b.batch_id', '=', id)
      .orderBy('b.idx')
      .execute();
    return {
      id: batch.id,
      ...(batch.client_id ? { clientId: batch.client_id } : {}),
      createdAt: batch.created_at,
      count: Number(batch.count),
      items: items.map((i) => ({ index: Number(i.idx), orderId: i.order_id, waybillId: i.id, waybillNo: i.waybill_no, ...(i.warnings ? { warnings: JSON.parse(i.warnings) as string[] } : {}) })),
    };
  }

  async recordEvent(waybillId: string, event: EventChange, purgeAfter?: string, alert?: NewAlert, trail?: AuditChain): Promise<boolean> {
    const { db } = this.d;
    const { outbox, key } = this;
    return this.d.transaction(function* () {
      // Conditional on the state the event was decided on (changeLife): of two racing events, one applies.
      const changed = yield* changeLife(db, key, waybillId, event.from, (life) => ({
        status: event.status,
        custodian: event.custodian !== undefined ? event.custodian : life.custodian,
        assignedOutlet: event.assignedOutlet ?? life.assignedOutlet,
        // Never later: the earlier of the two.
        purgeAfter: purgeAfter !== undefined && (life.purgeAfter === null || purgeAfter < life.purgeAfter) ? purgeAfter : life.purgeAfter,
        afterSales: life.afterSales || event.type === 'after_sales',
      }));
      if (!changed) return false;
      yield* step(
        db
          .insertInto('waybill_events')
          .values({ waybill_id: waybillId, type: event.type, at: event.at, actor: event.actor, detail: event.detail ? JSON.stringify(event.detail) : null, relay_due: event.relayDue ?? null }),
      );
      const hook = lifecycleEventType(event.type);
      if (hook) yield* outbox.waybill(db, waybillId, hook, event.at);
      if (alert) yield* insertAlert(db, outbox, alert);
      // Last, so that the audit head is held only until the commit.
      if (trail) yield* appendSteps(trail);
      return true;
    });
  }

  async relayDue(which: { waybillId: string } | { before: string; limit: number }): Promise<RelayDue[]> {
    let query = this.d.db
      .selectFrom('waybill_events as e')
      .innerJoin('waybills as w', 'w.id', 'e.waybill_id')
      .select(['e.id', 'e.waybill_id', 'e.relay_due', 'e.at', 'w.created_at', 'w.purged_at'])
      .where('e.relay_due', 'is not', null)
      .orderBy('e.id');
    query = 'waybillId' in which ? query.where('e.waybill_id', '=', which.waybillId) : query.where('e.at', '<=', which.before).limit(which.limit);
    const rows = await query.execute();
    return rows.map((r) => ({ eventId: Number(r.id), waybillId: r.waybill_id, effect: r.relay_due as RelayEffect, at: r.at, createdAt: r.created_at, purged: r.purged_at !== null }));
  }

  async relaySettled(eventId: number): Promise<void> {
    await this.d.db.updateTable('waybill_events').set({ relay_due: null }).where('id', '=', eventId).execute();
  }

  async hasScanned(courierId: string, waybillId: string, purpose: string): Promise<boolean> {
    if ((await this.d.run(scannedFor, { courierId, waybillId, purpose })).rows.length > 0) return true;
    // An opened pickup scan older than its attempt's keeping (attemptRetention.ts) left its right behind.
    if (purpose !== 'pickup') return false;
    return (await this.d.db.selectFrom('pickup_rights').select('courier_id').where('waybill_id', '=', waybillId).where('courier_id', '=', courierId).executeTakeFirst()) !== undefined;
  }

  async recordEventAttempt(a: EventAttempt): Promise<void> {
    await this.d.run(insertEventAttempt, a);
  }

  async eventAttemptsSince(courierId: string, since: Date): Promise<{ all: number; closing: number }> {
    const row = (await this.d.run(eventAttemptsSince, { courierId, since: since.toISOString() })).rows[0]!;
    return { all: Number(row.all), closing: Number(row.closing) };
  }

  checkStates(): Promise<RowCheck> {
    const { db } = this.d;
    // A shredded waybill opens nothing whatever its state says.
    const page = (after: string, limit: number) => db.selectFrom('waybills').select([...LIFE_COLUMNS]).where('sealed', 'is not', null).where('id', '>', after).orderBy('id').limit(limit).execute();
    return checkInPages(page, (r) => rowLifeHolds(this.key, r));
  }

  async dueForPurge(now: string, limit: number): Promise<WaybillRecord[]> {
    const rows = await this.d.db
      .selectFrom('waybills')
      .selectAll()
      .where('purged_at', 'is', null)
      .where('purge_after', '<=', now)
      .orderBy('purge_after')
      .limit(limit)
      .execute();
    return rows.map((r) => toWaybill(r, this.key));
  }

  async shred(waybillId: string, at: string, trail?: AuditChain): Promise<boolean> {
    // Conditional on not yet purged: of two instances sweeping at once, exactly one gets true.
    const { db } = this.d;
    const { outbox } = this;
    return this.d.transaction(function* () {
      const { changes } = yield* step(db.updateTable('waybills').set({ wrapped_key: null, sealed: null, purged_at: at }).where('id', '=', waybillId).where('purged_at', 'is', null));
      if (changes !== 1) return false;
      yield* step(db.deleteFrom('pickup_rights').where('waybill_id', '=', waybillId));
      // A correction's reason is an admin's free text, which may name the buyer: it goes with the data.
      const { rows: corrections } = yield* step(db.selectFrom('waybill_events').select(['id', 'detail']).where('waybill_id', '=', waybillId).where('type', '=', 'correction'));
      for (const c of corrections) {
        const { reason: _shredded, ...kept } = JSON.parse(c.detail ?? '{}') as Record<string, unknown>;
        yield* step(db.updateTable('waybill_events').set({ detail: JSON.stringify(kept) }).where('id', '=', c.id));
      }
      yield* outbox.waybill(db, waybillId, 'waybill.purged', at, { purged: true });
      if (trail) yield* appendSteps(trail);
      return true;
    });
  }

  async dropOldPages(): Promise<void> {
    // PostgreSQL keeps old row versions until VACUUM reuses their space (docs/privacy.md says so).
  }

  async sealedNotUnder(keyId: string, limit: number): Promise<WaybillRecord[]> {
    const rows = await this.d.db.selectFrom('waybills').selectAll().where('wrapped_key', 'is not', null).where('key_id', '<>', keyId).limit(limit).execute();
    return rows.map((r) => toWaybill(r, this.key));
  }

  async replaceSealed(waybillId: string, sealed: SealedBox): Promise<void> {
    await this.d.db
      .updateTable('waybills')
      .set({ key_id: sealed.keyId, wrapped_key: sealed.wrappedKey, sealed: sealed.ciphertext })
      .where('id', '=', waybillId)
      .where('wrapped_key', 'is not', null)
      .execute();
  }

  async countSealedByKey(): Promise<Record<string, number>> {
    const rows = await this.d.db
      .selectFrom('waybills')
      .select((eb) => ['key_id', eb.fn.countAll<number | string>().as('n')])
      .where('wrapped_key', 'is not', null)
      .groupBy('key_id')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
  }

  async recordScanAttempt(a: ScanAttempt): Promise<void> {
    await this.d.run(insertScanAttempt, { courierId: a.courierId, waybillId: a.waybillId ?? null, purpose: a.purpose ?? null, at: a.at, outcome: a.outcome });
  }

  async forgetAttempts(kind: AttemptKind, before: string, limit: number): Promise<number> {
    const { db } = this.d;
    if (kind === 'events') return forgetOldest(db, 'event_attempts', before, limit);
    return this.d.transaction(function* () {
      const ids = (yield* step(oldestBefore(db, 'scan_attempts', before, limit))).rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      // An opened pickup scan keeps its right (to post picked_up) while the waybill lives. The same ids
      // for both statements: on PostgreSQL another instance's sweep may delete some between them, and
      // then it has kept their rights itself.
      const rights = db
        .selectFrom('scan_attempts')
        .innerJoin('waybills', 'waybills.id', 'scan_attempts.waybill_id')
        .select(['scan_attempts.waybill_id as waybill_id', 'scan_attempts.courier_id as courier_id'])
        .where('scan_attempts.id', 'in', ids)
        .where('scan_attempts.purpose', '=', 'pickup')
        .where('scan_attempts.outcome', '=', 'ok')
        .where('waybills.purged_at', 'is', null);
      yield* step(db.insertInto('pickup_rights').columns(['waybill_id', 'courier_id']).expression(rights).onConflict((oc) => oc.doNothing()));
      return (yield* step(db.deleteFrom('scan_attempts').where('id', 'in', ids))).changes;
    });
  }

  async scanCounts(courierId: string, waybillId: string | undefined, now: Date): Promise<ScanCounts> {
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const { rows } = await this.d.run(scanCountsOf, { courierId, waybillId: waybillId ?? null, minuteAgo: ago(60_000), hourAgo: ago(3_600_000), dayAgo: ago(DAY_MS) });
    const row = rows[0]!;
    return {
      lastMinute: Number(row.last_minute),
      distinctWaybillsDay: Number(row.distinct_day),
      distinctOpenedDay: Number(row.opened_day),
      unknownLastHour: Number(row.unknown_hour),
      outOfRouteDay: Number(row.out_of_route_day),
      openedThisWaybill: Number(row.opened_this) > 0,
    };
  }

  async scanGate(courierId: string, waybillId: string | undefined, now: Date, cap: number): Promise<ScanGate> {
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const { rows } = await this.d.run(scanGateOf, { courierId, waybillId: waybillId ?? null, minuteAgo: ago(60_000), dayAgo: ago(DAY_MS), cap });
    const row = rows[0]!;
    // EXISTS is 0/1 on SQLite, a boolean on PostgreSQL; count(*) is bigint (text) there.
    return { lastMinute: Number(row.last_minute), openedThisWaybill: row.opened_this === true || Number(row.opened_this) === 1 };
  }

  async recordAlert(alert: NewAlert, unlessSince?: string): Promise<boolean> {
    const { db } = this.d;
    const postgres = this.d.dialect === 'postgres';
    const { outbox } = this;
    return this.d.transaction(function* () {
      if (unlessSince !== undefined) {
        // One such check at a time per courier: SQLite's write transaction is one at a time already; on
        // PostgreSQL the courier's row lock queues them, so two instances cannot both find none and insert.
        if (postgres && alert.courierId !== undefined) yield* step(db.selectFrom('couriers').select('id').where('id', '=', alert.courierId).forUpdate());
        let recent = db.selectFrom('alerts').select('id').where('kind', '=', alert.kind).where('at', '>=', unlessSince).limit(1);
        recent = alert.courierId === undefined ? recent.where('courier_id', 'is', null) : recent.where('courier_id', '=', alert.courierId);
        if ((yield* step(recent)).rows.length) return false;
      }
      yield* insertAlert(db, outbox, alert);
      return true;
    });
  }

  async listAlerts(q: AlertQuery): Promise<StoredAlert[]> {
    let query = this.d.db.selectFrom('alerts').select(['id', 'at', 'kind', 'courier_id', 'detail']).orderBy('id', 'desc').limit(q.limit);
    if (q.kind !== undefined) query = query.where('kind', '=', q.kind);
    if (q.from !== undefined) query = query.where('at', '>=', q.from);
    if (q.to !== undefined) query = query.where('at', '<', q.to);
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    const rows = await query.execute();
    return rows.map((r) => ({ id: Number(r.id), at: r.at, kind: r.kind, ...(r.courier_id ? { courierId: r.courier_id } : {}), detail: r.detail }));
  }

  forgetAlerts(before: string, limit: number): Promise<number> {
    return forgetOldest(this.d.db, 'alerts', before, limit);
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.d.db);
  }

  async close(): Promise<void> {
    // Kysely closes only a connection it has used: take it once, so close() always closes the database.
    await this.d.db.connection().execute(async () => {}).catch(() => {});
    await this.d.db.destroy();
  }
}
