// Screens the free text an integrator sends that reaches paper verbatim, so a mapping mistake (the
// buyer's phone in `contents`, the room number as a routing code) is refused before a waybill exists.
// Screened fields: parcel.contents, routingCode, a client waybillNo and, for international (non-CN)
// addresses, city, region and postalCode of both parties (mainland-China divisions are checked against
// the official table instead); and the order id, never printed but kept and sent on, for phones, names
// and streets (below). A pure function of the
// validated order (names as sent, phones in E.164, addresses split); each finding is an issue at the
// field's path whose message names the rule and the party, never the value or what matched.
//
// Text is compared folded: characters that draw nothing removed (zero-width spaces, joiners), circled
// digits as digits, NFKD (full-width → ASCII, accents split off and dropped), lower case, ß → ss, a
// possessive 's and apostrophes dropped. "Compact" text also drops spaces, punctuation (hyphens, dots,
// name separators ·, slashes) and symbols.
//
// Rules:
// 1. digit run: parcel.contents, an international city or region hold no run of 6 or more digits, a
//    routingCode or postalCode none of 11 (a mobile number's length; no postal code is as long). A run
//    is digits with anything but letters between them (spaces, hyphens, dots, slashes, brackets…), but
//    for the signs of sizes and specs (*, +, ×: "30*20*15cm", "12+256G" are no runs of 6; a mainland
//    mobile number is still refused written with them, "177*1234*5678"):
//    "139 6258 4017", "(139)6258/4017" and "2024-06-01" are runs of 11, 11 and 8 digits; digits of
//    every script count (full-width, circled, Arabic-Indic, Devanagari, and Han: 一三九六二五八四零一七
//    is a phone number, and so is 幺三九六两五八四洞幺拐 as said over a phone line).
// 2. phone: no field holds 6 consecutive digits of either party's phone, read from the field's digits
//    in order whatever stands between them ("139xx6258xx4017", "139号码6258号码4017", "13962ーーーーー58401",
//    "13962 hello 58401 world 7"): of its E.164 digits, which hold those of its national significant
//    number (their tail). A client waybillNo
//    is the carrier's number, which the integrator cannot choose, and 6 of its digits meet 6 of a
//    party's phone by chance in 1 of about 7,000 orders (as often as in the numbers we generate): there
//    8 count (1 in some 700,000), still every phone put there by mistake; the print alerts on 6 or 7
//    (waybillNoNearPhone, printWaybills.ts).
// 3. name: no field holds either party's full name (compact; alphabetic names as whole words, so
//    "Bo Li" is not in "Bolivia", and one of 8 or more letters also in compact text, so spelt out or
//    split by punctuation) or a given name, of the name as sent and without its titles and notes
//    (测试某某先生, 测试某某（收）, Mr. Smith: nameParts.ts):
//    - Han or Hangul names: the name minus its surname (compound surnames from maskName.ts), and for a
//      spaced name ("高橋 悠斗") each word after the first; compared compact.
//    - ·-separated names: every segment (maskName hides the first one too: it is the given name).
//    - other names: every word (split at spaces and hyphens; "O'Connor" also as Connor) of 3 or more
//      letters except particles (de los, van, bin …), as a whole word, one of 7 or more also in compact
//      text ("gift4Alexandra"); Han or kana words of 2 or more.
//    A one-character given name (李四 → 四) is NOT screened on its own: it is also a common character
//    (四件套, 明前龙井, 华为 …) and would refuse real product names, while paper shows the surname
//    only, so a lone character links to nobody. The full name (李四) is still screened.
//    In city and region, one alphabetic name word is not enough: places are named after people
//    (Austin, Victoria, North Carolina) and these fields are routing data; two words or the full
//    name are refused there too.
// 4. street: no field holds a part of either party's street text (CN street/detail, international
//    line1/line2). A part is
//    - a street or place name: a Han place word (路 街 道 巷 弄 胡同 广场 大厦 中心 花园 小区 公寓 园
//      苑 村 城 …) with the 2 Han characters before it (文三路; 时代广场 of 华星时代广场); a Latin
//      street or building word with the name word next to it ("Canton Road", "Vista Court", "Rua do
//      Campo", "Maison Aoba"; any spelling of the word: "Mission St"), or a word ending in one
//      (Hauptstraße, Sakuragaoka-cho). A street word alone is no part: "Road bike parts" passes;
//    - a building, unit or room: a number or letter with its unit word (5幢, 2单元, 1102室, 8号楼, 3号院,
//      B座, 1903房, 三单元 — Han-numeral ones from 3 characters, as 一座 also counts lamps — each in
//      both numerals; 101동, 1203호; Apt 4B, Apt4B, Flat 8C, Suite 1205, Level 3, 3. OG, #1203, 12/F,
//      3º, кв. 15, PO Box 12). 号, 层 and 楼 alone are no unit words: 5号电池 and 7层置物架 are products;
//    - a house number: 3 or more digits (digit groups joined by - or / count together: 3-14-7, and the
//      last of them on its own: the room of 1-2-301; units in a row too: 3栋2单元1203室 is 3-2-1203,
//      and a house number with the numbers after it from 5 digits: 478号1602室 is 478-1602)
//      as a whole number, i.e. not inside a longer one, and not followed by a quantity unit (500g,
//      100 ml, 200 件 are amounts), also in Han numerals (四七八); not looked for in a code that is a
//      number of its own (order id, a routing code with letters, postal code and the area line), where
//      3 digits meet one by chance.
//    A party's own city or region may hold the district its street is named after (铜锣湾 of 铜锣湾道).
// 5. place: an international city, region or postal code holds no building, unit or room (anyone's: a
//    place is printed, a room is an address), a city or region no street with a number ("88 Testing
//    Road", 示例路66号), and no screened field but the codes an e-mail address, also as typed around a
//    filter ("@163。com", "(at)").
// 6. together: a party's international city, region and postal code as the label prints them side by
//    side ("Austin 139 62584", the postal code as its sorting area) are screened once more as one place,
//    by the phone, name, street and place rules and an 11-digit run, so what is split between them is
//    whole there ("Springfield Apt" and "4B").
// 7. pieces: the printed fields (the screened ones, and the weight as printed) hold, between them and in
//    any order, fewer than 6 digits of either party's national number in pieces of it: a group of exactly
//    3 digits standing alone, or any 4 in a row. "13962" as contents and "58401" as routing code, or
//    "A017 B840 C625 D139", would leave at most one digit hidden, where GB/T 41833 hides 6. The
//    carrier's waybillNo counts only beside a piece in another field (alone it is chance, rule 2). Fewer
//    pieces pass, and the label then hides every digit of that party's masked number (privacyView.ts).
// A routingCode may in addition only hold ASCII letters, digits and "-", at most 16 (orderSchema.ts),
// and a client waybillNo must match its carrier's form (waybillNumber.ts).

