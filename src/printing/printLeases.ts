// Print runs in progress, as leases in the database. A run (an HTTP create or batch, a CLI print) holds
// a lease while it renders and renews it as it goes; the relay bindings it makes carry the lease and stay
// provisional (they reach nobody) until the run saves its waybills, which clears them in the same
// transaction. A run that dies (kill -9, crash, lost client) stops renewing: once its lease expires, or
// at once when its process on this host is gone, the sweep drops the lease and returns its provisional
// bindings' slots to the pool, and removes the run's `.partial` output file. A client's batches take
// numbered lease slots, so their number is capped across every instance on the database.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { WaybillError } from '../errors';

export interface PrintLease {
  id: string;
  clientId?: string;
  /** A batch's slot among its client's concurrent batches. */
  slot?: number;
  /** The host (and PID namespace) and process running the print: a dead process frees it at once. */
  host: string;
  pid: number;
  /** The file the run writes before renaming it into place (CLI), removed if the run dies. */
  output?: string;
  startedAt: string;
  expiresAt: string;
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
  onHost(host: string): Promise<Pick<PrintLease, 'id' | 'pid' | 'output'>[]>;
  /**
   * Drops the leases expired by `now` and those named (dead runs), then deletes every provisional relay
   * binding whose lease is gone, with its slot, and every staged record whose lease is gone, in one
   * transaction. `staged`: the staged waybills deleted.
   */
  sweep(now: string, dead: string[]): Promise<{ leases: number; bindings: number; staged: number }>;
}

export interface PrintLeaseSettings {
  /** How long a run's lease outlives its last renewal: the hold on a dead run's provisional bindings. */
  holdSeconds: number;
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
   * when the client runs that many batches already (on any instance).
   */
  async take(run: { clientId?: string; slots?: number; output?: string } = {}): Promise<RunLease | undefined> {
    const now = this.now();
    const lease: PrintLease = {
      id: randomUUID(),
      ...(run.clientId ? { clientId: run.clientId } : {}),
      host: this.host,
      pid: this.pid,
      ...(run.output ? { output: run.output } : {}),
      startedAt: now.toISOString(),
      expiresAt: this.expiry(now),
    };
    const slot = await this.repo.take(lease, run.clientId ? run.slots : undefined, now.toISOString());
    return slot === undefined ? undefined : new RunLease(lease.id, this.repo, this.settings.holdSeconds, () => this.expiry(this.now()));
  }

  /**
   * Ends dead runs: leases expired, or of a process on this host that is gone; their provisional relay
   * bindings go back to the pool, their staged records are deleted and their `.partial` files removed.
   * Run at start-up and periodically.
   */
  async sweep(): Promise<{ leases: number; bindings: number; staged: number; files: number }> {
    const dead = (await this.repo.onHost(this.host)).filter((l) => l.pid !== this.pid && !this.isAlive(l.pid));
    const swept = await this.repo.sweep(this.now().toISOString(), dead.map((l) => l.id));
    let files = 0;
    for (const l of dead) if (l.output && removePartial(l.output, l.pid)) files++;
    return { ...swept, files };
  }

  private expiry(now: Date): string {
    return new Date(now.getTime() + this.settings.holdSeconds * 1000).toISOString();
  }
}

/** One run's lease: renewed as the run progresses, dropped when it ends (its save drops it too). */
export class RunLease {
  private renewedAt = performance.now();

  constructor(
    readonly id: string,
    private readonly repo: PrintLeaseRepository,
    private readonly holdSeconds: number,
    private readonly expiry: () => string,
  ) {}

  /** Renews the lease when a third of the hold has passed; throws when it was swept (the run was too slow). */
  async keep(): Promise<void> {
    if (performance.now() - this.renewedAt < (this.holdSeconds * 1000) / 3) return;
    if (!(await this.repo.renew(this.id, this.expiry()))) throw leaseLost();
    this.renewedAt = performance.now();
  }

  drop(): Promise<void> {
    return this.repo.drop(this.id);
  }
}

export function leaseLost(): WaybillError {
  return new WaybillError('unavailable', 'the print stalled past its hold on its relay numbers and was given up; retry', [], 5);
}

/** Where a run writes before renaming into place: hidden, beside the target, naming the writing process. */
export function partialPath(out: string, pid: number = process.pid): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.${pid}.${randomBytes(6).toString('hex')}.partial`);
}

const PARTIAL = /^\..+\.(\d+)\.[0-9a-f]{12}\.partial$/;

/** Removes a dead run's output file, only if its name is one partialPath gave that process. */
function removePartial(file: string, pid: number): boolean {
  if (PARTIAL.exec(path.basename(file))?.[1] !== String(pid)) return false;
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
