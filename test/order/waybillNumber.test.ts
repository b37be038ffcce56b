import path from 'node:path';
import { CARRIERS, CARRIER_CODES } from '../../src/order/carriers';
import { generateWaybillNo, s10CheckDigit, waybillNoProblem } from '../../src/order/waybillNumber';
import { code128Modules, encodeCode128, placeCode128 } from '../../src/layout/barcodes';
import { listTemplates, loadTemplate } from '../../src/layout/loadTemplate';

const TEMPLATES = path.join(__dirname, '..', '..', 'templates');

/** A deterministic stand-in for randomInt: the digits of i, repeated. */
const digitsOf = (i: number) => {
  const digits = String(i).padStart(4, '0');
  let at = 0;
  return (max: number) => Number(digits[at++ % digits.length]) % max;
};

describe('waybill numbers', () => {
  it.each(CARRIER_CODES)('are generated in %s\'s current form, and pass its own check', (carrier) => {
    const current = CARRIERS[carrier].waybill.forms[0];
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const no = generateWaybillNo(carrier);
      expect(no).toMatch(current.pattern);
      expect(waybillNoProblem(carrier, no)).toBeUndefined();
      seen.add(no);
    }
    expect(seen.size).toBeGreaterThan(190); // random, not a counter
  });

  it.each(CARRIER_CODES)('accept every documented form of %s (its README example)', (carrier) => {
    for (const form of CARRIERS[carrier].waybill.forms) {
      expect(form.example).toMatch(form.pattern);
      expect(waybillNoProblem(carrier, form.example)).toBeUndefined();
    }
  });

  it('refuse another carrier\'s number, naming the form expected and not the number', () => {
    expect(waybillNoProblem('ZT', 'SF1234567890123')).toBe('must be a waybill number of ZTO Express: 14 digits, or 12 digits (older numbers)');
    expect(waybillNoProblem('SF', '78123456789012')).toBe('must be a waybill number of SF Express: SF + 13 digits');
    expect(waybillNoProblem('EMS', 'RR123456785CN')).toMatch(/^must be a waybill number of China Post EMS: E \+ letter/);
    expect(waybillNoProblem('JD', 'JDVA1234567890')).toMatch(/^must be a waybill number of JD Logistics/); // one digit short
    for (const carrier of CARRIER_CODES) expect(waybillNoProblem(carrier, 'AB12345678')).not.toContain('12345678');
  });

  it('compute the UPU S10 check digit: weights 8 6 4 2 3 5 9 7, 11 − sum mod 11, 10 → 0, 11 → 5', () => {
    expect(s10CheckDigit('47312482')).toBe('9'); // the UPU's own example, AA 47312482 9 GB
    expect(s10CheckDigit('12345678')).toBe('5');
    expect(s10CheckDigit('00004000')).toBe('0'); // sum 12: 11 − 1 = 10 → 0
    expect(s10CheckDigit('00000000')).toBe('5'); // sum 0: 11 − 0 = 11 → 5
    expect(() => s10CheckDigit('1234567')).toThrow();
  });

  it('catch a mistyped EMS digit and a swap of two digits by the check digit', () => {
    const no = generateWaybillNo('EMS', digitsOf(1234));
    expect(no).toBe(`EA12341234${s10CheckDigit('12341234')}CN`);
    for (let i = 2; i < 10; i++) {
      const typo = no.slice(0, i) + String((Number(no[i]) + 1) % 10) + no.slice(i + 1);
      expect(waybillNoProblem('EMS', typo)).toBe('check digit does not match (UPU S10)');
    }
    const swapped = `EA21341234${no.charAt(10)}CN`; // serial 12… typed as 21…
    expect(waybillNoProblem('EMS', swapped)).toBe('check digit does not match (UPU S10)');
  });

  it('invent no check digit where the carrier publishes none: any digits of the form pass', () => {
    for (const carrier of ['ZT', 'YT', 'SF', 'YD', 'ST', 'JD'] as const) {
      expect(CARRIERS[carrier].waybill.forms.every((f) => f.checkDigit === undefined)).toBe(true);
      const no = generateWaybillNo(carrier);
      const last = Number(no.slice(-1));
      expect(waybillNoProblem(carrier, no.slice(0, -1) + String((last + 1) % 10))).toBeUndefined();
    }
  });

  it('fit every Code128 box of every built-in template, in every form', () => {
    const numbers = CARRIER_CODES.flatMap((c) => [generateWaybillNo(c, () => 0), ...CARRIERS[c].waybill.forms.map((f) => f.example)]);
    for (const id of listTemplates(TEMPLATES)) {
      const template = loadTemplate(TEMPLATES, id);
      const boxes = template.labels.flatMap((l) => l.sections.flatMap((s) => s.elements.filter((e) => e.type === 'code128')));
      expect(boxes.length).toBeGreaterThan(0);
      for (const box of boxes) for (const no of numbers) expect({ id, no, fits: placeCode128(code128Modules(encodeCode128(no)).cols, box, template.dpi) !== undefined }).toEqual({ id, no, fits: true });
    }
  });
});
