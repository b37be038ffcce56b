// The print use case, in one straight line: number → seal → token → privacy view per copy → layout →
// sink; the store records the job only after every byte was handed over, so nothing is half-recorded.

import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { letRequestsIn, nextTurn } from '../eventLoop';
import { AUDIT_GROUP, type AuditChain, type AuditLog } from '../audit/auditLog';
import type { AuditEntry } from '../audit/auditRecord';
import { UniqueViolation, WaybillError, type Issue } from '../errors';
import type { Order } from '../order/orderSchema';
import { generateWaybillNo } from '../order/waybillNumber';
import { waybillNoNearPhone } from '../order/screenPrintedText';
import type { LoadedTemplate } from '../layout/loadTemplate';
import { layoutWaybill, SymbolCache, type WaybillLayout } from '../layout/layoutWaybill';
import type { TextMetrics } from '../layout/textMeasure';
import type { CopyKind } from '../privacy/copyPolicy';
import type { Lang } from '../privacy/lang';
import { buildCopyView, type CopyView, type WaybillFacts } from '../privacy/privacyView';
import { partyArea } from '../privacy/routingArea';
import type { AlertKind, CopyPrintRecord, KeptAnswer, NewAlert, PrintJobRecord, WaybillRecord, WaybillStore } from '../waybills/waybillStore';
import type { Keys } from '../vault/keyFile';
import { hashToken, tokenUrl } from '../vault/qrToken';
import { recordId } from '../ids';
import { DAY_MS } from '../time';
import { sealWaybill, type SealedContent } from '../vault/sealedWaybill';
import { openWaybillSeal } from '../waybills/sealedRecord';
import type { SealedBox } from '../vault/sealing';
import { newCopyCode } from './copyCode';
import { cancelKept } from '../printers/deliverJob';
import type { PrinterStore } from '../printers/printerStore';
import { assertPrintable } from '../waybills/printable';
import type { BindOutcome, RelayProvider } from '../relay/relayProvider';
import type { RelayParty } from '../relay/relayStore';
import { drawsLabels, type WaybillSink } from './waybillSink';
import type { PrintLeases, RunLease } from './printLeases';
import { SymbolsAhead } from './symbolsAhead';

export interface PrintDeps {
  store: WaybillStore;
  audit: AuditLog;
  keys: Keys;
  scanBaseUrl: string;
  metrics: TextMetrics;
  /** Sealed data is shredded at the latest this many days after printing. */
  maxLifetimeDays: number;
  /** Relay numbers; without them the paper shows the masked phone and the carrier's service number. */
  relay?: { provider: RelayProvider; maxDays: number };
  /** Kept printer jobs, which a newer paper of their waybill replaces (absent where nothing is sent to printers). */
  printers?: PrinterStore;
  /** Leases of running prints: relay bindings stay provisional under them until the save (printLeases.ts). */
  leases?: PrintLeases;
  /** How many waybills' records a run with a lease holds before writing them to staging (default STAGE_EVERY). */
  stageEvery?: number;
  now?: () => Date;
}

export interface PrintRequest {
  orders: Order[];
  template: LoadedTemplate;
  format: string;
  sink: WaybillSink;
  channel: PrintJobRecord['channel'];
  host: string;
  operator: string;
  /** Named in error messages, e.g. the order file. */
  source?: string;
  /** The API client (tenant) the new waybills belong to; order ids are unique per client. */
  clientId?: string;
  /**
   * 'preview' creates the waybills and shows what each copy will print, without issuing copy codes:
   * nothing is on paper yet, so the first label fetched later is print 1, not a reprint.
   */
  copies?: 'print' | 'preview';
  /** A batch: at most this many of the client's batches run at once, across instances (503 beyond). */
  batchSlots?: number;
  /** The file the run writes before renaming it into place, removed by the sweep if the run dies. */
  output?: string;
  /** Told after each waybill is handed to the sink (a progress display). */
  onProgress?: (waybillsDone: number) => void;
  /** The print job's id, chosen by the caller (a batch names it in a header before the first byte). */
  jobId?: string;
  /** Save the order index → waybill map with the job: the batch resource (GET /v1/batches/{jobId}). */
  batch?: boolean;
  /**
   * The caller hands `orders` over and reads nothing of it afterwards: each order's slot is emptied once
   * its waybill is printed (its data is sealed in the record by then), so a long batch does not hold every
   * order it has printed until the save (some 1.3 kB a waybill).
   */
  releaseOrders?: boolean;
  /**
   * Its labels leave as they are drawn (an API batch streams to its client): if it fails, the relay
   * numbers of the waybills already out are ended and quarantined, not freed for new buyers; if its
   * process dies, the sweep does the same with every number its lease holds.
   */
  streamed?: boolean;
  /** An idempotent create's answer, made once every byte is in the sink and saved with the job (src/http/idempotency.ts). */
  answer?: (summary: PrintSummary) => KeptAnswer;
}

