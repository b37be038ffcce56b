// Sending a rendered print job to a network printer, never losing it: the bytes are kept sealed before
// the first attempt, refused or unreachable printers are retried a bounded number of times (nothing can
// print twice then), and a job that still fails stays 'failed' with its reason until retried or expired.

import type { AuditLog } from '../audit/auditLog';
import { WaybillError } from '../errors';
import { seal, unseal, type KeyRing } from '../vault/sealing';
import { PrinterRefused } from './networkPolicy';
import type { Printer } from './printer';
import type { Delivery, PrinterStore } from './printerStore';
import { SendFailure, type PrinterAddress } from './rawTcp';

export interface DeliveryDeps {
  printers: PrinterStore;
  audit: AuditLog;
  ring: KeyRing;
  send: (to: PrinterAddress, bytes: Buffer) => Promise<void>;
  /**
   * Where to connect for this printer now: its host resolved and every address checked against the
   * printer network policy (networkPolicy.ts printerAddress). Throws PrinterRefused when refused.
   */
  route: (printer: Printer) => Promise<PrinterAddress>;
  /** Attempts per delivery (≥ 1), and the pause before the second one, doubling after. */
  attempts: number;
  backoffMs: number;
  now: () => Date;
  /** Why a kept job may no longer be sent (one of its waybills may not be printed), checked before every retry. */
  sendRefusal: (jobId: string) => Promise<WaybillError | undefined>;
  /**
   * Printers behind warehouse agents (printer.agent): their jobs go over the agent's link. Absent (the
   * CLI, or a process without agent links): such jobs stay pending until a service instance sends them.
   */
  agents?: AgentDispatch;
}

export interface AgentDispatch {
  /**
   * Sends a kept (pending) job through its printer's agent when that agent is connected to this process,
   * waiting a short while for the agent's acknowledgement; else answers it pending.
   */
  dispatch(jobId: string, printer: Printer, actor: string, bytes?: Buffer): Promise<DeliveryResult>;
}

export interface DeliveryResult {
  jobId: string;
  printer: string;
  /**
   * pending: waiting for the printer's agent to connect; sending: handed to the agent, not acknowledged
   * within the wait (agent printers only).
   */
  status: 'delivered' | 'failed' | 'pending' | 'sending';
  /** Attempts made by this call. */
  attempts: number;
  error?: string;
}

/** A claim on a job in 'sending' older than this belonged to a process that died. */
export const STALE_SENDING_MS = 10 * 60_000;
const ABANDONED = 'the process sending it stopped before the send ended; part of it may be printed';

/**
 * Fails the jobs (one, or all) left 'sending' by a process that died mid-send: part of one may be on
 * paper, so it is never sent again on its own, as that would make a second paper with the same copy
 * codes. Failed and partly sent, it keeps its print number and codes; a person may send it again or
 * print the waybill anew (a reprint with codes of its own). Audited; their ids.
 */
export async function failAbandoned(deps: Pick<DeliveryDeps, 'printers' | 'audit' | 'now'>, actor: string, jobId?: string): Promise<string[]> {
  const at = deps.now();
  const jobs = await deps.printers.failAbandoned(at, new Date(at.getTime() - STALE_SENDING_MS), ABANDONED, jobId);
  if (jobs.length) await deps.audit.appendAll(jobs.map((job) => ({ at: at.toISOString(), actor, action: 'deliver' as const, outcome: 'failed', detail: { job, reason: 'abandoned' } })));
  return jobs;
}

/** Keeps a rendered job (sealed) and sends it. */
export async function deliverNew(
  deps: DeliveryDeps,
  job: { jobId: string; printer: Printer; clientId?: string; bytes: Buffer; actor: string },
): Promise<DeliveryResult> {
  // An admin's or the CLI's job for a client's printer is that client's: it goes to no other's printer.
  const clientId = job.clientId ?? job.printer.client;
  await deps.printers.saveDelivery({
    jobId: job.jobId,
    printer: job.printer.name,
    ...(clientId ? { clientId } : {}),
    byteLength: job.bytes.length,
    createdAt: deps.now().toISOString(),
    sealed: seal(job.bytes, deps.ring, deliveryContext(job.jobId)),
  });
  if (job.printer.agent) return viaAgent(deps, job.jobId, job.printer, job.actor, job.bytes);
  return sendDelivery(deps, job.jobId, job.actor, job.bytes);
}

/**
 * Sends a kept job again (to the printer's current address): after a failure, or one left pending. A job
 * whose waybill was cancelled or purged since is cancelled instead, and the refusal thrown.
 */
export async function retryDelivery(deps: DeliveryDeps, jobId: string, actor: string): Promise<DeliveryResult> {
  const refusal = await deps.sendRefusal(jobId);
  if (refusal) {
    await cancelKept(deps, jobId, refusal.message, actor);
    throw refusal;
  }
  const kept = await deps.printers.getDelivery(jobId);
  const printer = kept && (await deps.printers.getPrinter(kept.printer));
  // A kept job names its printer only: a name freed and taken by another client's printer (or agent)
  // since must not be handed the job.
  if (kept?.clientId !== undefined && printer && printer.client !== kept.clientId) {
    await cancelKept(deps, jobId, `printer "${kept.printer}" now belongs to another client`, actor);
    throw await unclaimable(deps.printers, jobId);
  }
  if (kept && printer?.agent) {
    // Back in the queue; the agent takes it now if connected here, else when it (re)connects anywhere.
    if (kept.status !== 'pending' && !(await deps.printers.requeueDelivery(jobId, deps.now()))) throw await unclaimable(deps.printers, jobId);
    return viaAgent(deps, jobId, printer, actor);
  }
  return sendDelivery(deps, jobId, actor);
}

