// Splits a one-line mainland-China address ("浙江省杭州市西湖区文三路90号5幢2单元1102室") into its
// divisions and the rest (street and detail). Every reading of the text's start is tried; the one that
// reads the most text as divisions wins, and when two readings tie on different places the address is
// refused as ambiguous (朝阳区建国路88号: Beijing or Changchun?) — a guess would misroute a parcel.

import { divisionTable, hasNoCounties, type Division, type DivisionForm } from './divisionTable';
import type { Divisions } from './divisions';

export type SplitProblem =
  | 'unknown' // the text does not start with a division we know
  | 'ambiguous' // it names a division that exists in several places
  | 'no_district' // a city was found, but not which of its districts
  | 'no_street'; // nothing follows the divisions

export type SplitResult = { ok: true; divisions: Divisions; rest: string; postalCode?: string } | { ok: false; problem: SplitProblem };

const SEPARATORS = /^[\s,;:/|\\.。、·\-—_()（）[\]【】]+/u;
/** Groupings, not places: the statistical "city" rows over a municipality's districts or a province's own counties. */
const GROUPINGS = /^(省直辖县级行政区划|自治区直辖县级行政区划|省直辖县级行政单位|省直辖县|省直管县|市辖区|县)/u;
/** After a short form (no 省/市/区 suffix), these mean the characters were a street's name: 西湖大道, 南京路, 朝阳门. */
const STREET_CONTINUES = /^[东西南北中]?(大道|大街|路|街|道|巷|弄|里|胡同|门|桥|广场|村|镇|乡)/u;

interface Reading {
  province: Division;
  city: Division;
  district?: Division;
  end: number;
  /** How many parts were written by their official names: breaks ties between short-form readings. */
  exact: number;
}

/** The text as matched: compatibility forms folded (full-width digits and commas), invisible characters dropped. */
export function normaliseAddressText(text: string): string {
  return text.normalize('NFKC').replace(/[\u200b-\u200d\u2060\ufeff]/gu, '').trim();
}

export function splitAddress(input: string): SplitResult {
  let text = normaliseAddressText(input);
  let postalCode: string | undefined;
  const leading = /^(\d{6})(?!\d)/u.exec(text);
  if (leading) {
    postalCode = leading[1];
    text = text.slice(6);
  }
  text = text.replace(/^[\s,]*(中华人民共和国|中国)/u, '');

  const readings = readDivisions(text);
  if (readings.length === 0) return { ok: false, problem: cityWithoutDistrict(text) ? 'no_district' : 'unknown' };
  const end = Math.max(...readings.map((r) => r.end));
  const longest = readings.filter((r) => r.end === end);
  const exact = Math.max(...longest.map((r) => r.exact));
  const best = longest.filter((r) => r.exact === exact);
  const places = new Set(best.map((r) => (r.district ?? r.city).code));
  if (places.size > 1) return { ok: false, problem: 'ambiguous' };

  const reading = best[0]!;
  const rest = text.slice(skip(text, reading.end)).trim();
  if (rest === '') return { ok: false, problem: 'no_street' };
  return { ok: true, divisions: { province: reading.province, city: reading.city, district: reading.district }, rest, ...(postalCode ? { postalCode } : {}) };
}

/** Every way the start of the text reads as province? → city? → district (or township, or nothing where there are no counties). */
function readDivisions(text: string): Reading[] {
  const table = divisionTable();
  const readings: Reading[] = [];
  const start = skip(text, 0);

  const afterCity = (city: Division, at: number, exact: number) => {
    at = skipGroupings(text, at);
    if (hasNoCounties(city)) {
      // 东莞市东莞市… and 湖北省仙桃市仙桃市… repeat the unit; a township may follow.
      const repeat = table.childForms(city.parent!).matchAt(text, at).find((m) => m.form.division === city && m.form.exact);
      if (repeat) at = skip(text, at + repeat.length);
      for (const m of usable(table.childForms(city).matchAt(text, at), text, at)) {
        readings.push({ province: city.parent!, city, district: m.form.division, end: at + m.length, exact: exact + Number(m.form.exact) });
      }
      readings.push({ province: city.parent!, city, end: at, exact });
      return;
    }
    for (const m of usable(table.childForms(city).matchAt(text, at), text, at)) {
      if (m.form.division.level === 'county') readings.push({ province: city.parent!, city, district: m.form.division, end: at + m.length, exact: exact + Number(m.form.exact) });
    }
  };

  for (const m of usable(table.provinceForms.matchAt(text, start), text, start)) {
    const province = m.form.division;
    const at = skipGroupings(text, skip(text, start + m.length));
    const exact = Number(m.form.exact);
    for (const c of usable(table.childForms(province).matchAt(text, at), text, at)) afterCity(c.form.division, skip(text, at + c.length), exact + Number(c.form.exact));
    // The city left out (浙江省西湖区…, 北京市朝阳区…): a county of any of the province's cities.
    for (const city of province.children) {
      for (const d of usable(table.childForms(city).matchAt(text, at), text, at)) {
        if (d.form.division.level === 'county') readings.push({ province, city, district: d.form.division, end: at + d.length, exact: exact + Number(d.form.exact) });
      }
    }
  }
  for (const m of usable(table.cityForms.matchAt(text, start), text, start)) afterCity(m.form.division, skip(text, start + m.length), Number(m.form.exact));
  // Starting at the county only by its official name: a short form alone ("河南", "金水") says too little.
  for (const m of table.countyForms.matchAt(text, start).filter((m) => m.form.exact)) {
    const county = m.form.division;
    readings.push({ province: county.parent!.parent!, city: county.parent!, district: county, end: start + m.length, exact: Number(m.form.exact) });
  }
  return readings;
}

/**
 * Drops short-form matches that are really the start of a street name (西湖大道, 南京路), unless a
 * division below follows (河北唐山路南区: 路南区 is a district of 唐山).
 */
function usable<T extends { length: number; form: DivisionForm }>(matches: T[], text: string, at: number): T[] {
  return matches.filter((m) => m.form.exact || !STREET_CONTINUES.test(text.slice(at + m.length)) || childFollows(m.form.division, text, skip(text, at + m.length)));
}

function childFollows(division: Division, text: string, at: number): boolean {
  const table = divisionTable();
  const below = division.level === 'province' ? [division, ...division.children] : division.level === 'city' ? [division] : [];
  return below.some((d) => table.childForms(d).matchAt(text, at).length > 0);
}

function cityWithoutDistrict(text: string): boolean {
  const table = divisionTable();
  const start = skip(text, 0);
  return usable(table.provinceForms.matchAt(text, start), text, start).length > 0 || usable(table.cityForms.matchAt(text, start), text, start).length > 0;
}

function skip(text: string, at: number): number {
  const m = SEPARATORS.exec(text.slice(at));
  return m ? at + m[0].length : at;
}

function skipGroupings(text: string, at: number): number {
  const m = GROUPINGS.exec(text.slice(at));
  // "县" alone is only a grouping before a county name (重庆市县城口县), never the start of a street.
  return m && !(m[0] === '县' && divisionTable().countyForms.matchAt(text, skip(text, at + 1)).length === 0) ? skip(text, at + m[0].length) : at;
}
