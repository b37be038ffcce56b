// The parts of a street text that must not reach paper through another field: street and place names,
// building / unit / room tokens and house numbers, each as a probe over a screened field's text.

import { chars, escape, fold, literalProbe, patternProbe, wholeWord, WORD_CHAR, type Probe } from './textProbes';

export type StreetPart = 'street or place name' | 'building, unit or room' | 'house number';

const HAN_RUN = /\p{Script=Han}+/gu;
const HAN_PLACE_WORD = /胡同|广场|大厦|大楼|中心|花园|小区|公寓|新村|家园|大道|大街|路|街|道|巷|弄|园|苑|村|城|庄|坊|湾|府|汇|阁|邸/gu;
/** The place words of roads: a place name right before one (铜锣湾 of 铜锣湾道) is the district the road is named after. */
const ROAD_WORD = /^(?:大道|大街|路|街|道|巷|弄)$/u;
/** Han characters of a place's name taken before its place word: enough to name it, few enough to catch a shortened name. */
const HAN_NAME_CHARS = 2;

const HAN_NUMERALS = '零〇一二三四五六七八九十百千两';
/**
 * Unit words after their number, as folded text has them (traditional characters simplified: 單元 is 单元,
 * Japanese 階 is 阶), Korean 동 (building) and 호 (flat); a floor alone (层, 층) is none: 7层置物架 is a shelf.
 */
const HAN_UNIT = new RegExp(`([0-9a-z]{1,6}|[${HAN_NUMERALS}]{1,6})[\\s.\\-]*(号楼|号院|号室|号房|幢|栋|单元|室|房|座|户|铺位|铺|阶|동|호)`, 'gu');
const HAN_NUMERAL_START = new RegExp(`^[${HAN_NUMERALS}]`, 'u');
const HAN_DIGIT_VALUES: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const HAN_POWERS: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };
const HAN_DIGITS_IN_ORDER = '零一二三四五六七八九';

/** A Han numeral as Arabic digits: read digit by digit (一二零三) or counted (一千二百零三, 十二). */
export function arabicOf(han: string): string | undefined {
  const letters = [...han];
  if (!letters.some((c) => c in HAN_POWERS)) return letters.map((c) => HAN_DIGIT_VALUES[c] ?? '').join('') || undefined;
  let total = 0;
  let digit: number | undefined;
  for (const c of letters) {
    if (c in HAN_POWERS) {
      total += (digit ?? 1) * HAN_POWERS[c]!;
      digit = undefined;
    } else digit = HAN_DIGIT_VALUES[c];
  }
  return String(total + (digit ?? 0));
}

/** The ways a number is written in Han numerals: digit by digit (一二零三, 一二〇三) and counted (一千二百零三). */
function hanFormsOf(digits: string): string[] {
  const byDigit = [...digits].map((d) => HAN_DIGITS_IN_ORDER[Number(d)]!).join('');
  const forms = [byDigit, byDigit.replace(/零/g, '〇')];
  const n = Number(digits);
  if (digits.length <= 4 && !digits.startsWith('0') && n > 0) forms.push(counted(n));
  return [...new Set(forms)];
}

function counted(n: number): string {
  let out = '';
  let zero = false;
  for (const [power, word] of [[1000, '千'], [100, '百'], [10, '十'], [1, '']] as const) {
    const d = Math.floor(n / power) % 10;
    if (d === 0) {
      zero = out !== '';
      continue;
    }
    if (zero) out += '零';
    zero = false;
    // 十二, not 一十二, when the number starts at the tens.
    out += (d === 1 && power === 10 && out === '' ? '' : HAN_DIGITS_IN_ORDER[d]!) + word;
  }
  return out;
}

