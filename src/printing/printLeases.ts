// Print runs in progress, as leases in the database. A run (an HTTP create or batch, a CLI print) holds
// a lease while it renders and renews it as it goes; the relay bindings it makes carry the lease and stay
// provisional (they reach nobody) until the run saves its waybills, which clears them in the same
// transaction. A create's lease is stored by its first relay claim, in the claim's transaction. A run
// that dies (kill -9, crash, lost client) stops renewing: once its lease expires, or at once when its
// process on this host is gone, the sweep drops the lease and returns its provisional bindings' slots to
// the pool (a streamed run's pages may have left with them: those end in quarantine instead), and removes
// the run's `.partial` output file. A client's batches take numbered lease slots,
// so their number is capped across every instance on the database.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { WaybillError } from '../errors';
import type { RunLeaseRecord, UnstoredLease } from '../relay/relayStore';

export interface PrintLease extends RunLeaseRecord {
  /** A batch's slot among its client's concurrent batches. */
  slot?: number;
  /** The file the run writes before renaming it into place (CLI), removed if the run dies unsaved. */
  output?: string;
  /** Set by the save of a run with an output: its job, while the run puts the file in place. */
  savedJob?: string;
}

/** Where leases live (src/store/); the sweep also releases the relay bindings of dropped runs. */
export interface PrintLeaseRepository {
  /**
   * Stores the lease. With `slots`, the client's first free slot below it (its expired leases dropped
   * first): the slot taken, or undefined when all are taken. Without, always stored (slot null).
   */
  take(lease: PrintLease, slots: number | undefined, now: string): Promise<number | null | undefined>;
  /** Moves the expiry; false when the lease is gone (swept as dead). */
  renew(id: string, expiresAt: string): Promise<boolean>;
  /** Drops the lease and the records its run staged (the run ended without a save). */
  drop(id: string): Promise<void>;
  /** The leases of runs on one host, for the check of their processes. */
  onHost(host: string): Promise<Pick<PrintLease, 'id' | 'pid' | 'output' | 'savedJob'>[]>;
  /**
   * Drops the leases expired by `now` and those named (dead runs), then deletes every provisional relay
   * binding whose lease is gone, with its slot, and every staged record whose lease is gone, in one
   * transaction. A streamed run's bindings are not deleted but ended at `now`, their slots held until
   * `holdUntil` (`quarantined`). `staged`: the staged waybills deleted.
   */
  sweep(now: string, dead: string[], holdUntil: string): Promise<{ leases: number; bindings: number; quarantined: number; staged: number }>;
}

export interface PrintLeaseSettings {
  /** How long a run's lease outlives its last renewal: the hold on a dead run's provisional bindings. */
  holdSeconds: number;
  /** How long a dead streamed run's numbers stay out of the pool, as an ended binding's do. */
  quarantineDays: number;
  now?: () => Date;
  /** Who runs prints here; this host and process by default. */
  host?: string;
  pid?: number;
  isAlive?: (pid: number) => boolean;
}

export class PrintLeases {
  private readonly host: string;
  private readonly pid: number;
  private readonly now: () => Date;
  private readonly isAlive: (pid: number) => boolean;

  constructor(
    private readonly repo: PrintLeaseRepository,
    private readonly settings: PrintLeaseSettings,
  ) {
    this.host = settings.host ?? thisHost();
    this.pid = settings.pid ?? process.pid;
    this.now = settings.now ?? (() => new Date());
    this.isAlive = settings.isAlive ?? processAlive;
  }

  /**
   * A lease for a run; with `slots`, one of the client's `slots` concurrent batch slots, or undefined
   * when the client runs that many batches already (on any instance). `withFirstClaim`: the run binds
   * relay numbers before anything else needs its lease, so the lease is stored by its first claim
   * (RunLease.unstored), not in a transaction of its own; a lease with slots or an output file is stored
   * at once all the same, as the slot decides whether the run may start and the file is about to exist.
   */
  async take(run: { clientId?: string; slots?: number; output?: string; streamed?: boolean; withFirstClaim?: boolean } = {}): Promise<RunLease | undefined> {
    const now = this.now();
    const lease: PrintLease = {
      id: randomUUID(),
      ...(run.clientId ? { clientId: run.clientId } : {}),
      host: this.host,
      pid: this.pid,
      ...(run.output ? { output: run.output } : {}),
      ...(run.streamed ? { streamed: true } : {}),
      startedAt: now.toISOString(),
      expiresAt: this.expiry(now),
    };
    const slots = run.clientId ? run.slots : undefined;
    const renewal = { repo: this.repo, holdSeconds: this.settings.holdSeconds, expiry: () => this.expiry(this.now()) };
    if (run.withFirstClaim && slots === undefined && !run.output) return new RunLease(lease.id, renewal, lease);
    const slot = await this.repo.take(lease, slots, now.toISOString());
    return slot === undefined ? undefined : new RunLease(lease.id, renewal);
  }