export interface PrintSummary {
  jobId: string;
  /** Each waybill, with what its labels could not show as given (when anything). */
  waybills: { orderIndex: number; orderId: string; waybillNo: string; id: string; warnings?: string[] }[];
  labels: number;
  /** Every waybill's warnings, each led by its order's index. */
  warnings: string[];
  /**
   * A print to a file (`output`): to call once the file is in place. Until then its lease outlives the
   * save, so a process killed in between leaves the finished file for the sweep to put in place.
   */
  placed?: () => Promise<void>;
}

export async function printWaybills(deps: PrintDeps, req: PrintRequest): Promise<PrintSummary> {
  const now = (deps.now ?? (() => new Date()))();
  const job = newJob(req, now);
  const preview = req.copies === 'preview';
  // A preview's symbols are placeholders, and a sink that draws nothing needs only their sizes.
  const draws = drawsLabels(req.sink);
  SymbolsAhead.prepare(req.orders.length, !preview && draws);
  const { numbers, childNos } = await assignWaybillNumbers(deps.store, req.orders, req.source);
  if (req.clientId) await refuseKnownOrderIds(deps.store, req.clientId, req.orders, req.source);

  const waybills: WaybillRecord[] = [];
  const copies: CopyPrintRecord[] = [];
  const bindings: string[] = [];
  const out: string[] = []; // of waybills whose labels the sink took: on paper or on their way, for a streamed print
  const alerts: Omit<NewAlert, 'at'>[] = [];
  const summary: PrintSummary = { jobId: job.id, waybills: [], labels: 0, warnings: [] };
  const issued = new Set<string>();
  const lease = await takeLease(deps, req);
  const ahead = new SymbolsAhead(deps.scanBaseUrl, numbers.map((no, i) => [no, ...childNos[i]!]), !preview && draws);
  // The records wait for the one save at the end (all or nothing), kept to what the save needs in compact
  // form; a run with a lease writes them to the store's staging STAGE_EVERY waybills at a time, so a
  // 10,000-waybill batch holds no more of them than a 500-waybill one (docs/performance.md).
  const stageEvery = deps.stageEvery ?? STAGE_EVERY;
  const trail: { waybillNo: string; pieces: number; codes: string[] }[] = [];
  const trailEntry = (w: (typeof trail)[number]) => printEntry(job, w.waybillNo, preview ? 0 : 1, preview ? 0 : req.template.copies.length, w.pieces, w.codes);
  let staged = false;
  let saved: SavedTrail = {};
  const purgeAfter = new Date(now.getTime() + deps.maxLifetimeDays * DAY_MS).toISOString();
  try {
    let group: { id: string; order: Order }[] = [];
    let relays: BoundRelay[] = [];
    for (const [orderIndex, order] of req.orders.entries()) {
      if (orderIndex % RELAY_GROUP === 0) {
        group = req.orders.slice(orderIndex, orderIndex + RELAY_GROUP).map((o) => ({ id: recordId(), order: o }));
        relays = await bindRelays(deps, { clientId: req.clientId, lease }, group, now, req.template.lang);
        for (const r of relays) bindings.push(...r.bindingIds);
        await lease?.store(); // when no claim stored it
      }
      const { id } = group[orderIndex % RELAY_GROUP]!;
      const relay = relays[orderIndex % RELAY_GROUP]!;
      const waybillNo = numbers[orderIndex]!;
      const { token, url, encoded } = await ahead.take(orderIndex);
      const content: SealedContent = { order, token, waybillNo, clientId: req.clientId ?? null };
      // Below what refuses it, as likely chance as not; many from one client are not (screenPrintedText.ts).
      if (waybillNoNearPhone(order)) alerts.push({ kind: 'waybill_no_phone_digits', detail: `waybill ${waybillNo}${req.clientId ? ` of client ${req.clientId}` : ''}: its number shares 6 or more digits in a row with a party's phone` });
      const warnings: string[] = [];
      if (relay.unavailable) {
        warnings.push("no relay number could be bound; the label shows the carrier's service number");
        alerts.push(
          relay.unavailable === 'client over share'
            ? { kind: 'relay_client_quota', detail: `waybill ${waybillNo}: client ${req.clientId} holds its share of the relay pool` }
            : { kind: 'relay_unavailable', detail: `waybill ${waybillNo}: ${relay.unavailable}` },
        );
      }
      waybills.push({
        id,
        waybillNo,
        carrier: order.carrier,
        orderId: order.orderId,
        ...(req.clientId ? { clientId: req.clientId } : {}),
        ...(order.routingCode ? { routingCode: order.routingCode } : {}),
        createdAt: job.createdAt,
        status: 'created',
        purgeAfter,
        tokenHash: hashToken(token, deps.keys.tokenKey),
        ...(relay.unavailable ? { relayUnavailable: true } : {}),
        sealed: ownedBox(sealWaybill(deps.keys, id, content)),
        ...(childNos[orderIndex]!.length ? { childNos: childNos[orderIndex] } : {}),
      });

      const facts = { order, waybillNo, qrUrl: url, relay: relay.printed };
      const printed = await withUnusedCodes(deps.store, issued, () =>
        printPieces(req.template, facts, childNos[orderIndex]!, { job, waybillId: id, printNo: preview ? 0 : 1, paper: !preview, at: now }, deps.metrics, new SymbolCache(encoded, draws)),
      );
      if (!preview) copies.push(...printed.copies);
      if (req.streamed) out.push(...relay.bindingIds); // from its first byte on, the page may be out
      await req.sink.add(
        { orderIndex, orderId: order.orderId, waybillNo, id, copyCodes: printed.copyCodes, relay: relay.printed, areas: areasOf(order, req.template.lang), ...piecesOf(printed) },
        printed.layout,
      );
      warnings.push(...printed.layout.warnings);
      summary.waybills.push({ orderIndex, orderId: order.orderId, waybillNo, id, ...(warnings.length ? { warnings } : {}) });
      trail.push({ waybillNo, pieces: 1 + childNos[orderIndex]!.length, codes: printed.copies.map((c) => c.copyCode) });
      summary.labels += printed.layout.labels.length;
      summary.warnings.push(...warnings.map((w) => `order ${orderIndex}: ${w}`));
      await lease?.keep();
      if (lease && waybills.length >= stageEvery && orderIndex + 1 < req.orders.length) {
        await deps.store.stagePrint(lease.id, waybills, copies);
        staged = true;
        issued.clear(); // the store finds staged codes taken from now on
        waybills.length = 0;
        copies.length = 0;
      }
      if (req.releaseOrders) delete req.orders[orderIndex];
      if ((orderIndex + 1) % COLLECT_EVERY === 0) collectGarbage();
      req.onProgress?.(orderIndex + 1);
    }

    await req.sink.finish();
    if (req.orders.length >= COLLECT_EVERY) {
      // The document's garbage goes before the save builds its rows and events for every waybill at once,
      // and the process's other requests get a turn: the end of the document, this collection and the
      // save would otherwise hold it in one piece (0.9 s for 10,000 waybills).
      collectGarbage();
      await letRequestsIn();
    }
    if (req.batch) job.batch = summary.waybills.map((w) => ({ orderIndex: w.orderIndex, waybillId: w.id, ...(w.warnings ? { warnings: w.warnings } : {}) }));
    saved = savedTrail(deps.audit, job.id, trail, trailEntry);
    const answer = req.answer?.(summary);
    // The print's alerts commit with it: a crash cannot keep the print and lose what it should have raised.
    const raised = alertsOfJob(job.id, alerts).map((alert) => ({ at: job.createdAt, ...alert }));
    await deps.store.savePrintJob(job, waybills, copies, { leaseId: lease?.id, keepLease: !!req.output, staged, ...savedRun(saved), ...(answer ? { answer } : {}), ...(raised.length ? { alerts: raised } : {}) });
  } catch (e) {
    // Nothing of a failed print stays bound: its numbers were never on a recorded label, though a streamed
    // print's pages already out keep theirs in quarantine. The lease goes even if the release failed: the
    // sweep then returns the bindings it leaves without a lease.
    try {
      if (bindings.length) await deps.relay?.provider.release(bindings, out);
    } finally {
      await lease?.drop();
    }
    // Another print of the same order id saved first (the check above ran before it): refused as if it
    // had run after that print, naming its waybill, not as a bare clash on the store's unique index.
    if (req.clientId && e instanceof UniqueViolation && e.what === 'order id') await refuseKnownOrderIds(deps.store, req.clientId, summary.waybills, req.source);
    throw e;
  }
  // Saved, the records (sealed orders, copy codes) are garbage: the trail needs each number and piece count.
  waybills.length = 0;
  copies.length = 0;
  if (saved.kept) await appendKept(deps.audit, job.id, saved.pending ?? []);
  return lease && req.output ? { ...summary, placed: () => lease.drop() } : summary;
}