import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { bareName, hanSurnameLength, nameSegments } from './nameParts';
import { arabicOf, streetParts, type StreetPart, type StreetPartProbe } from './streetParts';
import { chars, compact, compactFolded, escape, fold, literalProbe, patternProbe, wholeWord, type Probe } from './textProbes';
import type { ChineseAddress, InternationalAddress } from './addressSchema';
import { postalArea } from './postalArea';
import { simplified } from './simplified';

export interface ScreenIssue {
  path: (string | number)[];
  message: string;
}

interface ScreenedParty {
  name: string;
  /** E.164. */
  phone: string;
  address: ChineseAddress | InternationalAddress;
}

/** The part of a validated order the screen reads (structural, so the schema can call it on its own output). */
export interface PrintedTextOrder {
  orderId?: string | undefined;
  waybillNo?: string | undefined;
  routingCode?: string | undefined;
  parcel: { contents?: string | undefined; weightKg?: number | undefined };
  sender: ScreenedParty;
  recipient: ScreenedParty;
}

const PARTIES = ['sender', 'recipient'] as const;
type Who = (typeof PARTIES)[number];

/** place: one name word is no name (places are named after people); code: no names-as-words, no e-mail rule. */
type FieldKind = 'contents' | 'place' | 'code';

interface ScreenedField {
  path: (string | number)[];
  kind: FieldKind;
  /** How many digits in a row refuse the field, anyone's (none: no such rule). */
  digitRun: number | undefined;
  /** Whether a building, unit or room refuses the field, anyone's. */
  units: boolean;
  /** The text as sent. */
  text: string;
  /** Folded text: for whole-word and whole-number probes. */
  folded: string;
  /** Folded text with the digits of every script and Han numerals as ASCII digits. */
  numerals: string;
  /** Compact text: for substrings of scripts written without spaces, and names with spaces ignored. */
  compact: string;
  /** Digit runs with their separators removed. */
  runs: string[];
  /** Every digit of the field in order, whatever stands between them (the phone rule's). */
  digits: string;
  /** How many consecutive digits of a party's phone refuse the field. */
  phoneRun: number;
  /** Fields printed side by side, read together once none of them is refused on its own. */
  joined?: true;
  /** What the place rule (5) reads, where it is not the text: a joined line's without its postal code. */
  place?: string;
  /** Not on paper (the order id): no pieces (rule 7). */
  unprinted?: true;
  /**
   * A code that is a number of its own (order id, a routing code with letters, postal code, and the area
   * line that prints the postal area): 3 digits of it meet a house number by chance, so house numbers are
   * not looked for there.
   */
  noHouseNumbers?: true;
}

