// Checks the division fields of a structured mainland-China address: each must be exactly a division
// name (official or short form) nested in the one above it. A field holding anything more — a street,
// number, building or room typed into "district" — is refused, because paper prints these fields.

import { divisionTable, hasNoCounties, isMunicipalityCity, type Division } from './divisionTable';
import type { Divisions } from './divisions';
import { normaliseAddressText } from './splitAddress';

export type DivisionField = 'province' | 'city' | 'district';
export type DivisionCheck = { ok: true; divisions: Divisions } | { ok: false; field: DivisionField; message: string };

const MORE_THAN_A_NAME = 'must hold only the division name; street, number, building, unit and room belong in street and detail';
/** What integrators put in "city" for a municipality's districts or a province's own county-level units. */
const GROUPING_CITY = /^(市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划|省直辖县|省直管县)$/u;

export function checkDivisions(fields: { province: string; city: string; district?: string }): DivisionCheck {
  const table = divisionTable();
  const provinceText = clean(fields.province);
  const province = table.provinceForms.exactly(provinceText)[0]?.division;
  if (!province) return refuse('province', table.provinceForms.matchAt(provinceText, 0).length ? MORE_THAN_A_NAME : 'is not a province-level division of mainland China');

  const cityText = clean(fields.city);
  let districtText = fields.district === undefined ? '' : clean(fields.district);
  let city = pick(table.childForms(province).exactly(cityText));
  if (!city && GROUPING_CITY.test(cityText)) {
    // 北京市 / 市辖区 / 朝阳区, or 湖北省 / 省直辖县级行政区划 / 仙桃市: the real city-level unit is the one below.
    city = province.children.find(isMunicipalityCity) ?? pick(table.childForms(province).exactly(districtText));
    if (city && !isMunicipalityCity(city)) districtText = '';
  }
  if (!city) return refuse('city', table.childForms(province).matchAt(cityText, 0).length ? MORE_THAN_A_NAME : 'is not a city of the given province');

  if (hasNoCounties(city)) {
    // 东莞, 中山, 儋州, 嘉峪关, 仙桃 …: no county level; the district may be left out, repeat the city or name a township.
    if (districtText === '' || table.childForms(province).exactly(districtText).some((f) => f.division === city)) return { ok: true, divisions: { province, city } };
    const township = pick(table.childForms(city).exactly(districtText));
    if (township) return { ok: true, divisions: { province, city, district: township } };
    return refuse('district', table.childForms(city).matchAt(districtText, 0).length ? MORE_THAN_A_NAME : 'is not a township of the given city (it has no districts; leave district out)');
  }
  if (districtText === '') return refuse('district', 'is required: the given city has districts');
  const district = pick(table.childForms(city).exactly(districtText).filter((f) => f.division.level === 'county'));
  if (district) return { ok: true, divisions: { province, city, district } };
  return refuse('district', table.childForms(city).matchAt(districtText, 0).length ? MORE_THAN_A_NAME : 'is not a district or county of the given city');
}

/** The division a name stands for; the official name wins over a short form that happens to equal it. */
function pick(forms: { division: Division; exact: boolean }[]): Division | undefined {
  return (forms.find((f) => f.exact) ?? (forms.length === 1 ? forms[0] : undefined))?.division;
}

function clean(text: string): string {
  return normaliseAddressText(text).replace(/\s+/gu, '');
}

function refuse(field: DivisionField, message: string): DivisionCheck {
  return { ok: false, field, message };
}