export interface ReprintRequest extends Omit<PrintRequest, 'orders' | 'source' | 'clientId' | 'copies' | 'answer'> {
  waybill: WaybillRecord;
  /** 'view' shows what the next paper would print (its reprint mark) and records no print: no print number, no copy code. */
  copies?: 'print' | 'view';
}

/**
 * Prints an existing waybill again from its sealed data: new copy codes, the next print number (so
 * the paper says REPRINT from the second paper on), today's relay numbers, and its own audit record.
 * Only a live waybill is printed (src/waybills/printable.ts).
 */
export async function reprintWaybill(deps: PrintDeps, req: ReprintRequest): Promise<{ jobId: string; printNo: number; labels: number; warnings: string[] }> {
  const { waybill, ...rest } = req;
  const done = await reprintWaybills(deps, { ...rest, waybills: [waybill] });
  return { jobId: done.jobId, printNo: done.printNos[0]!, labels: done.labels, warnings: done.warnings };
}

/** reprintWaybill for several waybills into one document and one print job (`waybill print --reprint`). */
export async function reprintWaybills(
  deps: PrintDeps,
  req: Omit<ReprintRequest, 'waybill'> & { waybills: WaybillRecord[] },
): Promise<{ jobId: string; printNos: number[]; labels: number; warnings: string[]; placed?: () => Promise<void> }> {
  const now = (deps.now ?? (() => new Date()))();
  for (const waybill of req.waybills) assertPrintable(waybill, now);
  const paper = req.copies !== 'view';
  const job = newJob(req, now);
  const copies: CopyPrintRecord[] = [];
  const done = { jobId: job.id, printNos: [] as number[], labels: 0, warnings: [] as string[], pieces: [] as number[], codes: [] as string[][] };
  const issued = new Set<string>();
  const entry = (waybill: WaybillRecord, i: number): AuditEntry => {
    const pieces = done.pieces[i]!;
    if (paper) return printEntry(job, waybill.waybillNo, done.printNos[i]!, req.template.copies.length, pieces, done.codes[i]!);
    return { at: job.createdAt, actor: actorOf(job), action: 'view', waybillNo: waybill.waybillNo, outcome: 'ok', detail: { template: job.templateId, format: job.format, copies: req.template.copies.length, ...(pieces > 1 ? { pieces } : {}) } };
  };
  let saved: SavedTrail = {};
  // Paper takes the next print number by a claim under the run's lease, before anything is laid out: of
  // reprints of one waybill running at once (HTTP requests, `serve --workers`, CLI runs, other instances)
  // each gets a number of its own, and its save never meets another's. The save lets the claims go with
  // the lease; a failed run's drop, or the sweep of a dead one, frees them unprinted.
  const lease = paper && deps.leases && req.waybills.length > 0 ? await deps.leases.take({ ...(req.output ? { output: req.output } : {}), withFirstClaim: true }) : undefined;
  try {
    for (const [orderIndex, waybill] of req.waybills.entries()) {
      // New paper replaces this waybill's kept, undelivered printer jobs: they can no longer print a second
      // paper under the same number, and the number they held is free again.
      if (paper && deps.printers)
        for (const kept of await deps.store.keptJobsOf(waybill.id)) await cancelKept({ printers: deps.printers, audit: deps.audit, now: () => now }, kept, `replaced by print job ${job.id}`, actorOf(job));
      const content = await openWaybillSeal(deps, { ...waybill, sealed: waybill.sealed! }, actorOf(job), job.createdAt);
      const relay = (await deps.relay?.provider.printedFor(waybill.id, req.template.lang, now)) ?? {};
      const facts = { order: content.order, waybillNo: waybill.waybillNo, qrUrl: tokenUrl(deps.scanBaseUrl, content.token), relay };
      const printNo = lease ? await deps.store.claimPrintNo(waybill.id, { id: lease.id, unstored: lease.unstored() }) : await deps.store.nextPrintNo(waybill.id);
      // Every piece is printed again: a reprint replaces the whole shipment's paper.
      const childNos = await deps.store.childNosOf(waybill.id);
      // A number whose print never reached paper is taken over with its copy codes: paper keeps counting from 1.
      const takeOver: Partial<Record<CopyKind, string>>[] = [];
      if (paper) for (let pieceNo = 1; pieceNo <= childNos.length + 1; pieceNo++) takeOver.push(await deps.store.copyCodesAt(waybill.id, printNo, pieceNo));
      const printed = await withUnusedCodes(deps.store, issued, () => printPieces(req.template, facts, childNos, { job, waybillId: waybill.id, printNo, paper, takeOver, at: now }, deps.metrics, new SymbolCache({}, drawsLabels(req.sink))));
      await req.sink.add(
        { orderIndex, orderId: waybill.orderId, waybillNo: waybill.waybillNo, id: waybill.id, copyCodes: printed.copyCodes, relay, areas: areasOf(content.order, req.template.lang), ...piecesOf(printed) },
        printed.layout,
      );
      copies.push(...printed.copies);
      done.printNos.push(printNo);
      done.pieces.push(printed.pieces.length);
      done.codes.push(printed.copies.map((c) => c.copyCode));
      done.labels += printed.layout.labels.length;
      done.warnings.push(...printed.layout.warnings);
      await lease?.keep();
      if ((orderIndex + 1) % COLLECT_EVERY === 0) collectGarbage();
      req.onProgress?.(orderIndex + 1);
    }
    await req.sink.finish();
    // A view saves nothing; records not written with the save are kept with it and follow it.
    saved = paper ? savedTrail(deps.audit, job.id, req.waybills, entry) : {};
    if (paper) await deps.store.savePrintJob(job, [], copies, { ...(lease ? { leaseId: lease.id, claimed: true, keepLease: !!req.output } : {}), ...savedRun(saved) });
  } catch (e) {
    await lease?.drop();
    throw e;
  }
  if (saved.kept) await appendKept(deps.audit, job.id, saved.pending ?? []);
  else if (!paper) await inAuditGroups(deps.audit, req.waybills, entry);
  return lease && req.output ? { ...done, placed: () => lease.drop() } : done;
}

