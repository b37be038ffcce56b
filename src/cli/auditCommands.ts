// `waybill audit …`: verify the chain, list a waybill's records, trace a copy code from a leaked photo
// back to its print job. Output holds ids, times, hosts and staff names only, never personal data.

import fs from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { AuditLog } from '../audit/auditLog';
import type { AuditRecord, CheckpointClaim } from '../audit/auditRecord';
import { checkCheckpointLines, parsePublicKeys } from '../audit/checkpoint';
import { normaliseCopyCode } from '../printing/copyCode';
import type { TracedCopy, WaybillStore } from '../waybills/waybillStore';
import type { RowCheck } from '../auth/credentials';
import { CHECKPOINT_FILE_NAME, readCheckpointLines, writeCheckpoint, type CheckpointWriter } from './auditCheckpoints';
import { parseOptions, EXIT, NoInput, asIo, type Io, type Output } from './io';
import { checkAppendFile, type OutputGuard } from './outputFile';

export const AUDIT_USAGE = `usage:
  waybill audit verify [--checkpoints DIR|FILE] [--public-key FILE]
                                     check that no record was edited, deleted or moved, and that the log
                                     agrees with every signed checkpoint (default: WAYBILL_AUDIT_CHECKPOINT_DIR)
  waybill audit checkpoint [--out FILE]
                                     append the signed head to FILE (default: the checkpoint directory)
  waybill audit waybill <number>     that waybill's records, oldest first
  waybill audit trace <copy code>    where and when a printed copy came from
  waybill audit rows                 every waybill state, relay binding and credential whose row was
                                     changed outside the service (its binding does not hold), and every
                                     station suspension on record whose row is gone; exits 1 if any`;

// Same meaning as the CLI's exit codes; kept here so this module does not import the CLI entry point.

export interface AuditCommandDeps {
  audit: AuditLog;
  findCopyPrint: WaybillStore['findCopyPrint'];
  /** Resolves a piece's child number to its waybill, whose number the records carry. */
  findWaybillByNo?: WaybillStore['findWaybillByNo'];
  /** Checkpoints: where they are kept by default, and the signer (whose public key is also trusted by verify). */
  checkpoints?: CheckpointWriter & { dir: string };
  /** What `checkpoint --out` never appends to (the keys, the database, the settings). */
  outputGuard?: OutputGuard;
  /** `rows`: the bound rows of each kind checked (waybill states, relay bindings, credentials, station suspensions). */
  checkRows?: () => Promise<{ kind: string; check: RowCheck }[]>;
}