function viaAgent(deps: DeliveryDeps, jobId: string, printer: Printer, actor: string, bytes?: Buffer): Promise<DeliveryResult> {
  if (deps.agents) return deps.agents.dispatch(jobId, printer, actor, bytes);
  return Promise.resolve({ jobId, printer: printer.name, status: 'pending', attempts: 0 });
}

/** Ends a kept job that must never be sent: its bytes are shredded, the reason kept on the job and audited. */
export async function cancelKept(deps: Pick<DeliveryDeps, 'printers' | 'audit' | 'now'>, jobId: string, reason: string, actor: string): Promise<void> {
  const at = deps.now();
  if (await deps.printers.cancelDelivery(jobId, reason, at)) await auditCancelled(deps, [jobId], reason, actor, at);
}

/** The audit records of kept jobs ended unsent (their bytes shredded). */
export async function auditCancelled(deps: Pick<DeliveryDeps, 'audit'>, jobIds: readonly string[], reason: string, actor: string, at: Date): Promise<void> {
  if (jobIds.length) await deps.audit.appendAll(jobIds.map((job) => ({ at: at.toISOString(), actor, action: 'deliver' as const, outcome: 'cancelled', detail: { job, reason } })));
}

async function sendDelivery(deps: DeliveryDeps, jobId: string, actor: string, known?: Buffer): Promise<DeliveryResult> {
  if ((await failAbandoned(deps, actor, jobId)).length) return abandoned(deps.printers, jobId);
  const claimed = await deps.printers.claimDelivery(jobId, deps.now());
  if (!claimed) throw await unclaimable(deps.printers, jobId);
  const bytes = known ?? unseal(claimed.sealed!, deps.ring, deliveryContext(jobId));
  const printer = await deps.printers.getPrinter(claimed.printer);

  let attempts = 0;
  let error = `printer "${claimed.printer}" is no longer registered`;
  let delivered = false;
  let partlySent = false;
  let refused: PrinterRefused | undefined;
  // A long job to a slow printer may take longer than a dead sender's claim is kept: the claim is kept fresh.
  const alive = setInterval(() => void deps.printers.touchDelivery(jobId, deps.now()).catch(() => undefined), STALE_SENDING_MS / 5);
  alive.unref();
  try {
    if (printer) {
      while (attempts < deps.attempts && !delivered) {
        if (attempts > 0) await sleep(deps.backoffMs * 2 ** (attempts - 1));
        attempts++;
        try {
          await deps.send(await deps.route(printer), bytes);
          delivered = true;
        } catch (e) {
          if (e instanceof PrinterRefused) {
            // No connection was tried, and every retry would be refused alike until the printer's host or
            // the policy changes: fail now, naming the printer only (API clients read this reason).
            attempts--;
            refused = e;
            error = `printer "${printer.name}": ${e.message}`;
            break;
          }
          if (!(e instanceof SendFailure)) throw e;
          error = `printer "${printer.name}": ${e.message}`;
          // Part of the job may be on paper: only a person can tell whether to send it again.
          if (!e.nothingSent) {
            partlySent = true;
            break;
          }
        }
      }
    }
  } finally {
    clearInterval(alive);
  }
  const status = delivered ? 'delivered' : 'failed';
  await deps.printers.finishDelivery(jobId, { status, attempts, ...(delivered ? {} : { error, partlySent }), at: deps.now() });
  await deps.audit.append({
    at: deps.now().toISOString(),
    actor,
    action: 'deliver',
    outcome: delivered ? 'ok' : 'failed',
    detail: { job: jobId, printer: claimed.printer, attempts, bytes: claimed.byteLength, ...(refused ? { refused: refused.kind } : {}) },
  });
  return { jobId, printer: claimed.printer, status, attempts, ...(delivered ? {} : { error }) };
}

/** What a send of a job just found abandoned answers: failed, as its dead sender left it. */
export async function abandoned(printers: PrinterStore, jobId: string): Promise<DeliveryResult> {
  const d = await printers.getDelivery(jobId);
  return { jobId, printer: d?.printer ?? '', status: 'failed', attempts: 0, error: ABANDONED };
}

export async function unclaimable(printers: PrinterStore, jobId: string): Promise<WaybillError> {
  const d: Delivery | undefined = await printers.getDelivery(jobId);
  if (!d) return new WaybillError('not_found', 'no such print job');
  if (d.status === 'delivered') return new WaybillError('conflict', `print job ${jobId} was already delivered; fetch or print the waybill again for another copy`);
  if (d.status === 'expired') return new WaybillError('gone', `print job ${jobId} expired undelivered; its bytes are destroyed; print the waybill again`);
  if (d.status === 'cancelled') return new WaybillError('conflict', `print job ${jobId} was cancelled, its bytes destroyed: ${d.lastError ?? 'it may not be sent'}`);
  return new WaybillError('in_progress', `print job ${jobId} is being sent right now`);
}

/** Binds sealed job bytes to their job, so one job's box cannot be passed off as another's. */
export function deliveryContext(jobId: string): string {
  return `delivery:${jobId}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