/**
 * Prints again the waybills a client already has for these orders (`waybill print --reprint`); refuses,
 * naming each order, when one has none yet.
 */
export async function reprintOrders(deps: PrintDeps, req: PrintRequest & { clientId: string }): Promise<PrintSummary> {
  const issues: Issue[] = [];
  const waybills: WaybillRecord[] = [];
  for (const [index, order] of req.orders.entries()) {
    const existing = await deps.store.findWaybillByClientOrder(req.clientId, order.orderId);
    if (existing) waybills.push(existing);
    else issues.push({ file: req.source, index, path: ['orderId'], message: 'no waybill for this order id yet: print it without --reprint' });
  }
  if (issues.length) throw new WaybillError('not_found', 'some orders have no waybill to print again', issues);
  const done = await reprintWaybills(deps, { ...req, copies: 'print', waybills });
  return {
    jobId: done.jobId,
    waybills: waybills.map((w, orderIndex) => ({ orderIndex, orderId: w.orderId, waybillNo: w.waybillNo, id: w.id })),
    labels: done.labels,
    warnings: done.warnings,
    ...(done.placed ? { placed: done.placed } : {}),
  };
}

/** Waybills between two full collections in a long print (about 30 MB of garbage each time). */
const COLLECT_EVERY = 200;