interface PartySecrets {
  /** The phone's E.164 digits. */
  phoneDigits: string;
  /** Its national significant number's. */
  nationalDigits: string;
  /** Full names, and given names of scripts written without spaces. */
  names: Probe[];
  /** Given names as alphabetic words (each with its spellings); in place fields only two or more count. */
  nameWords: Probe[][];
  street: StreetPartProbe[];
}

const DIGIT_RUN_MIN = 6;
/** In a routing or postal code: a mobile number's length (no postal code is as long), so a phone or an ID card number. */
const CODE_DIGIT_RUN_MIN = 11;
/** Letters of a full name in a script written with spaces from which it is also looked for in compact text. */
const COMPACT_NAME_MIN = 8;
/** Letters of one name word from which it is also looked for in compact text. */
const COMPACT_WORD_MIN = 7;
const PHONE_RUN = 6;
const WAYBILL_NO_PHONE_RUN = 8;

const message = {
  digitRun: (run: number) => `must not contain ${run} or more digits in a row (anything but letters between digits counts as none)`,
  mobile: 'must not contain a mobile phone number',
  phone: (who: Who, run: number) => `must not contain ${run} or more digits in a row of the ${who}'s phone number`,
  pieces: (who: Who, others: string[]) =>
    `must not hold${others.length ? `, with ${others.join(' and ')},` : ''} ${PHONE_RUN} or more digits of the ${who}'s phone number (in pieces of 3 or more, in any order)`,
  name: (who: Who) => `must not contain the ${who}'s name or given name`,
  street: (who: Who, part: StreetPart) => `must not contain part of the ${who}'s street address (a ${part})`,
  unitInPlace: 'must not contain a building, unit or room: it belongs in line1 or line2, which are never printed',
  streetInPlace: 'must not contain a street with a house number: it belongs in line1 or line2, which are never printed',
  joined: ' (city, region and postal code, read together as the label prints them)',
  email: 'must not contain an e-mail address',
};

