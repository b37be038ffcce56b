// The parts of a street text that must not reach paper through another field: street and place names,
// building / unit / room tokens and house numbers, each as a probe over a screened field's text.

import { chars, escape, fold, literalProbe, patternProbe, wholeWord, WORD_CHAR, type Probe } from './textProbes';

export type StreetPart = 'street or place name' | 'building, unit or room' | 'house number';

const HAN_RUN = /\p{Script=Han}+/gu;
const HAN_PLACE_WORD = /胡同|广场|大厦|大楼|中心|花园|小区|公寓|新村|家园|大道|大街|路|街|道|巷|弄|园|苑|村|城|庄|坊|湾|府|汇|阁|邸/gu;
/** Han characters of a place's name taken before its place word: enough to name it, few enough to catch a shortened name. */
const HAN_NAME_CHARS = 2;

const HAN_NUMERALS = '零〇一二三四五六七八九十百两';
const HAN_UNIT = new RegExp(`([0-9a-z]{1,6}|[${HAN_NUMERALS}]{1,4})[\\s.\\-]*(号楼|号院|号室|幢|栋|单元|室|房|座|户|铺位|铺)`, 'gu');
const HAN_NUMERAL_START = new RegExp(`^[${HAN_NUMERALS}]`, 'u');

/** Unit words written before their number, by family (any spelling of the family matches). */
const UNIT_WORDS: readonly (readonly string[])[] = [
  ['apartment', 'apt'],
  ['unit'],
  ['flat'],
  ['suite', 'ste'],
  ['room', 'rm'],
  ['floor', 'fl'],
  ['level', 'lvl'],
  ['tower'],
  ['block', 'blk'],
  ['building', 'bldg'],
];
/** Floor words written after their number ("3. OG", "15.º andar", "3rd floor"). */
const FLOOR_AFTER = ['og', 'andar', 'floor', 'etage', 'stock', 'piso'];

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

export function streetParts(text: string): { part: StreetPart; probe: Probe }[] {
  const parts: { part: StreetPart; probe: Probe }[] = [];
  const add = (part: StreetPart, probe: Probe) => parts.push({ part, probe });
  const folded = fold(text);

  // Han place names: the place word and the characters before it in the same run.
  for (const [run] of folded.matchAll(HAN_RUN)) {
    for (const m of run.matchAll(HAN_PLACE_WORD)) {
      const start = Math.max(0, m.index - HAN_NAME_CHARS);
      if (m.index - start < 1 || m.index + m[0].length - start < 3) continue;
      add('street or place name', literalProbe('compact', run.slice(start, m.index + m[0].length)));
    }
  }

  // Han units: 5幢, 2单元, 1102室, b座, 三单元 (a Han-numeral id must make 3 characters with its word).
  // Compared on folded text, so the id's left edge is seen ("Court 1102室" is 1102室, "15幢" is not 5幢).
  for (const m of folded.matchAll(HAN_UNIT)) {
    const id = m[1] ?? '';
    const word = m[2] ?? '';
    const hanId = HAN_NUMERAL_START.test(id);
    if (hanId && chars(id + word).length < 3) continue;
    const body = `${escape(id)}[\\s.\\-]*${[...word].join('\\s*')}`;
    add('building, unit or room', patternProbe('folded', id, `(?<![${hanId ? HAN_NUMERALS : '0-9a-z'}])${body}`));
  }

  const segments = folded.split(/[,;()/:]+/);
  for (const segment of segments) {
    const words = segment.split(/\s+/).map((w) => w.replace(/\.$/, '')).filter((w) => w !== '');
    words.forEach((word, i) => {
      const prev = words[i - 1];
      const next = words[i + 1];
      // Latin unit before its number: "apt 4b", "flat 8c", "suite 1205", "level 3".
      const unit = UNIT_BY_WORD.get(word);
      if (unit && next && /^(?=.*\d)[0-9a-z]{1,5}$|^[a-z]$/.test(next))
        add('building, unit or room', patternProbe('folded', next, wholeWord(`${alternation(unit)}[\\s#:.\\-]*${escape(next)}`)));
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

  // House numbers: 3+ digits (digit groups joined by - or / count together), as a whole number.
  for (const [groups] of folded.matchAll(NUMBER_GROUPS)) {
    if (groups.replace(/\D/g, '').length < 3) continue;
    const numbers = groups.split(/[^\d]/);
    const body = numbers.join('[-\\u2010-\\u2015/]');
    add('house number', patternProbe('folded', numbers[0] ?? groups, `(?<!\\d[-\\u2010-\\u2015/]?)${body}(?![-\\u2010-\\u2015/]?\\d)${QUANTITY_AFTER}`));
  }
  return parts;
}