/**
 * Waybills whose records a run with a lease holds before staging them (WaybillStore.stagePrint): about
 * 1.5 MB of records, one transaction each; a print of up to this many saves all at its end as before.
 */
const STAGE_EVERY = 500;
let fullCollection: (() => void) | undefined;

/**
 * A full garbage collection. A batch throws away some 150 kB a waybill (layouts, views, page content);
 * V8 only collects its old space when that has grown to several times what is live, and grows the limit
 * with the batch, so a 10,000-waybill batch peaked near twice the memory of a 1,000 one with
 * little more live. Collecting every 200 waybills keeps the peak where a short batch has it; one
 * collection takes tens of milliseconds against seconds of printing. V8's own collector, reached through
 * its --expose-gc flag in a context of its own (no global `gc` appears).
 */
function collectGarbage(): void {
  if (!fullCollection) {
    setFlagsFromString('--expose-gc');
    fullCollection = runInNewContext('gc') as () => void;
  }
  fullCollection();
}

/**
 * A sealed box in buffers of their own: fresh from the cipher its bytes are small slices of Node's shared
 * 8 kB buffer pool, and a batch holding them until its save would pin about 4 kB of pool per waybill
 * instead of the 1 kB it needs.
 */
function ownedBox(box: SealedBox): SealedBox {
  const own = (bytes: Buffer) => {
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(copy);
    return copy;
  };
  return { keyId: box.keyId, wrappedKey: own(box.wrappedKey), ciphertext: own(box.ciphertext) };
}

function areasOf(order: Order, lang: Lang) {
  return { sender: partyArea(order.sender.address, lang), recipient: partyArea(order.recipient.address, lang) };
}

/** Alerts of one kind a print raises one by one; the rest are one alert that counts them. */
const ALERTS_EACH = 3;

/**
 * A print's alerts, at most ALERTS_EACH of a kind named waybill by waybill and the rest counted in one:
 * a batch of 10,000 alike would otherwise flood the alert list and every admin webhook.
 */
function alertsOfJob(jobId: string, alerts: readonly Omit<NewAlert, 'at'>[]): Omit<NewAlert, 'at'>[] {
  const out: Omit<NewAlert, 'at'>[] = [];
  const counted = new Map<AlertKind, number>();
  for (const a of alerts) {
    const n = (counted.get(a.kind) ?? 0) + 1;
    counted.set(a.kind, n);
    if (n <= ALERTS_EACH) out.push(a);
  }
  for (const [kind, n] of counted) if (n > ALERTS_EACH) out.push({ kind, detail: `print job ${jobId}: ${n - ALERTS_EACH} more waybill(s) alike` });
  return out;
}

/** Records between full collections after a long print (each took ~60 ms of a 10,000-waybill print's heap). */
const AUDIT_COLLECT_EVERY = 1000;

/**
 * What a print's save takes of its trail. A create or a short print's records go into its transaction
 * (saved and audited, or neither). A longer trail is only kept with the save (`pending`, cheap rows) and
 * appended after it in groups (appendKept), so the save's hold on the audit head (and SQLite's write lock)
 * stays short; what a crash leaves kept, the next sweep appends (wiring.ts: sweepDeadPrints).
 */
function savedTrail<T>(audit: AuditLog, jobId: string, items: readonly T[], entry: (item: T, index: number) => AuditEntry): SavedTrail {
  if (!items.length) return {};
  const entries = items.map((item, i) => entry(item, i));
  if (entries.length <= AUDIT_GROUP) return { trail: audit.chain(entries) };
  // The entries themselves only for a log that keeps nothing (appendKept then appends them as they are).
  return { kept: audit.keep(jobId, entries), ...(audit.appendPending ? {} : { pending: entries }) };
}
type SavedTrail = { trail?: AuditChain; kept?: string[]; pending?: AuditEntry[] };

/** What a save takes of its trail: the records in its transaction, or the entries it keeps (sealed). */
function savedRun({ trail, kept }: SavedTrail): { trail?: AuditChain; pending?: string[] } {
  return { ...(trail ? { trail } : {}), ...(kept ? { pending: kept } : {}) };
}

