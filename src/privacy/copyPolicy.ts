// Per-copy privacy policies: which fields each copy may show and how masked. Templates may
// tighten a copy's policy; a policy below the GB/T 41833-2022 floor is refused when the template loads.

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
