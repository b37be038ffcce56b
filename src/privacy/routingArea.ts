// The routing-level address printed on paper: Chinese addresses down to the district, others as
// city, region, the postal code's sorting area and country. Street, building, unit and room never leave
// the vault.

import type { Address } from '../order/orderSchema';
import { asMasked, type Masked } from './masked';
import type { Lang } from './lang';

const countryNames: Record<Lang, Intl.DisplayNames> = {
  zh: new Intl.DisplayNames(['zh-CN'], { type: 'region' }),
  en: new Intl.DisplayNames(['en'], { type: 'region' }),
};

export function routingArea(address: Address, depth: 'routing' | 'city', lang: Lang): Masked {
  if (address.country === 'CN') {
    // Municipalities repeat themselves (上海市 上海市); print the name once.
    const parts = [address.province, address.city === address.province ? undefined : address.city];
    if (depth === 'routing') parts.push(address.district);
    return asMasked(parts.filter(Boolean).join(' '));
  }
  const country = countryNames[lang].of(address.country) ?? address.country;
  const postal = depth === 'routing' && address.postalCode ? postalArea(address.country, address.postalCode) : undefined;
  const cityLine = [address.city, address.region, postal].filter(Boolean).join(' ');
  return asMasked(`${cityLine}, ${country}`);
}

/**
 * The part of a postal code that names a sorting area, where the whole code names far less: an Irish
 * Eircode one dwelling, a Singapore code one building, a full UK postcode some 15 households, a Canadian
 * one a side of a block, a Dutch one part of a street. Elsewhere (5-digit codes of a town or district:
 * US, DE, FR, CN …) the code as given, a US ZIP without its +4.
 */
const POSTAL_AREA: Readonly<Record<string, (code: string) => string>> = {
  GB: outwardCode,
  GG: outwardCode,
  JE: outwardCode,
  IM: outwardCode,
  IE: (code) => compactCode(code).slice(0, 3), // routing key: D02 of D02 X285
  CA: (code) => compactCode(code).slice(0, 3), // forward sortation area: K1A of K1A 0B1
  NL: (code) => compactCode(code).slice(0, 4), // 1234 of 1234 AB
  SG: (code) => compactCode(code).slice(0, 2), // postal sector: 01 of 018956
  AR: (code) => compactCode(code).slice(0, 5), // C1425 of C1425DKF
  US: (code) => code.split('-')[0]!.trim(), // 94105 of 94105-1234
  BR: (code) => code.split('-')[0]!.trim().slice(0, 5), // 01310 of 01310-100
  PT: (code) => code.split('-')[0]!.trim(), // 1000 of 1000-001
  JP: (code) => code.split('-')[0]!.trim().slice(0, 3), // 100 of 100-0001
  PL: (code) => code.split('-')[0]!.trim(), // 00 of 00-950
};

export function postalArea(country: string, code: string): string {
  return POSTAL_AREA[country]?.(code) ?? code;
}

const compactCode = (code: string) => code.replace(/[\s-]/g, '').toUpperCase();

/** A UK-style postcode's outward code: SW1A of "SW1A 1AA" (the inward code is always 3 characters). */
function outwardCode(code: string): string {
  const c = compactCode(code);
  return c.length > 4 ? c.slice(0, -3) : c;
}

/** What a party's area is, as the JSON views report it: the printed text and the division code. */
export interface PartyArea {
  area: Masked;
  /** GB/T 2260 code of the deepest division (mainland China only). */
  areaCode?: string;
}

export function partyArea(address: Address, lang: Lang): PartyArea {
  const area = routingArea(address, 'routing', lang);
  return address.country === 'CN' && address.areaCode ? { area, areaCode: address.areaCode } : { area };
}

/**
 * The large routing zone when the order brings no sorting code: destination city and district, as
 * carriers print it (大头笔, "杭州 西湖区"); abroad the city and the country code.
 */
export function destinationZone(address: Address): Masked {
  if (address.country !== 'CN') return asMasked(`${address.city.toUpperCase()} ${address.country}`);
  const city = address.city.length > 2 ? address.city.replace(/市$/u, '') : address.city;
  return asMasked([city, address.district].filter(Boolean).join(' '));
}