/** A saved print's kept records onto the chain, AUDIT_GROUP to a transaction, with a turn for other requests between. */
async function appendKept(audit: AuditLog, jobId: string, entries: readonly AuditEntry[]): Promise<void> {
  if (!audit.appendPending) return inAuditGroups(audit, entries, (e) => e); // a log that keeps nothing (test fakes)
  for (let done = 0; ; ) {
    const n = await audit.appendPending(AUDIT_GROUP, jobId);
    if (!n) return;
    done += n;
    if (done % AUDIT_COLLECT_EVERY === 0) collectGarbage();
    await nextTurn();
  }
}

/**
 * A long print's audit records after its save, in order, AUDIT_GROUP to a transaction: a 1,000-waybill
 * batch writes five instead of a thousand. Each is written at once, not left to the log's group commit,
 * which waits for the event loop's next turn, behind every request that arrived meanwhile. Each group is
 * awaited before the next, which keeps what is held at once small, and the process's other requests get
 * a turn between groups: on SQLite each commits at once, and the fifty groups of a 10,000-waybill batch
 * held the event loop for some 0.8 s in one piece. The committed records' garbage is collected now and
 * then, as while printing.
 */
async function inAuditGroups<T>(audit: AuditLog, items: readonly T[], entry: (item: T, index: number) => AuditEntry): Promise<void> {
  for (let start = 0; start < items.length; start += AUDIT_GROUP) {
    if (start > 0) await nextTurn();
    await audit.appendAll(items.slice(start, start + AUDIT_GROUP).map((item, i) => entry(item, start + i)));
    const done = start + AUDIT_GROUP;
    if (done % AUDIT_COLLECT_EVERY === 0 && done < items.length) collectGarbage();
  }
}

/** Print 0 is a create without paper (a preview), 1 the first print, 2+ reprints. */
function printEntry(job: PrintJobRecord, waybillNo: string, printNo: number, copies: number, pieces: number, codes: readonly string[]): AuditEntry {
  return {
    at: job.createdAt,
    actor: actorOf(job),
    action: printNo === 0 ? 'create' : printNo === 1 ? 'print' : 'reprint',
    waybillNo,
    outcome: 'ok',
    // Copies per piece; a multi-piece waybill names its piece count (each piece printed every copy). The
    // copy codes are in the chain too, so a code traces to this record, not only to the copy_prints row.
    detail: { job: job.id, template: job.templateId, format: job.format, copies, printNo, ...(pieces > 1 ? { pieces } : {}), ...(codes.length ? { codes: codes.join(' ') } : {}) },
  };
}

function actorOf(job: PrintJobRecord): string {
  return `${job.channel}:${job.operator}@${job.host}`;
}

function newJob(req: Pick<PrintRequest, 'channel' | 'template' | 'format' | 'host' | 'operator' | 'jobId'>, now: Date): PrintJobRecord {
  return { id: req.jobId ?? randomUUID(), createdAt: now.toISOString(), channel: req.channel, templateId: req.template.id, format: req.format, host: req.host, operator: req.operator };
}

interface PiecePrint {
  job: PrintJobRecord;
  waybillId: string;
  printNo: number;
  paper: boolean;
  /** Per piece (index 0: piece 1), the copy codes a print that never reached paper left under this number. */
  takeOver?: Partial<Record<CopyKind, string>>[];
  at: Date;
}

interface PrintedPieces {
  layout: WaybillLayout;
  copies: CopyPrintRecord[];
  /** Piece 1's copy codes. */
  copyCodes: Record<string, string>;
  /** Every piece's number and copy codes, in order. */
  pieces: { pieceNo: number; waybillNo: string; copyCodes: Record<string, string> }[];
}

/**
 * One print of one waybill: a label set per piece (the template's copies each), piece 1 under the
 * waybill's own number and pieces 2..N under their child numbers, each with its own Code128, piece mark
 * and copy codes. Every piece carries the same QR token: the courier's scan opens the one waybill, and a
 * token per piece would hand out more ways in to the same data, not less.
 */
function printPieces(template: LoadedTemplate, facts: WaybillFacts, childNos: string[], print: PiecePrint, metrics: TextMetrics, symbols = new SymbolCache()): PrintedPieces {
  const numbers = [facts.waybillNo, ...childNos];
  const out: PrintedPieces = { layout: { labels: [], shown: [], warnings: [] }, copies: [], copyCodes: {}, pieces: [] };
  for (const [i, waybillNo] of numbers.entries()) {
    const pieceNo = i + 1;
    const piece = { no: pieceNo, of: numbers.length, masterWaybillNo: facts.waybillNo, numbers };
    const printed = printCopies(template, { ...facts, waybillNo, piece }, { ...print, pieceNo, takeOver: print.takeOver?.[i] }, metrics, symbols);
    out.layout.labels.push(...printed.layout.labels);
    out.layout.shown.push(...(numbers.length > 1 ? printed.layout.shown.map((c) => ({ ...c, pieceNo })) : printed.layout.shown));
    // The same warning for every piece is said once.
    for (const w of printed.layout.warnings) if (!out.layout.warnings.includes(w)) out.layout.warnings.push(w);
    out.copies.push(...printed.copies);
    if (pieceNo === 1) out.copyCodes = printed.copyCodes;
    out.pieces.push({ pieceNo, waybillNo, copyCodes: printed.copyCodes });
  }
  return out;
}

