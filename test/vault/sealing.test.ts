import { randomBytes } from 'node:crypto';
import { seal, unseal, type KeyRing } from '../../src/vault/sealing';
import { hashToken, isWellFormedToken, newToken, tokenUrl } from '../../src/vault/qrToken';

const ring: KeyRing = { activeKeyId: 'k1', keys: new Map([['k1', randomBytes(32)]]) };
const secret = Buffer.from(JSON.stringify({ name: '欧阳娜娜', phone: '+8613957246813' }));

describe('sealing', () => {
  it('round-trips and records the master key id', () => {
    const box = seal(secret, ring, 'waybill-1');
    expect(box.keyId).toBe('k1');
    expect(unseal(box, ring, 'waybill-1').equals(secret)).toBe(true);
  });

  it('leaves no plaintext in the sealed bytes', () => {
    const box = seal(secret, ring, 'waybill-1');
    const bytes = Buffer.concat([box.wrappedKey, box.ciphertext]);
    expect(bytes.includes(Buffer.from('欧阳'))).toBe(false);
    expect(bytes.includes(Buffer.from('13957246813'))).toBe(false);
  });

  it('refuses a box moved to another waybill or altered by one bit', () => {
    const box = seal(secret, ring, 'waybill-1');
    expect(() => unseal(box, ring, 'waybill-2')).toThrow();
    const tampered = Buffer.from(box.ciphertext);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => unseal({ ...box, ciphertext: tampered }, ring, 'waybill-1')).toThrow();
  });

  it('opens data sealed under an older master key while a newer one is active', () => {
    const box = seal(secret, ring, 'w');
    const rotated: KeyRing = { activeKeyId: 'k2', keys: new Map([...ring.keys, ['k2', randomBytes(32)]]) };
    expect(unseal(box, rotated, 'w').equals(secret)).toBe(true);
    expect(seal(secret, rotated, 'w').keyId).toBe('k2');
  });
});

describe('QR tokens', () => {
  it('carry ≥ 128 random bits behind a version character', () => {
    const tokens = new Set(Array.from({ length: 1000 }, newToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) {
      expect(isWellFormedToken(t)).toBe(true);
      expect(Buffer.from(t.slice(1), 'base64url').length).toBeGreaterThanOrEqual(16);
    }
  });

  it('are stored as a keyed hash, which depends on the key', () => {
    const t = newToken();
    const h = hashToken(t, Buffer.alloc(32, 1));
    expect(h).not.toContain(t);
    expect(hashToken(t, Buffer.alloc(32, 2))).not.toBe(h);
  });

  it('live in a versioned URL under the scan base URL', () => {
    expect(tokenUrl('https://scan.example.com/', '1abc')).toBe('https://scan.example.com/w/1abc');
    expect(isWellFormedToken('1abc')).toBe(false);
    expect(isWellFormedToken("1'; DROP TABLE waybills;--aa")).toBe(false);
  });
});
