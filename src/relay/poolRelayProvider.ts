// The built-in relay provider: our own pool of virtual numbers with random extensions. The real number
// and its extension, if any, are sealed per binding (so after-sales calls outlive the address, which is
// shredded sooner), callers are matched by keyed hashes, and an ended binding's number + extension sits
// in quarantine before reuse.

import type { Lang } from '../privacy/lang';
import { z } from 'zod';
import { recordId } from '../ids';
import type { CourierStore } from '../couriers/courierStore';
import { unsealWithKeys, type Keys } from '../vault/keyFile';
import { seal } from '../vault/sealing';
import { phoneHash } from './phoneHash';
import { formatRelay, type RelayNumber } from './relayPool';
import type { BindOutcome, BindRequest, RelayProvider, ResolveDecision } from './relayProvider';
import type { CallerPolicy, NewRelayBinding, RelayBinding, RelayParty, RelayStore, UnstoredLease } from './relayStore';

export interface PoolRelaySettings {
  pool: RelayNumber[];
  quarantineDays: number;
  callerPolicy: CallerPolicy;
  callLimitSeconds: number;
  /** The share of the pool's slots (0–1] one API client may hold; 1 (the default here) is no limit. */
  clientShare?: number;
}

/** How long a process trusts its count of a client's held slots (adding what it binds meanwhile). */
const CLIENT_COUNT_MS = 1000;

/** Announcement ids the PBX plays on a rejection; stable, so dial plans can map them to audio files. */
const ANNOUNCEMENTS = { unknown: 'relay-unknown-number', expired: 'relay-expired', caller_not_allowed: 'relay-caller-not-allowed' } as const;

/** What a binding seals: the real number and, when the party has one, its extension. */
const SealedTarget = z
  .object({ phone: z.string().regex(/^\+[1-9]\d{2,14}$/), extension: z.string().regex(/^\d{1,6}$/).optional() })
  .strict();
type SealedTarget = z.infer<typeof SealedTarget>;

function sealTarget(target: SealedTarget): Buffer {
  return Buffer.from(JSON.stringify(SealedTarget.parse(target)));
}

/** Opens either form: JSON, or the bare E.164 that bindings sealed before extensions were kept hold. */
function openTarget(plain: string): SealedTarget {
  if (plain.startsWith('+')) return { phone: plain };
  let parsed: ReturnType<typeof SealedTarget.safeParse> | undefined;
  try {
    parsed = SealedTarget.safeParse(JSON.parse(plain));
  } catch {
    // JSON.parse quotes the text it chokes on; say nothing of it.
  }
  if (!parsed?.success) throw new Error('a relay binding holds an unreadable target');
  return parsed.data;
}

export class PoolRelayProvider implements RelayProvider {
  private readonly capacity: number;
  /** Per client: slots held as last counted, plus those bound here since; recounted once a second. */
  private readonly clientHeld = new Map<string, { held: number; countedAt: number }>();

  constructor(
    private readonly store: RelayStore,
    private readonly couriers: CourierStore,
    private readonly keys: Keys,
    private readonly settings: PoolRelaySettings,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.capacity = settings.pool.reduce((sum, n) => sum + 10 ** n.extLength, 0);
  }

  /** Keyed hash of a phone number: lets us compare callers without keeping their numbers. */
  phoneHash(e164: string): string {
    return phoneHash(e164, this.keys.tokenKey);
  }

  async bind(reqs: BindRequest[], lang: Lang, lease?: UnstoredLease): Promise<BindOutcome[]> {
    if (this.settings.pool.length === 0) return reqs.map(() => undefined);
    const share = this.settings.clientShare ?? 1;
    const outcomes: BindOutcome[] = reqs.map(() => undefined);
    const asked: { index: number; held?: { held: number }; binding: NewRelayBinding }[] = [];
    for (const [index, req] of reqs.entries()) {
      const held = req.clientId && share < 1 ? await this.clientHolds(req.clientId) : undefined;
      if (held && held.held >= share * this.capacity) {
        outcomes[index] = 'client over share';
        continue;
      }
      // Counted before the claim, so the next request of this call sees it; given back if none is made.
      if (held) held.held++;
      const id = recordId();
      asked.push({
        index,
        ...(held ? { held } : {}),
        binding: {
          id,
          waybillId: req.waybillId,
          party: req.party,
          callerPolicy: this.settings.callerPolicy,
          partyPhoneHashes: req.partyPhones.map((p) => this.phoneHash(p)),
          sealed: seal(sealTarget({ phone: req.realPhone, ...(req.realExtension ? { extension: req.realExtension } : {}) }), this.keys.ring, `relay:${id}`),
          validFrom: req.validFrom.toISOString(),
          expiresAt: req.expiresAt.toISOString(),
          quarantineDays: this.settings.quarantineDays,
          ...(req.leaseId ? { leaseId: req.leaseId } : {}),
          ...(req.clientId ? { clientId: req.clientId } : {}),
        },
      });
    }
    let bindings: (RelayBinding | undefined)[] = [];
    try {
      if (asked.length) bindings = await this.store.allocateEach(asked.map((a) => a.binding), this.settings.pool, this.now(), lease);
    } finally {
      // A request that got no binding (none free, or the store failed) gives its count back.
      for (const [i, { held }] of asked.entries()) if (held && !bindings[i]) held.held--;
    }
    for (const [i, { index }] of asked.entries()) {
      const binding = bindings[i];
      if (binding) outcomes[index] = { bindingId: binding.id, printed: formatRelay(binding.number, binding.ext, lang) };
    }
    return outcomes;
  }

