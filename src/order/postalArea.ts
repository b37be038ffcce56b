// What of a postal code reaches paper: the part that names a sorting area (src/privacy/routingArea.ts
// prints it; the screen of printed text reads it as printed).

/**
 * The part of a postal code that names a sorting area, where the whole code names far less: an Irish
 * Eircode one dwelling, a Singapore code one building, a full UK postcode some 15 households, a Canadian
 * one a side of a block, a Dutch one part of a street, an Iranian one a block. Elsewhere (5-digit codes of a town or district:
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
  US: (code) => compactCode(code).slice(0, 5), // 94105 of 94105-1234 (or 94105 1234, 941051234)
  BR: (code) => compactCode(code).slice(0, 5), // 01310 of 01310-100
  PT: (code) => compactCode(code).slice(0, 4), // 1000 of 1000-001
  JP: (code) => compactCode(code).slice(0, 3), // 100 of 100-0001
  PL: (code) => compactCode(code).slice(0, 2), // 00 of 00-950
  IR: (code) => compactCode(code).slice(0, 5), // 10987 of 10987-65432: the rest names a block
  IL: (code) => compactCode(code).slice(0, 5), // 91999 of 9199901: the rest names part of a street
  CL: (code) => compactCode(code).slice(0, 3), // 832 of 8320000: the commune
  TW: (code) => compactCode(code).slice(0, 3), // 100 of 100-001 or 10001: the township
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
