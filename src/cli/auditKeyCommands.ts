// `waybill keys rotate-audit [NEW-ID]` and `waybill keys audit-public [--out FILE]`: the audit chain's key
// (a rotation record starts the new key's chain at once) and the public key an investigator needs to
// check checkpoint signatures. Output: key ids and the public key only, never a secret.

import { KEY_ID, KEY_ID_RULE } from '../config/config';
import { addAuditKey } from '../vault/keyFile';
import type { Services } from '../wiring';
import { parseOptions, EXIT, type Io } from './io';
import { checkOutputFile, outputGuard, writeOutputFile } from './outputFile';


export async function auditKeyCommand(
  args: string[],
  s: Services,
  io: Io,
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'audit-public') {
    const { values, positionals } = parseOptions({ args: rest, allowPositionals: true, options: { out: { type: 'string' } } });
    if (positionals.length) return usage(io);
    const signer = s.keys.auditSigner;
    if (!signer) {
      io.err('no audit signing key: set WAYBILL_AUDIT_SIGNING_KEY (or use the generated key file)');
      return EXIT.failure;
    }
    const pem = signer.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    // Checked and written as a print's output is (outputFile.ts): never over the key file, the database or
    // another file of the service. The data directory itself may hold it (a public key, not order data).
    if (values.out) {
      const target = checkOutputFile(values.out, outputGuard(s.config));
      await writeOutputFile(target, io, (stream) => new Promise<void>((resolve, reject) => stream.once('error', reject).end(pem, resolve)));
    }
    io.err(`audit checkpoint signing key ${signer.keyId}${values.out ? ` (written to ${values.out})` : ''}`);
    io.out(pem.trimEnd()); // the public key is the output: `waybill keys audit-public > audit-public.pem`
    return EXIT.ok;
  }
  // rotate-audit
  if (rest.length > 1) return usage(io);
  const id = rest[0];
  if (id !== undefined && !KEY_ID.test(id)) {
    io.err(`waybill keys: an audit key id ${KEY_ID_RULE}`);
    return EXIT.usage;
  }
  if (!s.keys.audit) {
    io.err('no audit key is configured: set WAYBILL_AUDIT_KEY and WAYBILL_AUDIT_KEY_ID');
    return EXIT.failure;
  }
  const fromEnv = Boolean(s.config.auditKey);
  if (fromEnv) {
    // The environment holds the keys: the operator sets the new one there; this starts its chain now.
    if (id !== undefined && id !== s.config.auditKeyId) {
      io.err(
        `the audit key comes from the environment: set WAYBILL_AUDIT_KEY_ID=${id} and WAYBILL_AUDIT_KEY to the new key, ` +
          'move the old one into WAYBILL_PREVIOUS_AUDIT_KEYS, then run this again',
      );
      return EXIT.failure;
    }
  } else {
    addAuditKey(s.config, id ?? `a${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`);
    s.keys.refresh?.();
  }
  const record = await s.audit.startKey(new Date().toISOString());
  io.err(
    record
      ? `active audit key ${s.keys.audit.activeKeyId}; record ${record.seq} starts its chain`
      : `active audit key ${s.keys.audit.activeKeyId}; the chain already uses it`,
  );
  return EXIT.ok;
}

function usage(io: Io): number {
  io.err('usage: waybill keys rotate-audit [NEW-ID] | keys audit-public [--out FILE]');
  return EXIT.usage;
}