export function screenPrintedText(order: PrintedTextOrder): ScreenIssue[] {
  const issues: ScreenIssue[] = [];
  const fields = screenedFields(order);
  if (fields.length === 0) return issues;
  const secrets = { sender: partySecrets(order.sender), recipient: partySecrets(order.recipient) };
  for (const field of fields) {
    // Fields read together are screened only when none of them was refused on its own.
    if (field.joined && issues.some((i) => field.path.every((p, k) => i.path[k] === p))) continue;
    const found = (msg: string) => issues.push({ path: field.path, message: field.joined ? msg + message.joined : msg });
    const { digitRun } = field;
    if (digitRun !== undefined && field.runs.some((r) => r.length >= digitRun)) found(message.digitRun(digitRun));
    // Anyone's mobile number, also written with the signs that break a run (177*1234*5678).
    else if (digitRun !== undefined && runsIn(field.numerals, MOBILE_RUN).some((r) => MOBILE.test(r))) found(message.mobile);
    // A place is printed: whosever room or mailbox it holds, that is a person's address, not a place; and
    // so is a street with a number ("88 Testing Road", 示例路66号), where a place word alone names places
    // (九龙城, 铜锣湾, 北海道).
    if (field.units) {
      const place = field.place ?? field.text;
      const parts = streetParts(place).map((p) => p.part);
      // In a place (no product is named there), a floor (5楼, 13层) is an address too, and so is a numbered
      // lane or house (12巷, 3弄, 5号), in either numerals.
      const folded = fold(place);
      const numerals = asciiDigits(folded);
      if (parts.includes('building, unit or room') || HAN_FLOOR.test(numerals)) found(message.unitInPlace);
      if (field.kind === 'place' && ((NUMBER.test(folded) && parts.includes('street or place name')) || HAN_STREET_NUMBER.test(numerals))) found(message.streetInPlace);
    }
    if (field.kind !== 'code' && EMAIL.test(field.folded)) found(message.email);
    for (const who of PARTIES) {
      const s = secrets[who];
      if (sharesDigits(field.digits, s.phoneDigits, field.phoneRun)) found(message.phone(who, field.phoneRun));
      const words = s.nameWords.filter((spellings) => spellings.some((p) => probe(p, field))).length;
      if (s.names.some((p) => probe(p, field)) || words >= (field.kind === 'place' ? 2 : 1)) found(message.name(who));
      // A house or room number is read in Han numerals too (一二〇三 is 1203).
      // A party's own city or region may name the district a street of theirs is named after (铜锣湾 of
      // 铜锣湾道): that district is what the place prints anyway.
      const own = field.kind === 'place' && field.path[0] === who;
      const street = s.street.filter(({ part, area }) => !(part === 'house number' && field.noHouseNumbers) && !(area && own));
      const parts = new Set(street.filter(({ part, probe: p }) => probe(p, field) || (part === 'house number' && p.test(field.numerals))).map(({ part }) => part));
      for (const part of parts) found(message.street(who, part));
    }
  }
  if (issues.length) return issues;
  const printed = fields.filter((f) => !f.joined && !f.unprinted).map((f) => ({ path: f.path, numerals: f.numerals }));
  if (order.parcel.weightKg !== undefined) printed.push({ path: ['parcel', 'weightKg'], numerals: String(printedWeight(order.parcel.weightKg)) });
  for (const who of PARTIES) {
    const { nationalDigits } = secrets[who];
    const shown = new Set<number>();
    const holding = printed.filter((f) => phonePieces(f.numerals, nationalDigits, shown));
    // The carrier's number alone is chance (rule 2 reads it from 8, and the print alerts); with a piece
    // the integrator wrote beside it, the label spells the phone.
    if (shown.size >= PHONE_RUN && holding.some((f) => f.path[0] !== 'waybillNo'))
      issues.push({ path: holding[0]!.path, message: message.pieces(who, holding.slice(1).map((f) => f.path.join('.'))) });
  }
  return issues;
}

/**
 * Adds the places in a national number of the pieces of it that text (folded, ASCII digits) holds, in any
 * order: a group of exactly 3 digits standing alone ("017*840*625*139"), and any 4 digits in a row; whether
 * there were any. Shorter pieces are left to chance: 2 digits of a phone are in most numbers.
 */
