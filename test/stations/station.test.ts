// The station rules, pure: pickup codes, the station day, last four digits, the verify request's shape.

import { lastFour, pickupCode, PICKUP_CODE, stationCustodian, stationDay, VerifyRequest } from '../../src/stations/station';

describe('parcel station rules', () => {
  it('writes shelf-tier-sequence codes, defaults shelf and tier to 1, and refuses a sequence past 9999', () => {
    expect(pickupCode({ shelf: 3, tier: 2 }, 147)).toBe('3-2-0147');
    expect(pickupCode({}, 1)).toBe('1-1-0001');
    expect(pickupCode({ shelf: 99, tier: 9 }, 9999)).toMatch(PICKUP_CODE);
    expect(() => pickupCode({}, 10_000)).toThrow(RangeError);
    expect(() => pickupCode({}, 0)).toThrow(RangeError);
  });

  it('counts days in Beijing time: 16:00 UTC is already the next day', () => {
    expect(stationDay(new Date('2026-05-05T15:59:59Z'))).toBe('2026-05-05');
    expect(stationDay(new Date('2026-05-05T16:00:00Z'))).toBe('2026-05-06');
  });

  it('takes the last four digits of a phone, and names a station custodian no courier id can equal', () => {
    expect(lastFour('+8613962584017')).toBe('4017');
    expect(lastFour('+86 571 8888 6666')).toBe('6666');
    expect(stationCustodian('hz-1')).toBe('station:hz-1');
    expect(stationCustodian('hz-1')).not.toMatch(/^[a-z2-7]{10}$/);
  });

  it('wants exactly one of waybillNo and pickupCode, and four digits; issues name paths, never the value', () => {
    expect(VerifyRequest.safeParse({ waybillNo: '73512604918372', phoneLast4: '4017' }).success).toBe(true);
    expect(VerifyRequest.safeParse({ pickupCode: '3-2-0147', phoneLast4: '4017' }).success).toBe(true);
    expect(VerifyRequest.safeParse({ phoneLast4: '4017' }).success).toBe(false);
    expect(VerifyRequest.safeParse({ waybillNo: '73512604918372', pickupCode: '3-2-0147', phoneLast4: '4017' }).success).toBe(false);
    const bad = VerifyRequest.safeParse({ waybillNo: '73512604918372', phoneLast4: '40a7' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues.map((i) => i.message))).not.toContain('40a7');
  });
});
