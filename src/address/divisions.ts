// The divisions an address was resolved to, and what of them is printed and reported: canonical names
// (paper) and the 6-digit code of the deepest one (areaCode, for sorting systems).

import type { Division } from './divisionTable';

export interface Divisions {
  province: Division;
  city: Division;
  /** The county-level unit; where the city has no counties, absent or the township named. */
  district?: Division;
}

export interface DivisionNames {
  province: string;
  city: string;
  district?: string;
  areaCode: string;
}

export function divisionNames(d: Divisions): DivisionNames {
  // A township has a 9-digit statistical code; the deepest 6-digit unit is the city it belongs to.
  const deepest = d.district?.level === 'county' ? d.district : d.city;
  return { province: d.province.name, city: d.city.name, ...(d.district ? { district: d.district.name } : {}), areaCode: deepest.code };
}