function phonePieces(numerals: string, national: string, into: Set<number>): boolean {
  let any = false;
  const mark = (piece: string) => {
    for (let at = national.indexOf(piece); at >= 0; at = national.indexOf(piece, at + 1)) {
      for (let k = at; k < at + piece.length; k++) into.add(k);
      any = true;
    }
  };
  for (const group of numerals.match(/\d+/g) ?? []) {
    if (group.length === 3) mark(group);
    for (let i = 0; i + 4 <= group.length; i++) mark(group.slice(i, i + 4));
  }
  return any;
}

/**
 * A weight as printed: to the gram, so a number sent with more decimals (a float's 1.2000000000000002, or
 * digits put there on purpose) never reaches paper whole. The least is 1 g.
 */
export function printedWeight(kg: number): number {
  return Math.max(0.001, Math.round(kg * 1000) / 1000);
}

function screenedFields(order: PrintedTextOrder): ScreenedField[] {
  const fields: ScreenedField[] = [];
  const add = (
    path: (string | number)[],
    text: string | undefined,
    kind: FieldKind,
    rules: { digitRun?: number; units?: boolean; phoneRun?: number; joined?: true; place?: string; unprinted?: true; noHouseNumbers?: true },
  ) => {
    if (!text) return;
    const folded = fold(text);
    const digits = asciiDigits(folded);
    const { digitRun, units = false, phoneRun = PHONE_RUN, ...more } = rules;
    fields.push({ path, kind, digitRun, units, text, folded, numerals: digits, compact: compactFolded(folded), runs: runsIn(digits, DIGIT_RUN), digits: digits.replace(/\D/g, ''), phoneRun, ...more });
  };
  // The order id is the client's own reference and never printed, but it travels in answers, webhooks and
  // search URLs, and stays in the store after the order's data is shredded: a phone (from the waybill
  // number's 8 digits, as order ids are long numbers too), a name or a street put there is refused. A house
  // number is not looked for: 3 digits of an id meet one by chance.
  add(['orderId'], order.orderId, 'code', { phoneRun: WAYBILL_NO_PHONE_RUN, unprinted: true, noHouseNumbers: true });
  add(['parcel', 'contents'], order.parcel.contents, 'contents', { digitRun: DIGIT_RUN_MIN });
  // A sort code with letters (571-B49) meets a house number by chance; one of numbers alone (1102, 2-1102)
  // is a room or house mapped there by mistake.
  add(['routingCode'], order.routingCode, 'code', { digitRun: CODE_DIGIT_RUN_MIN, ...(order.routingCode && /\p{L}/u.test(order.routingCode) ? { noHouseNumbers: true as const } : {}) });
  // The carrier's number, long and chosen by the carrier: only the phone rule, from more digits.
  add(['waybillNo'], order.waybillNo, 'code', { phoneRun: WAYBILL_NO_PHONE_RUN });
  for (const who of PARTIES) {
    const a = order[who].address;
    // Mainland-China divisions are checked against the official table; only free-form ones are screened.
    if (a.country === 'CN') continue;
    const intl = a as InternationalAddress;
    add([who, 'address', 'city'], intl.city, 'place', { digitRun: DIGIT_RUN_MIN, units: true });
    add([who, 'address', 'region'], intl.region, 'place', { digitRun: DIGIT_RUN_MIN, units: true });
    // A UK-style postcode in its own form holds no unit, though its area may read as one (RM1 3ER: Romford).
    const postcode = intl.postalCode && UK_STYLE.has(intl.country) && UK_POSTCODE.test(intl.postalCode.trim());
    add([who, 'address', 'postalCode'], intl.postalCode, 'code', { digitRun: CODE_DIGIT_RUN_MIN, noHouseNumbers: true, ...(postcode ? {} : { units: true }) });
  }
  // The area line prints them side by side ("Austin 139 62584"): a phone or a name split between them is
  // whole there. Checked after the parts.
  for (const who of PARTIES) {
    const a = order[who].address;
    if (a.country === 'CN') continue;
    const intl = a as InternationalAddress;
    const place = [intl.city, intl.region].filter(Boolean).join(' ');
    const line = [place, intl.postalCode && postalArea(intl.country, intl.postalCode)].filter(Boolean).join(' ');
    add([who, 'address'], line, 'place', { digitRun: CODE_DIGIT_RUN_MIN, units: true, joined: true, place, noHouseNumbers: true });
  }
  return fields;
}

