// The one-line address parser against a corpus of addresses in the formats order systems export
// (every case type of the division table): divisions right, the rest right, ambiguity refused, and
// nothing but official division names ever on paper.

import { divisionTable } from '../../src/address/divisionTable';
import { divisionNames } from '../../src/address/divisions';
import { splitAddress } from '../../src/address/splitAddress';
import { ADDRESS_CORPUS, type CorpusEntry } from './addressCorpus';

/** Whether the parser reads an entry as expected: the same divisions, code and rest, or a refusal where ambiguous. */
function readsRight(entry: CorpusEntry): boolean {
  const result = splitAddress(entry.text);
  if (entry.want === 'ambiguous') return !result.ok;
  if (!result.ok) return false;
  const { province, city, district, areaCode } = divisionNames(result.divisions);
  const want = entry.want;
  return province === want.province && city === want.city && district === want.district && areaCode === want.areaCode && result.rest === want.rest;
}

describe('splitting a one-line mainland-China address', () => {
  it(`reads at least 98 % of ${ADDRESS_CORPUS.length} real-format addresses right, and never guesses where the text is ambiguous`, () => {
    const wrong = ADDRESS_CORPUS.map((entry, index) => ({ entry, index })).filter(({ entry }) => !readsRight(entry));
    const accuracy = 1 - wrong.length / ADDRESS_CORPUS.length;
    // A failure names the corpus entries by index and kind, never their address text (street, room).
    if (accuracy < 0.98 || wrong.some((w) => w.entry.want === 'ambiguous'))
      throw new Error(`accuracy ${(accuracy * 100).toFixed(1)} %; misread entries: ${wrong.map((w) => `#${w.index} (${w.entry.kind})`).join(', ')}`);
    expect(ADDRESS_CORPUS.length).toBeGreaterThanOrEqual(100);
  });

  it('puts nothing below the county level on paper: every printed part is an official division name', () => {
    const official = new Set([...divisionTable().byCode.values()].map((d) => d.name));
    for (const entry of ADDRESS_CORPUS) {
      const result = splitAddress(entry.text);
      if (!result.ok) continue;
      const { province, city, district } = divisionNames(result.divisions);
      for (const part of [province, city, district]) if (part !== undefined) expect(official.has(part)).toBe(true);
    }
  });

  it('reads every county-level unit and township-only city of the table back, written in full, spaced, without the province, or with short province and city names', () => {
    const misread: string[] = [];
    const street = '人民路12号3栋402';
    for (const unit of divisionTable().byCode.values()) {
      const county = unit.level === 'county' ? unit : undefined;
      if (!county && !(unit.level === 'city' && unit.children.every((c) => c.level === 'township'))) continue;
      const city = county ? county.parent! : unit;
      const province = city.parent!;
      const cityPart = city.name === province.name ? '' : city.name;
      const short = (name: string, suffix: RegExp) => name.replace(suffix, '');
      for (const text of [
        `${province.name}${cityPart}${county?.name ?? ''}${street}`,
        [province.name, city.name, county?.name, street].filter(Boolean).join(' '),
        `${cityPart || province.name}${county?.name ?? ''}${street}`,
        `${short(province.name, /(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$/u)}${short(cityPart, /市$/u)}${county?.name ?? ''}${street}`,
      ]) {
        const result = splitAddress(text);
        // Named by the unit's code only: the failure output carries no address text.
        if (!result.ok || (result.divisions.district ?? result.divisions.city) !== unit || result.rest !== street) misread.push(unit.code);
      }
    }
    expect(misread).toEqual([]);
  });

  it.each([
    ['朝阳区建国路88号', 'ambiguous'], // Beijing or Changchun
    ['鼓楼区中山路1号', 'ambiguous'],
    ['中山路1号', 'unknown'], // a street named after a city is not the city
    ['浙江省杭州市文三路90号', 'no_district'],
    ['浙江省杭州市西湖区', 'no_street'],
  ])('refuses %s (%s)', (text, problem) => {
    expect(splitAddress(text)).toEqual({ ok: false, problem });
  });

  it('takes a leading postal code apart and tolerates full-width characters and separators', () => {
    const result = splitAddress('３１００１２，浙江，杭州，西湖区，文三路９０号');
    expect(result).toMatchObject({ ok: true, postalCode: '310012', rest: '文三路90号' });
  });
});