export async function auditCommand(args: string[], deps: AuditCommandDeps, output: Output): Promise<number> {
  const io = asIo(output);
  const [sub, ...rest] = args;
  const usage = (message: string): number => {
    io.err(`waybill audit: ${message}\n${AUDIT_USAGE}`);
    return EXIT.usage;
  };
  switch (sub) {
    case 'verify': {
      const { values, positionals } = parseOptions({ args: rest, allowPositionals: true, strict: false, options: { checkpoints: { type: 'string' }, 'public-key': { type: 'string' } } });
      if (positionals.length || Object.values(values).some((v) => typeof v !== 'string')) return usage('verify takes only --checkpoints DIR|FILE and --public-key FILE');
      const claims = loadClaims(values.checkpoints as string | undefined, values['public-key'] as string | undefined, deps, io);
      if (!claims) return EXIT.failure;
      const result = await deps.audit.verify(claims.list);
      if (result.ok) {
        io.out(`audit log intact: ${result.count} records`);
        if (result.head) io.out(`head: record ${result.head.seq}, link ${result.head.hash}, ${result.count} records`);
        io.out(result.keyedFrom !== undefined ? `keyed from record ${result.keyedFrom}; head linked under audit key ${result.keyId}` : 'not keyed: no record is linked under an audit key yet');
        io.out(claims.summary);
        return EXIT.ok;
      }
      io.err(`audit log BROKEN at record ${result.seq} (${result.problem}): ${result.message}; ${result.count} records checked before it`);
      return EXIT.failure;
    }
    case 'checkpoint': {
      const { values, positionals } = parseOptions({ args: rest, allowPositionals: true, strict: false, options: { out: { type: 'string' } } });
      if (positionals.length || Object.values(values).some((v) => typeof v !== 'string')) return usage('checkpoint takes only --out FILE');
      if (!deps.checkpoints) return usage('checkpoints are not available here');
      const own = path.join(deps.checkpoints.dir, CHECKPOINT_FILE_NAME);
      const out = values.out as string | undefined;
      const file = out === undefined ? own : checkAppendFile(out, deps.outputGuard ?? { serviceFiles: [] }, own);
      const head = await writeCheckpoint(deps.checkpoints, file);
      io.out(`checkpoint: record ${head.seq}, link ${head.hash}, ${head.count} records, signed by ${deps.checkpoints.signer!.keyId} → ${file}`);
      return EXIT.ok;
    }
    case 'rows': {
      if (rest.length) return usage('rows takes no arguments');
      if (!deps.checkRows) return usage('rows is not available here');
      // Rows are otherwise found rewritten only when something uses them; this walks them all (ids only).
      let rewritten = 0;
      for (const { kind, check } of await deps.checkRows()) {
        const found = check.rewritten.length + check.more;
        rewritten += found;
        io.out(`${kind}: ${check.checked} checked, ${found} rewritten outside the service`);
        for (const id of check.rewritten) io.out(`  ${id}`);
        if (check.more) io.out(`  … and ${check.more} more`);
      }
      return rewritten ? EXIT.failure : EXIT.ok;
    }
    case 'waybill': {
      if (rest.length !== 1 || !rest[0]) return usage('waybill takes exactly one waybill number');
      const given = rest[0].trim();
      // A child number of a multi-piece waybill lists its master's records: the pieces are one waybill.
      const waybillNo = (await deps.findWaybillByNo?.(given))?.waybillNo ?? given;
      const records = await deps.audit.forWaybill(waybillNo);
      // A number with no records exits 1, like grep with no match, so scripts can tell.
      if (!records.length) {
        io.err(`no audit records for waybill ${waybillNo}`);
        return EXIT.failure;
      }
      for (const r of records) io.out(recordLine(r));
      return EXIT.ok;
    }
    case 'trace': {
      if (rest.length !== 1 || !rest[0]) return usage('trace takes exactly one copy code');
      const code = normaliseCopyCode(rest[0]);
      const print = await deps.findCopyPrint(code);
      if (!print) {
        io.err(`no printed copy has the code ${code}`);
        return EXIT.failure;
      }
      const { job } = print;
      io.out(`copy code:  ${print.copyCode}`);
      io.out(`waybill:    ${print.waybillNo}`);
      io.out(`copy:       ${print.copy}`);
      if (print.pieceNo) io.out(`piece:      ${print.pieceNo} (a child piece of a multi-piece waybill)`);
      io.out(`print:      ${print.printNo === 1 ? '1 (first print)' : `${print.printNo} (reprint)`}`);
      io.out(`print job:  ${job.id}`);
      io.out(`printed at: ${job.createdAt}`);
      io.out(`channel:    ${job.channel}`);
      io.out(`host:       ${job.host}`);
      io.out(`operator:   ${job.operator}`);
      io.out(`template:   ${job.templateId}`);
      io.out(`format:     ${job.format}`);
      const records = deps.audit.forJob ? await deps.audit.forJob(job.id) : undefined;
      if (records === undefined) io.out('audit records of this job: not available from this audit log');
      else if (!records.length) io.out('audit records of this job: none');
      else {
        io.out('audit records of this job:');
        for (const r of records) io.out(`  ${recordLine(r)}`);
      }
      const disagreement = records && traceDisagreement(print, records);
      if (disagreement) {
        io.err(`audit trace: ${disagreement}: the copy_prints or print_jobs rows were changed outside the service; trust the audit log (waybill audit verify)`);
        return EXIT.failure;
      }
      return EXIT.ok;
    }
    case undefined:
      return usage('missing subcommand');
    default:
      return usage(`unknown subcommand "${sub}"`);
  }
}

