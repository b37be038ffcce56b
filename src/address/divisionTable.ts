// The administrative divisions of mainland China (province → prefecture-level → county-level, and the
// townships of units without counties), loaded once per process from the compact table built from the
// National Bureau of Statistics codes, with the short forms people write (浙江, 杭州, 西湖) and the old
// names of units renamed since (横县 → 横州市, 莱芜市 → 济南市).

import table from './cnDivisions.json';

export type DivisionLevel = 'province' | 'city' | 'county' | 'township';

export interface Division {
  /** GB/T 2260 code (6 digits); townships have the 9-digit statistical code. */
  code: string;
  name: string;
  level: DivisionLevel;
  parent?: Division;
  children: Division[];
}

/** One way a division is written: its official name (exact) or a short form / old name. */
export interface DivisionForm {
  division: Division;
  exact: boolean;
}

export interface DivisionTable {
  provinces: Division[];
  byCode: ReadonlyMap<string, Division>;
  /** Forms of the provinces, and of every city-level unit nationwide. */
  provinceForms: FormIndex;
  cityForms: FormIndex;
  /** Forms of every county-level unit nationwide, for addresses that start at the county. */
  countyForms: FormIndex;
  /** Forms of the children of one division (a province's cities, a city's counties or townships). */
  childForms(parent: Division): FormIndex;
}

export class FormIndex {
  private readonly forms = new Map<string, DivisionForm[]>();
  private longest = 0;

  add(form: string, division: Division, exact: boolean): void {
    if (form.length < 2) return; // one character says nothing ("城" of 城区); division names are all in the BMP
    const list = this.forms.get(form) ?? [];
    // A division is listed once per form; an exact name beats a short form that happens to equal it.
    const known = list.find((f) => f.division === division);
    if (known) known.exact ||= exact;
    else list.push({ division, exact });
    this.forms.set(form, list);
    this.longest = Math.max(this.longest, form.length);
  }

  /** Every division written at `text[at…]`, with the length of its form, longest first. */
  matchAt(text: string, at: number): { length: number; form: DivisionForm }[] {
    const found: { length: number; form: DivisionForm }[] = [];
    for (let length = Math.min(this.longest, text.length - at); length >= 2; length--) {
      for (const form of this.forms.get(text.slice(at, at + length)) ?? []) found.push({ length, form });
    }
    return found;
  }

  /** The divisions a whole string names. */
  exactly(text: string): DivisionForm[] {
    return this.forms.get(text) ?? [];
  }
}

/**
 * Other names of units, renamed or merged (or, for 三沙, newer than the table), that a short form cannot
 * derive: [parent code, name, current code]. A name that is also a unit's somewhere today is left out.
 */