function probe(p: Probe, field: ScreenedField): boolean {
  return p.test(p.on === 'folded' ? field.folded : field.compact);
}

const SPACELESS = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const HAN_OR_HANGUL = /^[\p{Script=Han}\p{Script=Hangul}]/u;

/** Digits with anything but letters between them, and but the signs of sizes and specs (30*20*15, 12+256G, 3×4). */
const DIGIT_RUN = /\d(?:[^\p{L}\p{N}*+×]*\d)*/gu;
/** Digits with anything but letters between them, the signs of sizes included, and a mainland mobile number in them. */
const MOBILE_RUN = /\d(?:[^\p{L}\p{N}]*\d)*/gu;
const MOBILE = /1[3-9]\d{9}/;
/** Countries whose postcodes are written the UK's way, and that way (outward code, space, inward code). */
const UK_STYLE: ReadonlySet<string> = new Set(['GB', 'GG', 'JE', 'IM']);
const UK_POSTCODE = /^[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}$/i;
/**
 * A floor after its number (5楼, 13层, 3층, 5 этаж) and a numbered house, lane or block (5号, 12巷, 3弄, 5番地):
 * in a product's name an amount, in a place an address.
 */
const HAN_FLOOR = /\d\s*(?:[楼层층]|этаж|эт\.)/u;
const HAN_STREET_NUMBER = /\d\s*[号巷弄番]/u;
/** A number written in digits (of any script; Han numerals name places too: 九龙城). */
const NUMBER = /\p{Nd}/u;
/**
 * An e-mail address, also as typed to get past a filter or by a Chinese input method: "@ 163.com",
 * "@163。com" (the ideographic full stop), "@163,com", "(at)", "[at]".
 */
const EMAIL = /(?:@\s*[\p{L}\p{N}-]+\s*[.。,]|[([]at[)\]]\s*[\p{L}\p{N}-]+\s*(?:[.。]|[([]dot[)\]]))\s*[\p{L}\p{N}]/u;
/**
 * Han digits spell a phone number as well as Arabic ones do (一三九六二五八四零一七), in their financial
 * forms too (simplified and traditional: 壹贰叁 / 壹貳參), and so do the digits people say over a phone line
 * (幺 or 么 1, 两 or 兩 2, 洞 0, 拐 7, 勾 9: 幺三九…), the old forms 弌 弍 弎, the Suzhou numerals of
 * market slips (〡〢〣…) and counting rods (𝍠𝍡𝍢…); 十 and 百 are no digits.
 */
const HAN_DIGIT_VALUE: Record<string, string> = {
  ...Object.fromEntries([...'〇零一二三四五六七八九'].map((d, i) => [d, String(Math.max(0, i - 1))])),
  ...Object.fromEntries([...'壹贰叁肆伍陆柒捌玖'].map((d, i) => [d, String(i + 1)])),
  ...Object.fromEntries([...'壹貳參肆伍陸柒捌玖'].map((d, i) => [d, String(i + 1)])),
  ...Object.fromEntries([...'〡〢〣〤〥〦〧〨〩'].map((d, i) => [d, String(i + 1)])),
  ...Object.fromEntries([...'𝍠𝍡𝍢𝍣𝍤𝍥𝍦𝍧𝍨'].map((d, i) => [d, String(i + 1)])),
  参: '3',
  弌: '1',
  弍: '2',
  弎: '3',
  幺: '1',
  么: '1',
  两: '2',
  兩: '2',
  洞: '0',
  拐: '7',
  勾: '9',
};
const HAN_DIGITS = new RegExp(`[${Object.keys(HAN_DIGIT_VALUE).join('')}]`, 'gu');

/**
 * A Han number counted with 十, 百 or 千 (四百七十八, 二十, 十二), holding at least one digit: 十, 百 or 千 alone
 * are words (十全, 百草, 千岛湖).
 */