/**
 * Where the copy's rows disagree with its print record in the audit chain, which names the copy codes
 * it issued (records from before that release name none, and are not held to it).
 */
function traceDisagreement(print: TracedCopy, records: readonly AuditRecord[]): string | undefined {
  const prints = records.filter((r) => (r.action === 'print' || r.action === 'reprint') && typeof r.detail?.codes === 'string');
  if (!prints.length) return undefined;
  const record = prints.find((r) => String(r.detail!.codes).split(' ').includes(print.copyCode));
  if (!record) return `no print record of job ${print.job.id} in the audit log issued copy code ${print.copyCode}`;
  const { job } = print;
  if (record.waybillNo !== print.waybillNo) return `the audit log's record ${record.seq} issued it to waybill ${record.waybillNo ?? '-'}`;
  if (record.actor !== `${job.channel}:${job.operator}@${job.host}` || record.at !== job.createdAt) return `the audit log's record ${record.seq} names ${record.actor} at ${record.at} for this job`;
  if (record.detail!.printNo !== print.printNo) return `the audit log's record ${record.seq} says print ${String(record.detail!.printNo)}`;
  return undefined;
}

/**
 * The signed checkpoints to hold the log to: from `--checkpoints` (which must exist), else from the
 * configured directory when it exists. Signatures are checked against the configured signer's public key
 * and any given with --public-key; a refused line is reported and fails the verification (undefined).
 */
function loadClaims(
  given: string | undefined,
  publicKeyFile: string | undefined,
  deps: AuditCommandDeps,
  io: Io,
): { list: CheckpointClaim[]; summary: string } | undefined {
  // What was named must be there (exit 66), whether or not there are checkpoints to check with it.
  for (const file of [given, publicKeyFile]) if (file !== undefined && !fs.existsSync(file)) throw new NoInput(`audit checkpoints: ${file} does not exist`);
  const trusted: KeyObject[] = deps.checkpoints?.signer ? [deps.checkpoints.signer.publicKey] : [];
  if (publicKeyFile) {
    try {
      trusted.push(...parsePublicKeys(fs.readFileSync(publicKeyFile, 'utf8')));
    } catch {
      io.err(`audit checkpoints: ${publicKeyFile} holds no Ed25519 public key`);
      return undefined;
    }
  }
  const target = given ?? deps.checkpoints?.dir;
  if (!target || !fs.existsSync(target)) return { list: [], summary: `checkpoints: none${target ? ` (${target} does not exist)` : ''}` };
  const lines = readCheckpointLines(target);
  if (!lines.length) return { list: [], summary: `checkpoints: none in ${target}` };
  const checked = checkCheckpointLines(lines, trusted);
  if (!checked.ok) {
    io.err(`audit checkpoint REFUSED at ${checked.where}: ${checked.message}`);
    return undefined;
  }
  const latest = checked.claims.reduce((a, b) => (b.seq >= a.seq ? b : a));
  return { list: checked.claims, summary: `checkpoints: ${checked.claims.length} agree (latest: record ${latest.seq} at ${latest.at}, ${latest.where})` };
}

/** time, actor, action, purpose, outcome, request id, detail (JSON: ids, codes, counts) — tab-separated, '-' for absent fields. */
function recordLine(r: AuditRecord): string {
  return [r.at, r.actor, r.action, r.purpose ?? '-', r.outcome, r.requestId ?? '-', r.detail ? JSON.stringify(r.detail) : '-'].join('\t');
}