const RENAMED: readonly [string, string, string][] = [
  ['450100', '横县', '450181'], // 2021
  ['370000', '莱芜市', '370100'], // 2019: merged into 济南市
  ['370100', '莱城区', '370116'], // … as 莱芜区
  ['110100', '崇文区', '110101'], // 2010: into 东城区
  ['110100', '宣武区', '110102'], // 2010: into 西城区
  ['310100', '闸北区', '310106'], // 2015: into 静安区
  ['310100', '卢湾区', '310101'], // 2011: into 黄浦区
  ['310100', '南汇区', '310115'], // 2009: into 浦东新区
  ['330100', '下城区', '330105'], // 2021: into 拱墅区 (江干区 was split in two: not mapped)
  ['420000', '襄樊市', '420600'], // 2010: 襄阳市
  ['120100', '蓟县', '120119'], // 2016: 蓟州区
  ['500100', '开县', '500154'], // 2016: 开州区
  ['650000', '吐鲁番地区', '650400'], // 2015: 吐鲁番市
  ['650000', '哈密地区', '650500'], // 2016: 哈密市
  ['540000', '昌都地区', '540300'], // 2014: 昌都市
  ['540000', '林芝地区', '540400'], // 2015
  ['540000', '山南地区', '540500'], // 2016
  ['540000', '那曲地区', '540600'], // 2017
  ['630000', '海东地区', '630200'], // 2013
  ['520000', '铜仁地区', '520600'], // 2011
  ['520000', '毕节地区', '520500'], // 2011
  ['320500', '沧浪区', '320508'], // 2012: merged into 姑苏区
  ['320500', '平江区', '320508'],
  ['320500', '金阊区', '320508'],
  ['320200', '崇安区', '320213'], // 2015: merged into 梁溪区
  ['320200', '南长区', '320213'],
  ['320200', '北塘区', '320213'],
  ['320100', '白下区', '320104'], // 2013: into 秦淮区
  ['320100', '下关区', '320106'], // 2013: into 鼓楼区
  ['320400', '戚墅堰区', '320412'], // 2015: into 武进区
  ['320800', '楚州区', '320803'], // 2012: 淮安区
  ['330200', '江东区', '330212'], // 2016: into 鄞州区
  ['330600', '绍兴县', '330603'], // 2013: 柯桥区
  ['510100', '郫县', '510117'], // 2016: 郫都区
  ['610100', '户县', '610118'], // 2016: 鄠邑区
  ['440100', '萝岗区', '440112'], // 2014: into 黄埔区
  ['440100', '芳村区', '440103'], // 2005: into 荔湾区 (东山区, into 越秀区, is also a district of 鹤岗 today: not mapped)
  ['120100', '塘沽区', '120116'], // 2009: 滨海新区
  ['120100', '汉沽区', '120116'],
  ['120100', '大港区', '120116'],
  ['500100', '万盛区', '500110'], // 2011: 綦江区 (双桥区, now 大足区, is also a district of 承德: not mapped)
  ['530000', '思茅市', '530800'], // 2007: 普洱市
  ['530800', '翠云区', '530802'], // 2007: 思茅区
  ['460300', '西沙区', '460321'], // 2020: a district; the table still names its islands (南沙区 is also 广州's: not mapped)
];

/** Ethnic designations that short forms drop (延边朝鲜族自治州 → 延边, 长阳土家族自治县 → 长阳); 族 is left
 * out in some names (新疆维吾尔自治区, 巴音郭楞蒙古自治州), but never after a one-character name. */
const ETHNIC = new RegExp(
  `(?:${'蒙古 维吾尔 布依 朝鲜 土家 哈尼 哈萨克 傈僳 拉祜 东乡 纳西 景颇 柯尔克孜 达斡尔 仫佬 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺'.split(' ').join('|')})族?$|(?:回|藏|苗|彝|壮|满|侗|瑶|白|傣|黎|佤|畲|水|土|羌|怒|京|各)族$`,
  'u',
);

/** 宁夏回族 → 宁夏, 三都水族 → 三都; repeated for multi-ethnic names, but never down to one character (内蒙古 stays). */
function withoutEthnic(stem: string): string {
  for (let m; (m = ETHNIC.exec(stem)) && m.index >= 2; ) stem = stem.slice(0, m.index);
  return stem;
}

let loaded: DivisionTable | undefined;

export function divisionTable(): DivisionTable {
  loaded ??= load(table.divisions);
  return loaded;
}

