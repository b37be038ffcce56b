import { randomBytes } from '../../src/vault/randomPool';

describe('pooled random bytes', () => {
  it('gives the size asked for, small and large, across pool refills', () => {
    for (const size of [1, 5, 12, 16, 32, 64, 65, 4096]) expect(randomBytes(size)).toHaveLength(size);
    // 16-byte draws well past several 4 kB pools: no two alike (a repeat would mean bytes handed out twice).
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(randomBytes(16).toString('hex'));
    expect(seen.size).toBe(2000);
  });

  it('never hands out the wiped pool: every byte value turns up, zero no more than chance', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 8192; i++) for (const b of randomBytes(32)) counts[b]!++;
    // 262,144 bytes: 1,024 of each value expected; a wiped (zeroed) slice handed out would add thousands of zeros.
    expect(Math.min(...counts)).toBeGreaterThan(700);
    expect(counts[0]).toBeLessThan(1400);
  });

  it('returns a copy the caller may wipe without touching later draws', () => {
    const a = randomBytes(32);
    a.fill(0);
    expect(randomBytes(32).equals(Buffer.alloc(32))).toBe(false);
  });
});