const HAN_COUNTED = /[零〇一二三四五六七八九两]*[十百千][零〇一二三四五六七八九两十百千]*/gu;
const HAN_COUNTED_DIGIT = /[一二三四五六七八九两]/u;

/** Folded text with the digits of every script (and Han ones, counted ones too) written as ASCII digits. */
function asciiDigits(folded: string): string {
  return folded
    .replace(HAN_COUNTED, (n) => (HAN_COUNTED_DIGIT.test(n) ? (arabicOf(n) ?? n) : n))
    .replace(HAN_DIGITS, (d) => HAN_DIGIT_VALUE[d] ?? d)
    .replace(DECIMAL_DIGIT, (d) => String(decimalValue(d)));
}

/** The digit runs `pattern` finds, with what stands between their digits removed. */
function runsIn(digits: string, pattern: RegExp): string[] {
  return (digits.match(pattern) ?? []).map((run) => run.replace(/\D/g, ''));
}

/** A decimal digit of a script other than ASCII (Arabic-Indic ٣, Devanagari ३, …). */
const DECIMAL_DIGIT = /(?![0-9])\p{Nd}/gu;
const IS_DECIMAL_DIGIT = /^\p{Nd}$/u;

/** Unicode encodes each script's decimal digits as 0 to 9 in a row: the value is the place in that row. */
function decimalValue(digit: string): number {
  const cp = digit.codePointAt(0)!;
  let before = 0;
  while (IS_DECIMAL_DIGIT.test(String.fromCodePoint(cp - before - 1))) before++;
  return before % 10;
}

function partySecrets(party: ScreenedParty): PartySecrets {
  const a = party.address;
  const streetTexts = a.country === 'CN' ? [(a as ChineseAddress).street, (a as ChineseAddress).detail] : [(a as InternationalAddress).line1, (a as InternationalAddress).line2];
  return {
    phoneDigits: party.phone.replace(/\D/g, ''),
    nationalDigits: nationalNumber(party.phone),
    ...nameProbes(party.name),
    street: streetTexts.flatMap((t) => (t ? streetParts(t) : [])),
  };
}

/** Whether a digit run holds `length` consecutive digits of a phone's (E.164 digits hold the national number's). */
function sharesDigits(run: string, phoneDigits: string, length: number): boolean {
  for (let i = 0; i + length <= run.length; i++) if (phoneDigits.includes(run.slice(i, i + length))) return true;
  return false;
}

/**
 * Whether a client waybillNo holds PHONE_RUN or more digits in a row of either party's phone: fewer than
 * refuse it (rule 2), enough for an alert.
 */
export function waybillNoNearPhone(order: PrintedTextOrder): boolean {
  const waybillNo = order.waybillNo;
  return waybillNo !== undefined && PARTIES.some((who) => sharesDigits(digitsOf(waybillNo), order[who].phone.replace(/\D/g, ''), PHONE_RUN));
}

/**
 * Whether printed texts, beside a masked phone that shows its last `shownLast` digits, would give the phone
 * away: when their pieces of it (phonePieces: 3 digits standing alone, 4 in a row, in any order) leave
 * fewer than 6 of the digits the mask hides unprinted ("货号 6258" under *******4017 leaves 3 of 7;
 * "联系 139" 4).
 */
export function exposesPhone(texts: readonly string[], phone: string, shownLast = 4): boolean {
  const national = nationalNumber(phone);
  const hidden = national.length - shownLast;
  const shown = new Set<number>();
  for (const text of texts) phonePieces(asciiDigits(fold(text)), national, shown);
  const hiddenShown = [...shown].filter((k) => k < hidden).length;
  return hiddenShown > 0 && hidden - hiddenShown < PHONE_RUN;
}

/** Every digit of a text, of any script, in order: what the phone rules read. */
function digitsOf(text: string): string {
  return asciiDigits(fold(text)).replace(/\D/g, '');
}