/** Unit words written before their number, by family (any spelling of the family matches). */
const UNIT_WORDS: readonly (readonly string[])[] = [
  ['apartment', 'apt', 'appartement', 'appt', 'apartamento', 'apto', 'departamento', 'dpto', 'depto', 'wohnung', 'whg', 'квартира', 'кв'],
  ['unit'],
  ['flat'],
  ['suite', 'ste'],
  ['room', 'rm', 'kamer', 'chambre', 'zimmer'],
  ['floor', 'fl', 'piso', 'etage', 'piano', 'этаж'],
  ['level', 'lvl'],
  ['tower'],
  ['block', 'blk'],
  ['building', 'bldg', 'batiment', 'bat', 'корпус', 'корп'],
  ['staircase', 'escalier', 'esc', 'scala'],
  ['box', 'postfach', 'apartado', 'casilla'],
  ['lot'],
];
/** A unit word glued to its number ("apt4b", "kv15"). */
const GLUED_UNIT = /^(\p{L}+)\.?#?(\d[\p{L}\p{N}]{0,4})$/u;
/** A unit number after "#" ("#1203"), a floor written "3F" or "12/F", an ordinal floor or door ("3º 2ª", folded 3o 2a). */
const HASH_UNIT = /#\s*(\d{1,5}[a-z]?)(?![\p{L}\p{N}])/gu;
const F_FLOOR = /(?<![\p{L}\p{N}])(\d{1,3})\s*\/?\s*f(?![\p{L}\p{N}])/gu;
const ORDINAL_UNIT = /(?<![\p{L}\p{N}])(\d{1,3})\s*[ºª](?![\p{L}\p{N}])/gu;
/** Floor words written after their number ("3. OG", "15.º andar", "3rd floor"). */
const FLOOR_AFTER = ['og', 'andar', 'floor', 'fl', 'flr', 'etage', 'stock', 'piso', 'piano', 'этаж'];

/** Street and building words written after the name, by family. */
const NAME_THEN_TYPE: readonly (readonly string[])[] = [
  ['street', 'st', 'str'],
  ['road', 'rd'],
  ['avenue', 'ave', 'av'],
  ['boulevard', 'blvd'],
  ['lane', 'ln'],
  ['drive', 'dr'],
  ['court', 'ct'],
  ['place', 'pl'],
  ['square', 'sq'],
  ['terrace', 'tce', 'terr'],
  ['crescent', 'cres'],
  ['highway', 'hwy'],
  ['parkway', 'pkwy'],
  ['circle', 'cir'],
  ['parade', 'pde'],
  ['gardens', 'gdns'],
  ['close'], ['way'], ['row'], ['mews'], ['grove'], ['walk'], ['quay'], ['wharf'], ['esplanade'], ['alley'], ['plaza'],
  ['house'], ['mansions'], ['heights'], ['towers'], ['centre', 'center'], ['residences'], ['apartments'],
  ['strasse', 'str'], ['weg'], ['gasse'], ['platz'], ['allee'], ['damm'], ['ufer'], ['straat'], ['laan'], ['plein'], ['gracht'],
];
/** Street and building words written before the name, by family. */
const TYPE_THEN_NAME: readonly (readonly string[])[] = [
  ['rua', 'r'], ['rue'], ['avenida', 'avda', 'av'], ['avenue', 'av'], ['boulevard', 'bd', 'blvd'], ['calle', 'c'], ['via'], ['viale'],
  ['strada'], ['piazza'], ['plaza'], ['praca'], ['largo'], ['travessa'], ['place', 'pl'], ['chemin'], ['allee'], ['quai'],
  ['ulica', 'ul'], ['jalan', 'jl'], ['edificio', 'ed'], ['maison'], ['residencia'], ['torre'],
];
/** Words between a leading type word and the name ("Rua do Campo"). */
const LINKING_WORDS: ReadonlySet<string> = new Set(['de', 'do', 'da', 'dos', 'das', 'del', 'della', 'di', 'du', 'des', 'la', 'le', 'les', 'los', 'las', 'el', 'the']);
/** One-word street names: a name stem of 3+ letters glued to its street word. */
const GLUED_STREET = /^\p{L}{3,}(?:strasse|gasse|weg|platz|allee|damm|ufer|straat|laan|gracht|plein)$|^\p{L}{3,}-(?:cho|machi|dori|ro|gil|daero|dong)$/u;

/** Word → its family, first family winning (str is a street before it is a Straße). */
const byWord = (families: readonly (readonly string[])[]) => {
  const map = new Map<string, readonly string[]>();
  for (const family of families) for (const word of family) if (!map.has(word)) map.set(word, family);
  return map;
};
const UNIT_BY_WORD = byWord(UNIT_WORDS);
const NAME_THEN_TYPE_BY_WORD = byWord(NAME_THEN_TYPE);
const TYPE_THEN_NAME_BY_WORD = byWord(TYPE_THEN_NAME);
const alternation = (words: readonly string[]) => `(?:${words.map(escape).join('|')})\\.?`;
const hasLetter = (w: string) => /\p{L}/u.test(w);
const isTypeOrUnit = (w: string) => UNIT_BY_WORD.has(w) || NAME_THEN_TYPE_BY_WORD.has(w) || TYPE_THEN_NAME_BY_WORD.has(w);