function load(lines: readonly string[]): DivisionTable {
  const byCode = new Map<string, Division>();
  const provinces: Division[] = [];
  for (const line of lines) {
    const [code = '', name = '', parentCode] = line.split(' ');
    const parent = parentCode ? byCode.get(parentCode) : undefined;
    if (parentCode && !parent) throw new Error(`division table: ${code} comes before its parent ${parentCode}`);
    const level: DivisionLevel = !parent ? 'province' : parent.level === 'province' ? 'city' : code.length > 6 ? 'township' : 'county';
    const division: Division = { code, name, level, parent, children: [] };
    byCode.set(code, division);
    if (parent) parent.children.push(division);
    else provinces.push(division);
  }

  const provinceForms = new FormIndex();
  const cityForms = new FormIndex();
  const countyForms = new FormIndex();
  for (const division of byCode.values()) {
    const global = division.level === 'province' ? provinceForms : division.level === 'city' ? cityForms : division.level === 'county' ? countyForms : undefined;
    // A county under its province is found by its short forms only under that province: 昌江 alone is
    // also 景德镇's 昌江区, which a line without its province must not be guessed to be.
    const forms = countyUnderProvince(division) ? [division.name] : formsOf(division);
    forms.forEach((form, i) => global?.add(form, division, i === 0));
  }
  for (const [parentCode, oldName, code] of RENAMED) {
    const division = byCode.get(code);
    if (!byCode.has(parentCode) || !division) throw new Error(`division table: renamed unit ${code} is not in the table`);
    (division.level === 'city' ? cityForms : countyForms).add(oldName, division, false);
  }

  // A division's children are indexed when first asked for: an address names a few of the hundreds of
  // parents, and indexing them all cost every process start some 40 ms.
  const children = new Map<Division, FormIndex>();
  const childForms = (parent: Division) => {
    let index = children.get(parent);
    if (!index) {
      const built = new FormIndex();
      for (const child of parent.children) formsOf(child).forEach((form, i) => built.add(form, child, i === 0));
      for (const [parentCode, oldName, code] of RENAMED) if (parentCode === parent.code) built.add(oldName, byCode.get(code)!, false);
      children.set(parent, (index = built));
    }
    return index;
  };
  return { provinces, byCode, provinceForms, cityForms, countyForms, childForms };
}

/** A county-level unit directly under its province (陵水黎族自治县, 神农架林区), listed as a city. */
const countyUnderProvince = (d: Division) => d.level === 'city' && /(县|林区)$/u.test(d.name);

/** The official name first, then the short forms people write. */
function formsOf(d: Division): string[] {
  const forms = [d.name];
  const add = (form: string) => {
    if (form.length >= 2 && !forms.includes(form)) forms.push(form);
  };
  switch (d.level) {
    case 'province':
      add(withoutEthnic(d.name.replace(/(省|市|自治区|特别行政区)$/u, ''))); // 广西壮族自治区 → 广西
      break;
    case 'city':
      if (/自治州$/u.test(d.name)) {
        const stem = withoutEthnic(d.name.replace(/自治州$/u, ''));
        add(stem); // 延边
        add(`${stem}州`); // 延边州
      } else if (countyUnderProvince(d)) {
        countyShortForms(d.name).forEach(add); // 陵水黎族自治县 → 陵水, 陵水县
      } else {
        add(d.name.replace(/(市|地区|盟)$/u, ''));
      }
      break;
    case 'county':
      countyShortForms(d.name).forEach(add);
      break;
    case 'township':
      if (d.parent && d.name.startsWith(d.parent.name)) add(d.name.slice(d.parent.name.length)); // 济源市沁园街道 → 沁园街道
      for (const form of [...forms]) if (/街道$/u.test(form)) add(`${form}办事处`);
      break;
  }
  return forms;
}

/** 西湖区 → 西湖; 长阳土家族自治县 → 长阳; and the stem with the other county suffixes, since units move
 * between 县, 市 and 区 (崇明县 → 崇明区) and old address books keep the old one. */
function countyShortForms(name: string): string[] {
  const autonomous = /自治[县旗]$/u.test(name);
  const bare = name.replace(/(自治县|自治旗|林区|特区|新区|矿区|区|县|市|旗)$/u, '');
  const stem = autonomous ? withoutEthnic(bare) : bare;
  if (stem.length < 2 || stem === name) return [];
  return [stem, ...['县', '区', '市'].map((s) => stem + s).filter((f) => f !== name)];
}

export function isMunicipalityCity(d: Division): boolean {
  return d.level === 'city' && d.parent !== undefined && d.name === d.parent.name;
}

/** A city-level unit with no county level under it (东莞, 嘉峪关, and 仙桃-style units under the province). */
export function hasNoCounties(d: Division): boolean {
  return d.level === 'city' && !d.children.some((c) => c.level === 'county');
}