/** A phone's (E.164) national significant number. */
function nationalNumber(e164: string): string {
  return parsePhoneNumberFromString(e164)?.nationalNumber ?? e164.replace(/\D/g, '');
}

/** Particles of Romance, Dutch, German and Arabic names: words of a name, but not names. */
const NAME_PARTICLES: ReadonlySet<string> = new Set(['los', 'las', 'del', 'dos', 'das', 'des', 'van', 'von', 'der', 'den', 'della', 'bin', 'binti', 'ibn']);

/** The name as sent and without its titles and notes (王女士 → 王, 测试某某先生 → 测试某某): both are screened. */
function nameProbes(name: string): Pick<PartySecrets, 'names' | 'nameWords'> {
  const probes = { names: [] as Probe[], nameWords: [] as Probe[][] };
  // Simplified first, so a traditional compound surname (歐陽) is found as one and its given name (曉嵐) is what is looked for.
  for (const form of new Set([name, bareName(name)].map(simplified))) addNameProbes(form, probes);
  return probes;
}

function addNameProbes(name: string, { names, nameWords }: Pick<PartySecrets, 'names' | 'nameWords'>): void {
  const clean = name.normalize('NFC').trim().replace(/\s+/gu, ' ');
  const substring = (text: string) => {
    const c = compact(text);
    if (c !== '') names.push(literalProbe('compact', c));
  };
  /** A given-name word: substring for scripts written without spaces, whole word otherwise. */
  const givenWord = (word: string) => {
    if (SPACELESS.test(word)) {
      if (chars(compact(word)).length >= 2) substring(word);
      return;
    }
    // "O'Callaghan" is screened as ocallaghan and as callaghan: fold() drops the apostrophe.
    const forms = [word, ...word.split(/['\u2018\u2019\u02BC`]/u)].map((f) => fold(f).replace(/[^\p{L}\p{N}]/gu, ''));
    const spellings = [...new Set(forms)].filter((w) => chars(w).length >= 3 && !NAME_PARTICLES.has(w));
    // A long word is looked for in compact text too: spelt out ("A l e x a n d r a") or glued ("gift4Alexandra").
    const probes = spellings.flatMap((w) => [patternProbe('folded', w, wholeWord(escape(w))), ...(chars(w).length >= COMPACT_WORD_MIN ? [literalProbe('compact', w)] : [])]);
    if (probes.length) nameWords.push(probes);
  };
  const givenWords = (text: string) => text.split(/[\s\-\u2010-\u2015]+/u).filter((w) => w !== '').forEach(givenWord);

  // The full name, spaces (and hyphens, dots) ignored: for names in spaceless scripts a substring of 2+
  // characters, for others the words in order as a whole word, so "Bo Li" is not found in "Bolivia".
  if (HAN_OR_HANGUL.test(clean) || SPACELESS.test(clean)) {
    if (chars(compact(clean)).length >= 2) substring(clean);
  } else {
    const words = fold(clean).split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
    if (words[0] !== undefined && chars(words.join('')).length >= 3)
      names.push(patternProbe('folded', words[0], wholeWord(words.map(escape).join('[^\\p{L}\\p{N}]*'))));
    // Spelt out or split by punctuation ("M A R Y J A N E", "Mary-Jane.OConnor"): a long full name is
    // found in compact text too, where a short one ("Bo Li") would be found inside words ("Bolivia").
    if (chars(compact(clean)).length >= COMPACT_NAME_MIN) substring(clean);
  }
  const segments = nameSegments(clean);
  if (segments.length >= 2) {
    for (const segment of segments) givenWords(segment);
  } else if (HAN_OR_HANGUL.test(clean)) {
    const letters = chars(clean.replace(/ /g, ''));
    const given = letters.slice(hanSurnameLength(letters)).join('');
    if (chars(given).length >= 2) substring(given);
    // A spaced name marks its own surname ("高橋 悠斗"): each word after it is a given name too.
    clean.split(' ').slice(1).forEach(givenWord);
  } else {
    givenWords(clean);
  }
}
