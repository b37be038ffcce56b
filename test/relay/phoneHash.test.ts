// Phone hashes are stored (bindings' party phones, couriers' work phones): their output must never change.

import { phoneHash } from '../../src/relay/phoneHash';
import { hashToken } from '../../src/vault/qrToken';

describe('phone hash', () => {
  const key = Buffer.alloc(32, 1);

  it('gives the output stored hashes were made with', () => {
    expect(phoneHash('+8613800138000', key)).toBe('IIbyVnbM0CT3GOEtl7PG0DF4paEf5qxaJoEZUJOEyzQ');
    // What the relay used before it had its own function: the QR token hash of "phone:<E.164>".
    expect(phoneHash('+14155550100', key)).toBe(hashToken('phone:+14155550100', key));
  });

  it('depends on the key and the number', () => {
    expect(phoneHash('+8613800138000', Buffer.alloc(32, 2))).not.toBe(phoneHash('+8613800138000', key));
    expect(phoneHash('+8613800138001', key)).not.toBe(phoneHash('+8613800138000', key));
  });
});
