// Per-copy privacy policies: which fields each copy may show and how masked. Templates may
// tighten a copy's policy, never loosen it; a policy below the GB/T 41833-2022 floor is refused when the
// template loads. Every phone shown is then masked to at most its last 4 digits, so no two sections on one
// piece of paper show different digits of a phone, and the privacy view knows which digits are hidden.

import { z } from 'zod';
import { phoneRuleFloorViolation } from './maskPhone';

export const CopyKind = z.enum(['courier', 'recipient', 'office', 'sender']);
export type CopyKind = z.infer<typeof CopyKind>;

export const PhonePolicy = z
  .object({
    /** relay: the virtual number + extension (falls back to masked + carrier service number). */
    show: z.enum(['relay', 'masked', 'none']),
    keepFirst: z.number().int().default(0),
    keepLast: z.number().int().default(4),
  })
  .strict();

export const PartyPolicy = z
  .object({
    name: z.enum(['surname', 'hidden']),
    phone: PhonePolicy,
    /** routing: province/city/district (or region/city/postal code); city: without the district. */
    area: z.enum(['routing', 'city', 'none']),
  })
  .strict();
export type PartyPolicy = z.infer<typeof PartyPolicy>;

export const CopyPolicy = z
  .object({
    qr: z.boolean(),
    sender: PartyPolicy,
    recipient: PartyPolicy,
  })
  .strict();
export type CopyPolicy = z.infer<typeof CopyPolicy>;

const party = (phone: PartyPolicy['phone']['show']): PartyPolicy => ({
  name: 'surname',
  phone: { show: phone, keepFirst: 0, keepLast: 4 },
  area: 'routing',
});

export const DEFAULT_POLICIES: Record<CopyKind, CopyPolicy> = {
  courier: { qr: true, sender: party('masked'), recipient: party('relay') },
  recipient: { qr: false, sender: party('masked'), recipient: party('masked') },
  office: { qr: false, sender: party('none'), recipient: party('none') },
  sender: { qr: false, sender: party('masked'), recipient: party('masked') },
};

/** Checks a policy against the national floor; returns problems with their path inside the policy. */
export function policyFloorViolations(policy: CopyPolicy): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  for (const who of ['sender', 'recipient'] as const) {
    const phone = policy[who].phone;
    if (phone.show === 'none') continue;
    const violation = phoneRuleFloorViolation(phone);
    if (violation) problems.push({ path: [who, 'phone'], message: violation });
  }
  return problems;
}

/** From least to most shown: a policy may move a copy's default down these, never up. */
const SHOWN = {
  name: ['hidden', 'surname'],
  phone: ['none', 'relay', 'masked'],
  area: ['none', 'city', 'routing'],
} as const;

/**
 * What a template's policy shows beyond the copy's default (DEFAULT_POLICIES): a QR, more of a name, a
 * phone or an area, or more digits of a masked phone. Problems with their path inside the policy.
 */
export function policyLoosenings(copy: CopyKind, policy: CopyPolicy): { path: string[]; message: string }[] {
  const base = DEFAULT_POLICIES[copy];
  const problems: { path: string[]; message: string }[] = [];
  const loosens = (path: string[], what: string) => problems.push({ path, message: `shows ${what} beyond the ${copy} copy's default; a template may show less, never more` });
  if (policy.qr && !base.qr) loosens(['qr'], 'a QR code');
  for (const who of ['sender', 'recipient'] as const) {
    const [p, b] = [policy[who], base[who]];
    if (SHOWN.name.indexOf(p.name) > SHOWN.name.indexOf(b.name)) loosens([who, 'name'], 'more of the name');
    if (SHOWN.area.indexOf(p.area) > SHOWN.area.indexOf(b.area)) loosens([who, 'area'], 'more of the address');
    if (SHOWN.phone.indexOf(p.phone.show) > SHOWN.phone.indexOf(b.phone.show)) loosens([who, 'phone', 'show'], 'more of the phone');
    else if (p.phone.show !== 'none')
      for (const key of ['keepFirst', 'keepLast'] as const) if (p.phone[key] > b.phone[key]) loosens([who, 'phone', key], 'more digits of the phone');
  }
  return problems;
}