/** Amounts after a number: "500g", "100 ml", "200件" are quantities, not house numbers. */
const LATIN_UNITS = 'mg|g|kg|ml|l|mm|cm|m|km|mah|w|kw|v|mb|gb|tb|pcs|pc|x';
const HAN_UNITS = '克|千克|公斤|斤|毫升|升|厘米|毫米|米|件|个|片|粒|包|瓶|盒|袋|支|只|张|本|套|双|对|台|元|寸';
const QUANTITY_AFTER = `(?!\\s*(?:(?:${LATIN_UNITS})(?!${WORD_CHAR})|${HAN_UNITS}))`;
const NUMBER_GROUPS = /\d+(?:[-\u2010-\u2015/]\d+)*/g;
/** What stands between a house number and a unit number written after it: a unit or house word, a sign, spaces. */
const HOUSE_TO_UNIT = /^(?:\s*(?:号楼|号院|号|幢|栋|单元|室|座|楼|层|弄|巷|[-\u2010-\u2015/#,.]|\p{L}{1,4}\.?)?\s*)$/u;
const JOINED_HOUSE_MIN = 5;

/**
 * A part of a street text and the probe that finds it. `area`: a place name that a road's name is made of
 * (铜锣湾 of 铜锣湾道, 九龙城 of 九龙城道), which is also the district a city field names.
 */
export interface StreetPartProbe {
  part: StreetPart;
  probe: Probe;
  area?: true;
}

export function streetParts(text: string): StreetPartProbe[] {
  const parts: StreetPartProbe[] = [];
  const add = (part: StreetPart, probe: Probe, area?: true) => parts.push({ part, probe, ...(area ? { area } : {}) });
  const folded = fold(text);

  // Han place names: the place word and the characters before it in the same run.
  for (const [run] of folded.matchAll(HAN_RUN)) {
    const words = [...run.matchAll(HAN_PLACE_WORD)];
    words.forEach((m, i) => {
      const start = Math.max(0, m.index - HAN_NAME_CHARS);
      if (m.index - start < 1 || m.index + m[0].length - start < 3) return;
      const end = m.index + m[0].length;
      const next = words[i + 1];
      add('street or place name', literalProbe('compact', run.slice(start, end)), next?.index === end && ROAD_WORD.test(next[0]) ? true : undefined);
    });
  }

  // Han units: 5幢, 2单元, 1102室, b座, 三单元 (a Han-numeral id must make 3 characters with its word), each
  // in both numerals (三栋二单元 is 3栋2单元). Compared on folded text, so the id's left edge is seen
  // ("Court 1102室" is 1102室, "15幢" is not 5幢).
  const unitIds: { id: string; end: number; start: number }[] = [];
  for (const m of folded.matchAll(HAN_UNIT)) {
    const id = m[1] ?? '';
    const word = m[2] ?? '';
    const arabic = HAN_NUMERAL_START.test(id) ? arabicOf(id) : id;
    const numeric = arabic !== undefined && /^\d+$/.test(arabic);
    const spellings = new Set([id, ...(arabic !== undefined ? [arabic] : []), ...(numeric ? hanFormsOf(arabic) : [])]);
    const ids = [...spellings].flatMap((spelling) => {
      const hanId = HAN_NUMERAL_START.test(spelling);
      if (hanId && chars(spelling + word).length < 3) return [];
      return [`(?<![${hanId ? HAN_NUMERALS : '0-9a-z'}])${escape(spelling)}`];
    });
    // One probe for all spellings, guarded by the unit word's last character, which every match holds.
    if (ids.length) add('building, unit or room', patternProbe('folded', word.slice(-1), `(?:${ids.join('|')})[\\s.\\-]*${[...word].join('\\s*')}`));
    if (numeric) unitIds.push({ id: arabic, start: m.index, end: m.index + m[0].length });
  }
  // Units in a row are also written as one number: 3栋2单元1203室 is 3-2-1203, and 2-1203.
  const joined: string[] = [];
  const inRow = (numbers: { id: string; start: number; end: number }[], between: RegExp, least: number) => {
    for (let i = 0; i < numbers.length; i++) {
      let j = i;
      while (j + 1 < numbers.length && between.test(folded.slice(numbers[j]!.end, numbers[j + 1]!.start))) j++;
      for (let k = i; k < j; k++) {
        const row = numbers.slice(k, j + 1).map((u) => u.id);
        if (row.join('').length >= least) joined.push(row.join('-'));
      }
      i = j;
    }
  };
  inRow(unitIds, /^\s*$/, 0);
  // So is a house number with the numbers after it (478号1602室 is 478-1602, 12号3栋 12-3): from 5 digits,
  // as shorter pairs of numbers meet by chance.
  inRow([...folded.matchAll(/\d+/g)].map((m) => ({ id: m[0], start: m.index, end: m.index + m[0].length })), HOUSE_TO_UNIT, JOINED_HOUSE_MIN);

  // Most texts hold no "#", "f" or ordinal sign: these patterns are not run over them (10,000 orders a batch).
  const unitsBy = (pattern: RegExp, source: string, body: (n: string) => string) => {
    for (const m of source.matchAll(pattern)) add('building, unit or room', patternProbe('folded', m[1]!, `(?<![\\p{L}\\p{N}])${body(escape(m[1]!))}(?![\\p{L}\\p{N}])`));
  };
  if (folded.includes('#')) unitsBy(HASH_UNIT, folded, (n) => `#\\s*${n}`);
  if (folded.includes('f')) unitsBy(F_FLOOR, folded, (n) => `${n}\\s*\\/?\\s*f`);
  if (/[ºª]/.test(text)) unitsBy(ORDINAL_UNIT, text, (n) => `${n}\\s*[oa]`);

  const segments = folded.split(/[,;()/:]+/);
  for (const segment of segments) {
    const words = segment.split(/\s+/).map((w) => w.replace(/\.$/, '')).filter((w) => w !== '');
    words.forEach((word, i) => {
      const prev = words[i - 1];
      const next = words[i + 1];
      // Latin unit before its number: "apt 4b", "flat 8c", "suite 1205", "level 3".
      const unit = UNIT_BY_WORD.get(word);
      if (unit && next && /^(?=.*\d)[\p{L}\p{N}]{1,5}$|^[a-z]$/u.test(next))
        add('building, unit or room', patternProbe('folded', next, wholeWord(`${alternation(unit)}[\\s#:.\\-]*${escape(next)}`)));
      const glued = GLUED_UNIT.exec(word);
      const gluedUnit = glued && UNIT_BY_WORD.get(glued[1]!);
      if (glued && gluedUnit) add('building, unit or room', patternProbe('folded', glued[2]!, wholeWord(`${alternation(gluedUnit)}[\\s#:.\\-]*${escape(glued[2]!)}`)));
      // Floor after its number: "3. og", "15.o andar", "3rd floor".
      if (FLOOR_AFTER.includes(word) && prev) {
        const n = /^(\d{1,3})(?:st|nd|rd|th|e|er|o|a)?\.?(?:o|a)?$/.exec(prev)?.[1];
        if (n) add('building, unit or room', patternProbe('folded', word, `(?<!\\d)${n}(?:st|nd|rd|th|e|er)?\\.?\\s*[oa]?\\.?\\s*${escape(word)}(?!${WORD_CHAR})`));
      }
      // Street or building name: the type word with the name word next to it.
      const after = NAME_THEN_TYPE_BY_WORD.get(word);
      if (after && prev && hasLetter(prev) && prev.length >= 2 && !isTypeOrUnit(prev))
        add('street or place name', patternProbe('folded', prev, wholeWord(`${escape(prev)}[\\s.\\-]*${alternation(after)}`)));
      const before = TYPE_THEN_NAME_BY_WORD.get(word);
      if (before) {
        let j = i + 1;
        while (j < words.length && LINKING_WORDS.has(words[j]!)) j++;
        const name = words[j];
        if (name && hasLetter(name) && name.length >= 2 && !isTypeOrUnit(name))
          add('street or place name', patternProbe('folded', name, wholeWord([alternation(before), ...words.slice(i + 1, j).map(escape), escape(name)].join('[\\s.\\-]*'))));
      }
      if (GLUED_STREET.test(word)) add('street or place name', patternProbe('folded', word, wholeWord(escape(word))));
    });
  }

  // House numbers: 3+ digits (digit groups joined by - or / count together), as a whole number; in a
  // group, its last number (the room of 1-2-301) on its own too.
  const groupsOf = [...folded.matchAll(NUMBER_GROUPS)].flatMap(([groups]) => {
    const last = groups.split(/[^\d]/).pop()!;
    return last !== groups && last.length >= 3 ? [groups, last] : [groups];
  });
  for (const groups of new Set([...groupsOf, ...joined])) {
    if (groups.replace(/\D/g, '').length < 3) continue;
    const numbers = groups.split(/[^\d]/);
    const body = numbers.join('[-\\u2010-\\u2015/]');
    add('house number', patternProbe('folded', numbers[0] ?? groups, `(?<!\\d[-\\u2010-\\u2015/]?)${body}(?![-\\u2010-\\u2015/]?\\d)${QUANTITY_AFTER}`));
  }
  return parts;
}
