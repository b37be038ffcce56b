// `waybill event`, `waybill purge` and `waybill keys`: the waybill's life and the master keys, from the shell.

import { WaybillError } from '../errors';
import { KEY_ID, KEY_ID_RULE } from '../config/config';
import { issuesFromZod } from '../validation/zodIssues';
import { addMasterKey, removeMasterKey } from '../vault/keyFile';
import { auditKeyCommand } from './auditKeyCommands';
import { rewrapAll, retireBlocker } from '../waybills/keyRotation';
import { WaybillEvent, recordWaybillEvent } from '../waybills/lifecycle';
import { sealedWebhookSecrets } from '../webhooks/webhooks';
import { relayDeps, sweepExpired, type Services } from '../wiring';
import { apiKeyCommand, cliOperator } from './apiKeyCommands';
import { parseOptions, EXIT, asIo, printList, type Io, type Output } from './io';

const EVENT_USAGE = `usage: waybill event <waybill number> picked_up|delivered|returned|cancelled|after_sales
       waybill event <waybill number> --correct STATUS --reason TEXT   (a correction outside the state machine)
       waybill assign <waybill number> --outlet OUTLET   (its couriers may pick it up without a pickup scan)`;

/** `waybill event NO TYPE`, `waybill event NO --correct STATUS --reason TEXT`: the shell acts as an admin. */
export async function eventCommand(args: string[], s: Services, io: Io): Promise<number> {
  const { values, positionals } = parseOptions({ args, allowPositionals: true, options: { correct: { type: 'string' }, reason: { type: 'string' } } });
  const [waybillNo, type] = positionals;
  const body = values.correct !== undefined ? { type: 'correction', status: values.correct, reason: values.reason } : { type };
  return recordFromShell(waybillNo && positionals.length === (values.correct !== undefined ? 1 : 2) ? waybillNo : undefined, body, s, io);
}

/** `waybill assign NO --outlet OUTLET`. */
export async function assignCommand(args: string[], s: Services, io: Io): Promise<number> {
  const { values, positionals } = parseOptions({ args, allowPositionals: true, options: { outlet: { type: 'string' } } });
  return recordFromShell(positionals.length === 1 ? positionals[0] : undefined, { type: 'assigned', outlet: values.outlet }, s, io);
}

async function recordFromShell(waybillNo: string | undefined, body: Record<string, unknown>, s: Services, io: Io): Promise<number> {
  // A hand-over is the holding courier's own act, not the shell's.
  if (!waybillNo || body.type === undefined || body.type === 'handed_over') {
    io.err(EVENT_USAGE);
    return EXIT.usage;
  }
  const event = WaybillEvent.safeParse(body);
  if (!event.success) throw new WaybillError('invalid_input', 'the event is invalid', issuesFromZod(event.error));
  const r = await recordWaybillEvent(
    { store: s.store, audit: s.audit, retentionGraceDays: s.config.retentionGraceDays, relay: relayDeps(s), now: () => new Date() },
    { waybillNo, event: event.data, actor: cliOperator() },
  );
  io.err(`${r.waybillNo}: ${r.status}; sealed data will be shredded after ${r.purgeAfter}`);
  return EXIT.ok;
}

export async function purgeCommand(s: Services, output: Output): Promise<number> {
  const io = asIo(output);
  const now = new Date();
  const swept = await sweepExpired(s, () => now);
  io.err(
    `shredded the sealed data of ${swept.shredded} waybill(s), the real numbers of ${swept.relayBindingsExpired} expired relay binding(s) and ${swept.printJobsExpired} undelivered print job(s); made ${swept.relayChangesMade} relay change(s) that events still owed; failed ${swept.printJobsAbandoned} print job(s) whose sender stopped mid-send; deleted ${swept.webhookEventsDeleted} finished webhook event(s), ${swept.attemptsForgotten} old scan, event and verify attempt(s), ${swept.callReceiptsForgotten} old call receipt(s), ${swept.telephonyAnswersForgotten} old telephony answer(s) and ${swept.alertsForgotten} old alert(s)`,
  );
  return EXIT.ok;
}

export async function keysCommand(args: string[], s: Services, io: Io): Promise<number> {
  const [sub, id] = args;
  if (sub === 'create' || sub === 'list' || sub === 'revoke') return apiKeyCommand(args, s, io);
  if (sub === 'rotate-audit' || sub === 'audit-public') return auditKeyCommand(args, s, io);
  const fileMode = !s.config.masterKey;
  // A key id is named in settings (WAYBILL_MASTER_KEY_ID, WAYBILL_PREVIOUS_MASTER_KEYS) and in listings: it
  // must be one they can name.
  if ((sub === 'rotate' || sub === 'retire') && ((id !== undefined && !KEY_ID.test(id)) || args.length > 2)) {
    io.err(`waybill keys: a master key id ${KEY_ID_RULE}; usage: keys rotate [NEW-ID] | keys retire ID`);
    return EXIT.usage;
  }
  if (sub === 'rotate') {
    if (fileMode) {
      const newId = id ?? `k${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
      addMasterKey(s.config, newId);
      s.keys.refresh?.();
    }
    const n = await rewrapAll(s.store, s.keys.ring, 500, [sealedWebhookSecrets(s.webhooks)]);
    await s.audit.append({ at: new Date().toISOString(), actor: cliOperator(), action: 'key_rotate', outcome: 'ok', detail: { activeKey: s.keys.ring.activeKeyId, rewrapped: n } });
    io.err(`active master key ${s.keys.ring.activeKeyId}; re-wrapped ${n} data key(s)`);
    return EXIT.ok;
  }
  if (sub === 'retire' && id) {
    if (!s.keys.ring.keys.has(id)) {
      io.err(`waybill keys: there is no master key ${id}`);
      return EXIT.failure;
    }
    const blocker = await retireBlocker(s.store, s.keys.ring, id, [sealedWebhookSecrets(s.webhooks)]);
    if (blocker) {
      io.err(`cannot retire ${id}: ${blocker}`);
      return EXIT.failure;
    }
    if (fileMode) removeMasterKey(s.config, id);
    io.err(fileMode ? `removed master key ${id} from the key file` : `no record uses ${id}; remove it from WAYBILL_PREVIOUS_MASTER_KEYS`);
    return EXIT.ok;
  }
  if (sub === 'status') {
    io.err(`active master key ${s.keys.ring.activeKeyId}`);
    const rows = Object.entries(await s.store.countSealedByKey()).map(([key, sealed]) => ({ key, sealed, active: key === s.keys.ring.activeKeyId }));
    printList(io, rows, ['key', 'sealed', 'active'], args.includes('--json'));
    return EXIT.ok;
  }
  io.err(
    'usage: waybill keys create|list|revoke … (API credentials) | keys rotate [NEW-ID] | keys retire ID | keys status (master keys)' +
      ' | keys rotate-audit [NEW-ID] | keys audit-public [--out FILE] (audit chain key, checkpoint public key)',
  );
  return EXIT.usage;
}
