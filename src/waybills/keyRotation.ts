// Master-key rotation without downtime: data keys are re-wrapped under the active master key in small
// batches while the service runs (payloads are never decrypted); an old key may be retired only when
// no record needs it.

import type { WaybillStore } from '../waybills/waybillStore';
import type { KeyRing } from '../vault/sealing';
import { rewrap } from '../vault/sealing';

/** Other data sealed under the master key (webhook secrets): re-wrapped and counted with the waybills'. */
export interface SealedHolder {
  /** What it holds, for the blocker message: "webhook secret(s)". */
  what: string;
  rewrap(ring: KeyRing, batch: number): Promise<number>;
  countByKey(): Promise<Record<string, number>>;
}

export async function rewrapAll(store: WaybillStore, ring: KeyRing, batch = 500, others: readonly SealedHolder[] = []): Promise<number> {
  let done = 0;
  for (const o of others) done += await o.rewrap(ring, batch);
  for (;;) {
    const pending = await store.sealedNotUnder(ring.activeKeyId, batch);
    for (const w of pending) await store.replaceSealed(w.id, rewrap(w.sealed!, ring, w.id));
    done += pending.length;
    if (pending.length < batch) return done;
  }
}

/** Why a key may not be retired yet, or undefined when it may. */
export async function retireBlocker(store: WaybillStore, ring: KeyRing, keyId: string, others: readonly SealedHolder[] = []): Promise<string | undefined> {
  if (keyId === ring.activeKeyId) return `${keyId} is the active key`;
  const n = (await store.countSealedByKey())[keyId] ?? 0;
  const held = [...(n > 0 ? [`${n} sealed record(s)`] : [])];
  for (const o of others) {
    const m = (await o.countByKey())[keyId] ?? 0;
    if (m > 0) held.push(`${m} ${o.what}`);
  }
  return held.length ? `${held.join(' and ')} still use ${keyId}; run: waybill keys rotate` : undefined;
}
