// `waybill audit …`: verify the chain, list a waybill's records, trace a copy code from a leaked photo
// back to its print job. Output holds ids, times, hosts and staff names only, never personal data.

import type { AuditLog } from '../audit/auditLog';
import type { AuditRecord } from '../audit/auditRecord';
import { normaliseCopyCode } from '../printing/copyCode';
import type { WaybillStore } from '../waybills/waybillStore';

export const AUDIT_USAGE = `usage:
  waybill audit verify               check that no record was edited, deleted or moved
  waybill audit waybill <number>     that waybill's records, oldest first
  waybill audit trace <copy code>    where and when a printed copy came from`;

// Same meaning as the CLI's exit codes; kept here so this module does not import the CLI entry point.
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export interface AuditCommandDeps {
  audit: AuditLog;
  findCopyPrint: WaybillStore['findCopyPrint'];
}

export async function auditCommand(args: string[], deps: AuditCommandDeps, log: (line: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const usage = (message: string): number => {
    log(`waybill audit: ${message}\n${AUDIT_USAGE}`);
    return EXIT.usage;
  };
  switch (sub) {
    case 'verify': {
      if (rest.length) return usage('verify takes no arguments');
      const result = await deps.audit.verify();
      if (result.ok) {
        log(`audit log intact: ${result.count} records`);
        return EXIT.ok;
      }
      log(`audit log BROKEN at record ${result.seq} (${result.problem}): ${result.message}; ${result.count} records checked before it`);
      return EXIT.failure;
    }
    case 'waybill': {
      if (rest.length !== 1 || !rest[0]) return usage('waybill takes exactly one waybill number');
      const waybillNo = rest[0].trim();
      const records = await deps.audit.forWaybill(waybillNo);
      // A number with no records exits 1, like grep with no match, so scripts can tell.
      if (!records.length) {
        log(`no audit records for waybill ${waybillNo}`);
        return EXIT.failure;
      }
      for (const r of records) log(recordLine(r));
      return EXIT.ok;
    }
    case 'trace': {
      if (rest.length !== 1 || !rest[0]) return usage('trace takes exactly one copy code');
      const code = normaliseCopyCode(rest[0]);
      const print = await deps.findCopyPrint(code);
      if (!print) {
        log(`no printed copy has the code ${code}`);
        return EXIT.failure;
      }
      const { job } = print;
      log(`copy code:  ${print.copyCode}`);
      log(`copy:       ${print.copy}`);
      log(`print:      ${print.printNo === 1 ? '1 (first print)' : `${print.printNo} (reprint)`}`);
      log(`print job:  ${job.id}`);
      log(`printed at: ${job.createdAt}`);
      log(`channel:    ${job.channel}`);
      log(`host:       ${job.host}`);
      log(`operator:   ${job.operator}`);
      log(`template:   ${job.templateId}`);
      log(`format:     ${job.format}`);
      const records = deps.audit.forJob ? await deps.audit.forJob(job.id) : undefined;
      if (records === undefined) log('audit records of this job: not available from this audit log');
      else if (!records.length) log('audit records of this job: none');
      else {
        log('audit records of this job:');
        for (const r of records) log(`  ${recordLine(r)}`);
      }
      return EXIT.ok;
    }
    case undefined:
      return usage('missing subcommand');
    default:
      return usage(`unknown subcommand "${sub}"`);
  }
}

/** time, actor, action, purpose, outcome, request id — tab-separated, '-' for absent fields. */
function recordLine(r: AuditRecord): string {
  return [r.at, r.actor, r.action, r.purpose ?? '-', r.outcome, r.requestId ?? '-'].join('\t');
}
