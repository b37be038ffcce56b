// Checkpoint files: signed audit heads appended one JSON line each (opened with 'a', so an existing line
// is never rewritten by us; ship the directory to write-once storage so nobody else can either), and
// read back for `waybill audit verify`. The signing and checking itself is in src/audit/checkpoint.ts.

import fs from 'node:fs';
import path from 'node:path';
import type { CheckpointHead } from '../audit/auditLog';
import { checkpointLine, type CheckpointSigner } from '../audit/checkpoint';
import { WaybillError } from '../errors';
import { makeFolders } from '../folders';

/** The file in the checkpoint directory that `serve` and `waybill audit checkpoint` append to. */
export const CHECKPOINT_FILE_NAME = 'audit-checkpoints.jsonl';

export interface CheckpointWriter {
  /** The head to sign; counted on from `after`, the head of this writer's previous checkpoint. */
  head(after?: CheckpointHead): Promise<CheckpointHead | undefined>;
  signer: CheckpointSigner | undefined;
  now: () => Date;
}

/** Signs the current head and appends it to `file` (created with its directory when missing); returns what was written. */
export async function writeCheckpoint(w: CheckpointWriter, file: string, after?: CheckpointHead): Promise<CheckpointHead> {
  if (!w.signer) throw new WaybillError('internal', 'no audit signing key: set WAYBILL_AUDIT_SIGNING_KEY (or use the generated key file)');
  const head = await w.head(after);
  if (!head) throw new WaybillError('internal', 'the audit head is missing: the log was tampered with; run waybill audit verify');
  const line = checkpointLine(head, w.now(), w.signer) + '\n';
  makeFolders(path.dirname(file), 0o700);
  // One write() of a short line in append mode, then fsync: lines from several writers never interleave.
  const fd = fs.openSync(file, 'a', 0o644);
  try {
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return head;
}

/** Every non-empty line of a checkpoint file, or of every *.jsonl file in a directory (by name), with file:line. */
export function readCheckpointLines(target: string): { where: string; text: string }[] {
  const files = fs.statSync(target).isDirectory()
    ? fs
        .readdirSync(target)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  const out: { where: string; text: string }[] = [];
  for (const file of files) {
    fs.readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text.trim()) out.push({ where: `${file}:${i + 1}`, text });
      });
  }
  return out;
}

export interface CheckpointSchedule {
  /** Stops the timer and writes one last checkpoint (graceful shutdown). */
  stop(): Promise<void>;
}

/**
 * `serve`'s checkpoints: one at start, one every `minutes` (0: none) into the directory's checkpoint file,
 * and one at shutdown. Without a signing key it reports that once and writes none. Failures are reported, never thrown.
 */
export function startCheckpoints(
  w: CheckpointWriter & { dir: string },
  minutes: number,
  report: (event: { level: 'info' | 'warn' | 'error'; event: string; seq?: number; count?: number; error?: string }) => void,
): CheckpointSchedule {
  if (minutes <= 0) return { stop: async () => {} };
  if (!w.signer) {
    report({ level: 'warn', event: 'audit_checkpoints_off', error: 'no audit signing key (WAYBILL_AUDIT_SIGNING_KEY)' });
    return { stop: async () => {} };
  }
  const file = path.join(w.dir, CHECKPOINT_FILE_NAME);
  let running: Promise<void> = Promise.resolve();
  // The first checkpoint counts the whole log; later ones count on from the one before.
  let last: CheckpointHead | undefined;
  const once = () => {
    running = running.then(async () => {
      try {
        const head = (last = await writeCheckpoint(w, file, last));
        report({ level: 'info', event: 'audit_checkpoint', seq: head.seq, count: head.count });
      } catch (e) {
        report({ level: 'error', event: 'audit_checkpoint_failed', error: (e as Error).name });
      }
    });
    return running;
  };
  // One at start too: a process that is killed (never shut down) before its first interval would
  // otherwise leave no checkpoint, and a crash loop none at all.
  void once();
  const timer = setInterval(once, minutes * 60_000);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await once();
    },
  };
}
