// The routing-level address printed on paper: Chinese addresses down to the district, others as
// city, region, postal code and country. Street, building, unit and room never leave the vault.

import type { Address } from '../order/orderSchema';
import { asMasked, type Masked } from './masked';
import type { Lang } from './privacyView';

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
  const cityLine = [address.city, address.region, depth === 'routing' ? address.postalCode : undefined].filter(Boolean).join(' ');
  return asMasked(`${cityLine}, ${country}`);
}