/** Tries before a print gives up finding unused copy codes: five clashes in a row do not happen by chance. */
const CODE_TRIES = 5;

/**
 * A copy code names one copy for good: a photo of the paper leads back to that print. Drawn from 40
 * random bits, a new code meets one already recorded once the store holds millions (a 10,000-waybill
 * batch issues 40,000 or more), and the save would then fail the whole run at its end. So a waybill's new
 * codes are checked against this run's and the store's before anything of it is written, and on a clash
 * it is laid out again with others. (Codes taken over from a print that never reached paper are its own.)
 */
async function withUnusedCodes(store: WaybillStore, issued: Set<string>, print: () => PrintedPieces): Promise<PrintedPieces> {
  for (let attempt = 1; ; attempt++) {
    const printed = print();
    const fresh = printed.copies.filter((c) => !c.takenOver).map((c) => c.copyCode);
    const clash = new Set(fresh).size < fresh.length || fresh.some((c) => issued.has(c)) || (await store.copyCodesTaken(fresh)).length > 0;
    if (!clash) {
      for (const c of fresh) issued.add(c);
      return printed;
    }
    if (attempt === CODE_TRIES) throw new Error(`no unused copy codes after ${CODE_TRIES} tries`);
  }
}

/** The pieces a sink is told of: only a multi-piece waybill lists them. */
function piecesOf(printed: PrintedPieces): { pieces?: PrintedPieces['pieces'] } {
  return printed.pieces.length > 1 ? { pieces: printed.pieces } : {};
}

/** One print of one piece: a copy code per copy on paper (none in a preview or view), the views and the layout. */
function printCopies(
  template: LoadedTemplate,
  facts: WaybillFacts,
  print: { job: PrintJobRecord; waybillId: string; printNo: number; paper: boolean; pieceNo: number; takeOver?: Partial<Record<CopyKind, string>>; at: Date },
  metrics: TextMetrics,
  symbols: SymbolCache,
): { layout: WaybillLayout; copies: CopyPrintRecord[]; copyCodes: Record<string, string> } {
  const views = new Map<CopyKind, CopyView>();
  const copies: CopyPrintRecord[] = [];
  const copyCodes: Record<string, string> = {};
  for (const section of template.labels.flatMap((l) => l.sections)) {
    const takenOver = print.takeOver?.[section.copy];
    const copyCode = print.paper ? (takenOver ?? newCopyCode()) : '';
    if (copyCode) {
      copyCodes[section.copy] = copyCode;
      copies.push({
        copyCode,
        jobId: print.job.id,
        waybillId: print.waybillId,
        copy: section.copy,
        printNo: print.printNo,
        ...(print.pieceNo > 1 ? { pieceNo: print.pieceNo } : {}),
        ...(takenOver ? { takenOver: true } : {}),
      });
    }
    const copyFacts = { copy: section.copy, title: section.title, copyCode, printNo: print.printNo, printedAt: print.at, lang: template.lang };
    views.set(section.copy, buildCopyView(facts, copyFacts, section.policy));
  }
  return { layout: layoutWaybill(template, views, metrics, symbols), copies, copyCodes };
}

/**
 * Orders whose ids or waybill numbers are looked up between two turns of the event loop. On SQLite each
 * lookup answers at once, so the checks of a 10,000-order batch held the process's other requests for some
 * 0.4 s in one piece.
 */
const CHECKED_PER_TURN = 500;

/** Order ids are the client's own references: a second waybill for the same one is refused, naming the first. */
async function refuseKnownOrderIds(store: WaybillStore, clientId: string, orders: readonly Pick<Order, 'orderId'>[], file?: string): Promise<void> {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  let known = false;
  for (const [index, order] of orders.entries()) {
    if (index > 0 && index % CHECKED_PER_TURN === 0) await nextTurn();
    const existing = await store.findWaybillByClientOrder(clientId, order.orderId);
    known ||= !!existing;
    if (existing || seen.has(order.orderId))
      issues.push({ file, index, path: ['orderId'], message: existing ? `a waybill exists for this order id: ${existing.waybillNo} (id ${existing.id})` : 'order id repeated in this request' });
    seen.add(order.orderId);
  }
  // Only a waybill that exists is a conflict; a request that repeats itself is its own mistake.
  if (issues.length) throw known ? new WaybillError('conflict', 'some orders already have a waybill', issues) : new WaybillError('invalid_input', 'some order ids are repeated in this request', issues);
}

/** The run's lease (when leases are kept): a batch takes one of its client's slots or is refused. */
async function takeLease(deps: PrintDeps, req: PrintRequest): Promise<RunLease | undefined> {
  if (!deps.leases) return undefined;
  const lease = await deps.leases.take({
    ...(req.clientId ? { clientId: req.clientId } : {}),
    ...(req.batchSlots ? { slots: req.batchSlots } : {}),
    ...(req.output ? { output: req.output } : {}),
    ...(req.streamed ? { streamed: true } : {}),
    // The first thing a run with relay numbers does is claim them: that claim stores the lease.
    withFirstClaim: !!deps.relay && req.orders.length > 0,
  });
  if (!lease) throw new WaybillError('unavailable', `too many batches of this client are running (at most ${req.batchSlots} at once); retry shortly`, [], 5);
  return lease;
}