  /**
   * Ends dead runs: leases expired, or of a process on this host that is gone; their provisional relay
   * bindings go back to the pool, their staged records are deleted and their `.partial` files removed.
   * A run that died after its save (its waybills recorded) had written its file whole: that file is put
   * in place instead, unless something else is there by now. Run at start-up and periodically.
   */
  async sweep(): Promise<{ leases: number; bindings: number; quarantined: number; staged: number; files: number; filesPlaced: number }> {
    const dead = (await this.repo.onHost(this.host)).filter((l) => l.pid !== this.pid && !this.isAlive(l.pid));
    let [files, filesPlaced] = [0, 0];
    // Before the leases go: a run's file is placed or removed while its lease still says which.
    for (const l of dead) {
      if (!l.output) continue;
      if (l.savedJob && placePartial(l.output, l.pid)) filesPlaced++;
      else if (!l.savedJob && removePartial(l.output, l.pid)) files++;
    }
    const now = this.now();
    const holdUntil = new Date(now.getTime() + this.settings.quarantineDays * 86_400_000).toISOString();
    const swept = await this.repo.sweep(now.toISOString(), dead.map((l) => l.id), holdUntil);
    return { ...swept, files, filesPlaced };
  }

  private expiry(now: Date): string {
    return new Date(now.getTime() + this.settings.holdSeconds * 1000).toISOString();
  }
}

/** One run's lease: renewed as the run progresses, dropped when it ends (its save drops it too, except a print to a file's: PrintSummary.placed). */
export class RunLease {
  private renewedAt = performance.now();

  constructor(
    readonly id: string,
    private readonly renewal: { repo: PrintLeaseRepository; holdSeconds: number; expiry: () => string },
    /** The lease while it is not stored: nothing is provisional under it yet. */
    private record?: PrintLease,
  ) {}

  /** The lease for the run's first relay claim to store, while it is not stored. */
  unstored(): UnstoredLease | undefined {
    const record = this.record;
    return record && { record, stored: () => void (this.record = undefined) };
  }

  /**
   * Stores the lease if no claim has (none was made, or the relay provider failed): before the run
   * stages records, renews or saves.
   */
  async store(): Promise<void> {
    if (!this.record) return;
    await this.renewal.repo.take(this.record, undefined, this.record.startedAt);
    this.record = undefined;
  }

  /** Renews the lease when a third of the hold has passed; throws when it was swept (the run was too slow). */
  async keep(): Promise<void> {
    const { repo, holdSeconds, expiry } = this.renewal;
    if (performance.now() - this.renewedAt < (holdSeconds * 1000) / 3) return;
    if (!(await repo.renew(this.id, expiry()))) throw leaseLost();
    this.renewedAt = performance.now();
  }

  async drop(): Promise<void> {
    if (!this.record) await this.renewal.repo.drop(this.id);
  }
}

export function leaseLost(): WaybillError {
  return new WaybillError('unavailable', 'the print stalled past its hold on its relay numbers and was given up; retry', [], 5);
}

/** Where a run writes before renaming into place: hidden, beside the target, naming the writing process. */
export function partialPath(out: string, pid: number = process.pid): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.${pid}.${randomBytes(6).toString('hex')}.partial`);
}

const PARTIAL = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.partial$/;

/** Puts a dead, saved run's finished output file in place (the name partialPath hid it under), unless that name is taken. */
function placePartial(file: string, pid: number): boolean {
  const m = PARTIAL.exec(path.basename(file));
  if (m?.[2] !== String(pid)) return false;
  const target = path.join(path.dirname(file), m[1]!);
  try {
    fs.linkSync(file, target); // fails if the name is taken: a later run's output is never replaced
    fs.chmodSync(target, 0o644);
    fs.rmSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Removes a dead run's output file, only if its name is one partialPath gave that process. */
function removePartial(file: string, pid: number): boolean {
  if (PARTIAL.exec(path.basename(file))?.[2] !== String(pid)) return false;
  try {
    fs.rmSync(file);
    return true;
  } catch {
    return false; // already gone
  }
}

/** This machine, with its PID namespace where Linux shows it: containers sharing a hostname differ. */
function thisHost(): string {
  try {
    return `${os.hostname()} ${fs.readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return os.hostname();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}