  /**
   * The client's held slots. Counting on every binding would cost a batch a count per waybill, so the
   * count is kept a second (wall time) and what this process binds is added; instances may overshoot
   * the share by what they bind in that second.
   */
  private async clientHolds(clientId: string): Promise<{ held: number; countedAt: number }> {
    const cached = this.clientHeld.get(clientId);
    if (cached && performance.now() - cached.countedAt < CLIENT_COUNT_MS) return cached;
    const fresh = { held: await this.store.heldByClient(clientId, this.now()), countedAt: performance.now() };
    this.clientHeld.set(clientId, fresh);
    return fresh;
  }

  async printedFor(waybillId: string, lang: Lang, now: Date): Promise<Partial<Record<RelayParty, string>>> {
    const live = (await this.store.forWaybill(waybillId)).filter((b) => !b.endedAt && b.sealed && !b.rewritten && b.expiresAt > now.toISOString());
    return Object.fromEntries(live.map((b) => [b.party, formatRelay(b.number, b.ext, lang)]));
  }

  async release(bindingIds: string[], out: readonly string[] = []): Promise<void> {
    const gone = new Set(out);
    await this.store.release(bindingIds.filter((id) => !gone.has(id)));
    await this.store.retire(out, this.now(), this.settings.quarantineDays);
  }

  reschedule(waybillId: string, expiresAt: Date): Promise<void> {
    return this.store.setExpiry(waybillId, expiresAt.toISOString(), this.settings.quarantineDays, this.now());
  }

  extend(waybillId: string, expiresAt: Date): Promise<void> {
    return this.store.extend(waybillId, expiresAt.toISOString(), this.settings.quarantineDays, this.now());
  }

  end(waybillId: string, at: Date): Promise<void> {
    return this.store.end(waybillId, at.toISOString(), this.settings.quarantineDays);
  }

  async resolve(call: { to: string; ext: string; from?: string }, now: Date): Promise<ResolveDecision> {
    const found = await this.store.lookup(call.to, call.ext, now);
    if (!found) return { action: 'reject', reason: 'unknown', announcement: ANNOUNCEMENTS.unknown };
    const { binding, state } = found;
    // A binding whose print never saved its waybill is no number of ours yet: say nothing of it.
    if (state === 'provisional') return { action: 'reject', reason: 'unknown', announcement: ANNOUNCEMENTS.unknown };
    // Nor of one whose terms someone rewrote in the database (the caller is told of an unknown number).
    if (state === 'rewritten') return { action: 'reject', reason: 'unknown', announcement: ANNOUNCEMENTS.unknown, bindingId: binding.id, waybillId: binding.waybillId, tampered: true };
    if (state !== 'live' || !binding.sealed)
      return { action: 'reject', reason: 'expired', announcement: ANNOUNCEMENTS.expired, bindingId: binding.id, waybillId: binding.waybillId };
    if (!(await this.callerAllowed(binding.callerPolicy, binding.partyPhoneHashes, call.from)))
      return { action: 'reject', reason: 'caller_not_allowed', announcement: ANNOUNCEMENTS.caller_not_allowed, bindingId: binding.id, waybillId: binding.waybillId };
    const target = openTarget(unsealWithKeys(this.keys, binding.sealed, `relay:${binding.id}`).toString('utf8'));
    return {
      action: 'bridge',
      bindingId: binding.id,
      waybillId: binding.waybillId,
      target: target.phone,
      ...(target.extension ? { targetExtension: target.extension } : {}),
      timeLimitSeconds: this.settings.callLimitSeconds,
    };
  }

  private async callerAllowed(policy: CallerPolicy, partyHashes: string[], from: string | undefined): Promise<boolean> {
    if (policy === 'anyone') return true;
    if (!from) return false; // withheld caller id cannot prove who it is
    const hash = this.phoneHash(from);
    return policy === 'parties' ? partyHashes.includes(hash) : this.couriers.isCourierPhone(hash);
  }
}