/**
 * Waybills of a print whose relay numbers are bound together, ahead of their layout: the pool claims them
 * in one transaction, and on SQLite the commit costs more than the claims (a commit per waybill was a
 * tenth of a long print). Bound ahead, they are released with the rest if the print fails.
 */
const RELAY_GROUP = 16;

/** The relay numbers bound for one waybill. */
interface BoundRelay {
  /** The printed relay number of each party that got one. */
  printed: Partial<Record<RelayParty, string>>;
  /** Every binding made, also when the other party got none: the caller releases them if the print fails. */
  bindingIds: string[];
  /** Why a party got no number. */
  unavailable?: 'relay pool exhausted' | 'relay provider failed' | 'client over share';
}

/**
 * Binds relay numbers for both parties of each waybill, all in one call to the provider (for the pool, one
 * claim transaction); says per waybill why a party got none (never throws for the provider).
 */
async function bindRelays(
  deps: PrintDeps,
  run: { clientId: string | undefined; lease: RunLease | undefined },
  waybills: { id: string; order: Order }[],
  now: Date,
  lang: Lang,
): Promise<BoundRelay[]> {
  const relays: BoundRelay[] = waybills.map(() => ({ printed: {}, bindingIds: [] }));
  if (!deps.relay) return relays;
  const expiresAt = new Date(now.getTime() + deps.relay.maxDays * DAY_MS);
  const parties = ['recipient', 'sender'] as const;
  let outcomes: BindOutcome[];
  try {
    outcomes = await deps.relay.provider.bind(
      waybills.flatMap(({ id, order }) => {
        const partyPhones = [order.recipient.phone, order.sender.phone];
        return parties.map((party) => {
          const { phone: realPhone, phoneExtension: realExtension } = order[party];
          return {
            waybillId: id,
            party,
            realPhone,
            ...(realExtension ? { realExtension } : {}),
            partyPhones,
            validFrom: now,
            expiresAt,
            ...(run.lease ? { leaseId: run.lease.id } : {}),
            ...(run.clientId ? { clientId: run.clientId } : {}),
          };
        });
      }),
      lang,
      run.lease?.unstored(),
    );
  } catch {
    return relays.map((r) => ({ ...r, unavailable: 'relay provider failed' }));
  }
  // A party without a number prints the masked phone and the carrier's service number; the other keeps its own.
  return relays.map((relay, w) => {
    for (const [i, party] of parties.entries()) {
      const bound = outcomes[w * parties.length + i];
      if (bound && bound !== 'client over share') {
        relay.bindingIds.push(bound.bindingId);
        relay.printed[party] = bound.printed;
      } else relay.unavailable ??= bound ?? 'relay pool exhausted';
    }
    return relay;
  });
}

/**
 * Keeps given numbers (refusing ones already used) and generates the rest, unique in the store and batch;
 * then the child numbers of multi-piece orders (pieces 2..N), in the carrier's form like a waybill number:
 * the carriers issue child numbers as numbers of their own, not derived from the master's.
 */
async function assignWaybillNumbers(store: WaybillStore, orders: Order[], file?: string): Promise<{ numbers: string[]; childNos: string[][] }> {
  const issues: Issue[] = [];
  const taken = new Set<string>();
  let used = false;
  for (const [index, order] of orders.entries()) {
    if (!order.waybillNo) continue;
    if (index > 0 && index % CHECKED_PER_TURN === 0) await nextTurn();
    const exists = await store.waybillNoExists(order.waybillNo);
    used ||= exists;
    if (exists || taken.has(order.waybillNo))
      issues.push({ file, index, path: ['waybillNo'], message: exists ? 'waybill number is already used' : 'waybill number repeated in this request' });
    taken.add(order.waybillNo);
  }
  // As with order ids: only a number in use is a conflict; a request that repeats one is its own mistake.
  if (issues.length) throw used ? new WaybillError('conflict', 'some waybill numbers are already used', issues) : new WaybillError('invalid_input', 'some waybill numbers are repeated in this request', issues);
  const numbers: string[] = [];
  for (const [index, order] of orders.entries()) {
    if (index > 0 && index % CHECKED_PER_TURN === 0) await nextTurn();
    let no = order.waybillNo;
    while (!no) {
      const candidate = generateWaybillNo(order.carrier);
      if (!taken.has(candidate) && !(await store.waybillNoExists(candidate))) no = candidate;
    }
    taken.add(no);
    numbers.push(no);
  }
  const childNos: string[][] = [];
  for (const order of orders) {
    const children: string[] = [];
    while (children.length < order.parcel.pieces - 1) {
      const candidate = generateWaybillNo(order.carrier);
      // waybillNoExists checks masters and children alike: a child number never equals a master number.
      if (taken.has(candidate) || (await store.waybillNoExists(candidate))) continue;
      taken.add(candidate);
      children.push(candidate);
    }
    childNos.push(children);
  }
  return { numbers, childNos };
}
