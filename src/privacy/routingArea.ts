// The routing-level address printed on paper: Chinese addresses down to the district, others as
// city, region, the postal code's sorting area and country. Street, building, unit and room never leave
// the vault.

import type { Address } from '../order/orderSchema';
import { postalArea } from '../order/postalArea';
import { asMasked, type Masked } from './masked';
import type { Lang } from './lang';

/** As waybills printed in mainland China name them (the CLDR name is 台湾 alone; 香港, 澳门 it gives so). */
const ZH_REGIONS: Readonly<Record<string, string>> = { TW: '中国台湾' };

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
  const country = (lang === 'zh' ? ZH_REGIONS[address.country] : undefined) ?? countryNames[lang].of(address.country) ?? address.country;
  const postal = depth === 'routing' && address.postalCode ? postalArea(address.country, address.postalCode) : undefined;
  const cityLine = [address.city, address.region, postal].filter(Boolean).join(' ');
  return asMasked(`${cityLine}, ${country}`);
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
