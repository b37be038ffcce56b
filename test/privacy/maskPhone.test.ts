// Tests for maskPhone and the template floor check: exact printed forms per country, and property
// checks that the GB/T 41833-2022 floor (≥ 6 and ≥ half of the national digits hidden) always holds.

import { isValidPhoneNumber, parsePhoneNumber } from 'libphonenumber-js/max';
import { DEFAULT_PHONE_MASK, maskPhone, phoneRuleFloorViolation, type PhoneMaskRule } from '../../src/privacy/maskPhone';

/** The national part of the printed text: Chinese numbers print bare, others after "+CC ". */
function printedNational(masked: string): string {
  return masked.replace(/^\+\d+ /, '');
}

/** The floor every masked number must meet, whatever rule the template asked for. */
function expectFloor(e164: string, masked: string): void {
  const national = parsePhoneNumber(e164).nationalNumber;
  const printed = printedNational(masked);
  const hidden = (printed.match(/\*/g) ?? []).length;
  expect(printed).toHaveLength(national.length); // one * per hidden digit, no separators
  expect(hidden).toBeGreaterThanOrEqual(Math.min(6, national.length));
  expect(hidden).toBeGreaterThanOrEqual(national.length / 2);
}

function expectNoRunOfFive(e164: string, masked: string): void {
  const national = parsePhoneNumber(e164).nationalNumber;
  const compact = masked.replace(/\s/g, '');
  for (let i = 0; i + 5 <= national.length; i++) expect(compact).not.toContain(national.slice(i, i + 5));
}

describe('maskPhone with the default rule (last 4 digits at most)', () => {
  const cases: [country: string, e164: string, expected: string][] = [
    ['CN mobile', '+8613957246813', '*******6813'],
    ['CN mobile', '+8618612345678', '*******5678'],
    ['CN landline, Shanghai', '+862168888888', '******8888'],
    ['CN landline, Hangzhou', '+8657112345678', '*******5678'],
    ['US', '+12015550123', '+1 ******0123'],
    ['US', '+12125551234', '+1 ******1234'],
    ['CA', '+15062345678', '+1 ******5678'],
    ['UK mobile', '+447400123456', '+44 ******3456'],
    ['UK landline', '+441212345678', '+44 ******5678'],
    ['DE mobile', '+4915123456789', '+49 *******6789'],
    ['DE landline, 8 digits', '+4930901820', '+49 ******20'],
    ['FR, 9 digits', '+33612345678', '+33 ******678'],
    ['JP', '+819012345678', '+81 ******5678'],
    ['SG, 8 digits', '+6581234567', '+65 ******67'],
    ['AU, 9 digits', '+61412345678', '+61 ******678'],
    ['IN', '+918123456789', '+91 ******6789'],
    ['BR, 11 digits', '+5511961234567', '+55 *******4567'],
    ['HK, 8 digits', '+85251234567', '+852 ******67'],
    ['KR', '+821020000000', '+82 ******0000'],
    ['RU', '+79123456789', '+7 ******6789'],
  ];
  // Titles name the country and the masked form only: test output is a log too.
  test.each(cases.map(([country, e164, expected]) => ({ country, e164, expected })))('$country → $expected', ({ e164, expected }) => {
    expect(isValidPhoneNumber(e164)).toBe(true); // the table uses real, valid numbers only
    const masked = maskPhone(e164);
    expect(masked).toBe(expected);
    expectFloor(e164, masked);
    expectNoRunOfFive(e164, masked);
    expect((printedNational(masked).match(/\d/g) ?? []).length).toBeLessThanOrEqual(4);
  });

  test('DEFAULT_PHONE_MASK keeps only the last 4', () => {
    expect(DEFAULT_PHONE_MASK).toEqual({ keepFirst: 0, keepLast: 4 });
  });

  test('a parseable number libphonenumber calls invalid (UK drama range) is still masked, not refused', () => {
    expect(isValidPhoneNumber('+447700900123')).toBe(false);
    expect(maskPhone('+447700900123')).toBe('+44 ******0123');
  });

  test('a national number shorter than 6 digits is hidden entirely', () => {
    expect(maskPhone('+6837290')).toBe('+683 ****'); // Niue
  });

  test.each(['not a phone', '13957246813', '+99913957246813', '+86', ''])(
    'unparseable input #%# throws without echoing any of its digits',
    (input) => {
      expect(() => maskPhone(input)).toThrow(Error);
      try {
        maskPhone(input);
      } catch (error) {
        const message = (error as Error).message;
        for (const digit of new Set(input.replace(/\D/g, ''))) expect(message).not.toContain(digit);
      }
    },
  );
});

describe('maskPhone clamps rules that try to show more than the floor allows', () => {
  const cases: [e164: string, rule: PhoneMaskRule, expected: string][] = [
    // keepFirst is given up before keepLast
    ['+8613957246813', { keepFirst: 3, keepLast: 4 }, '1******6813'],
    ['+12015550123', { keepFirst: 3, keepLast: 4 }, '+1 ******0123'],
    ['+6581234567', { keepFirst: 3, keepLast: 4 }, '+65 ******67'],
    ['+4915123456789', { keepFirst: 3, keepLast: 4 }, '+49 1******6789'],
    ['+8613957246813', { keepFirst: 0, keepLast: 11 }, '******46813'],
    ['+8613957246813', { keepFirst: 11, keepLast: 0 }, '13957******'],
    // nonsense keep counts mean "keep fewer", never more
    ['+8613957246813', { keepFirst: -1, keepLast: 2.7 }, '*********13'],
    ['+8613957246813', { keepFirst: Number.NaN, keepLast: 0 }, '***********'],
    ['+8613957246813', { keepFirst: 0, keepLast: 0 }, '***********'],
  ];
  test.each(cases.map(([e164, rule, expected]) => ({ e164, rule, expected })))('$rule → $expected', ({ e164, rule, expected }) => {
    const masked = maskPhone(e164, rule);
    expect(masked).toBe(expected);
    expectFloor(e164, masked);
  });

  test('the familiar 138****1234 (keepFirst 3, keepLast 4) never shows a run of 5 digits', () => {
    for (const e164 of ['+8613957246813', '+12015550123', '+4915123456789', '+5511961234567']) {
      expectNoRunOfFive(e164, maskPhone(e164, { keepFirst: 3, keepLast: 4 }));
    }
  });
});

describe('phoneRuleFloorViolation (checked when a template loads)', () => {
  const violations: [rule: PhoneMaskRule, pattern: RegExp][] = [
    [{ keepFirst: 3, keepLast: 4 }, /shows 7 of 11 digits.*at least 6 hidden/],
    [{ keepFirst: 0, keepLast: 6 }, /shows 6 of 11 digits.*at least 6 hidden/],
    [{ keepFirst: -1, keepLast: 0 }, /keepFirst/],
    [{ keepFirst: 0, keepLast: 1.5 }, /keepLast/],
    [{ keepFirst: 0, keepLast: 20 }, /shows 11 of 11 digits/],
  ];
  test.each(violations)('%j is refused', (rule, pattern) => {
    expect(phoneRuleFloorViolation(rule)).toMatch(pattern);
  });

  const accepted: PhoneMaskRule[] = [
    { keepFirst: 0, keepLast: 4 },
    { keepFirst: 1, keepLast: 4 },
    { keepFirst: 0, keepLast: 0 },
    { keepFirst: 0, keepLast: 5 },
  ];
  test.each(accepted)('%j is accepted', (rule) => {
    expect(phoneRuleFloorViolation(rule)).toBeNull();
  });
});
