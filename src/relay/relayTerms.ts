// What binds a relay binding's row to the service that made it (as src/waybills/lifeBinding.ts does a
// waybill's state): an HMAC under the token key, which the database never holds.

import { bindingHolds, rowBinding } from '../auth/credentials';

/**
 * A relay binding's terms, bound when it is made (they never change): which waybill and party its number
 * and extension reach, and who may call through it. A database writer who lets anyone call a buyer
 * (`caller_policy`), adds their own phone to the parties, or moves a number to another waybill makes a
 * binding that reaches nobody. Its expiry is not among them: it moves with the waybill's life, and a call
 * also needs the waybill's bound state to be live (relayRepository.ts).
 */
export function relayTermsBinding(
  key: Buffer | undefined,
  b: { id: string; number: string; ext: string; waybillId: string; party: string; callerPolicy: string; partyPhoneHashes: readonly string[]; validFrom: string },
): Buffer {
  return rowBinding(key, 'relay-terms', [b.id, b.number, b.ext, b.waybillId, b.party, b.callerPolicy, b.partyPhoneHashes, b.validFrom]);
}

/** Whether a row's stored terms binding is the one its terms call for (constant time). */
export function relayTermsHold(key: Buffer | undefined, b: Parameters<typeof relayTermsBinding>[1], stored: Buffer | null | undefined): boolean {
  return bindingHolds(stored, relayTermsBinding(key, b));
}
