// Masks a person's name for printing on a paper waybill (GB/T 41833-2022 plus our stricter default):
// Han names keep only the surname, ·-separated names keep only the first segment, spaced alphabetic
// names keep only each word's initial. At least one character is always hidden.

import { asMasked, type Masked } from './masked';

/** Compound (two-character) Chinese surnames; matched before falling back to a one-character surname. */
const COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  '欧阳', '司马', '诸葛', '上官', '皇甫', '尉迟', '公孙', '慕容', '令狐', '长孙',
  '宇文', '司徒', '夏侯', '端木', '独孤', '南宫', '西门', '呼延', '拓跋', '东方',
  '司空', '轩辕', '澹台', '公冶', '宗政', '濮阳', '淳于', '单于', '太叔', '申屠',
  '仲孙', '钟离', '闻人', '万俟', '赫连', '百里', '东郭', '南门', '羊舌', '微生',
  '梁丘', '左丘', '第五', '段干', '乐正', '谷梁', '拓拔', '完颜', '鲜于', '闾丘',
  '亓官', '司寇', '巫马', '公西', '颛孙', '壤驷', '公良', '漆雕', '宰父',
]);

/** Fixed tail for hidden words/segments, so the printed length does not reveal the real one. */
const FIXED_STARS = '***';

const HAN = /^\p{Script=Han}/u;
const HANGUL_OR_KANA = /^[\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const HANGUL = /^\p{Script=Hangul}/u;
/** Separators that always split a name into segments (middle dots and bullets people type for them). */
const DOT_SEPARATOR = /\s*[\u00B7\u2022\u30FB\u2027\uFF65\u2219\u22C5]\s*/u;
/** '.' (ASCII or full-width) only counts as a separator between Han characters: "J.R.R. Tolkien" keeps it. */
const HAN_PERIOD = /(\p{Script=Han})\s*[.\uFF0E]\s*(?=\p{Script=Han})/gu;
/** A word's initial: the first letter or digit plus any combining marks that belong to it. */
const INITIAL = /[\p{L}\p{N}][\p{M}]*/u;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** User-perceived characters, so combining marks or surrogate pairs never count as extra letters. */
function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

function stars(count: number): string {
  return '*'.repeat(count);
}

export function maskName(name: string): Masked {
  // NFC first, so "é" typed as e + combining accent is one letter like everywhere else.
  const clean = name.normalize('NFC').trim().replace(/\s+/gu, ' ');
  if (clean === '') return asMasked(FIXED_STARS);

  const segments = clean.replace(HAN_PERIOD, '$1\u00B7').split(DOT_SEPARATOR).filter((s) => s !== '');
  if (segments.length >= 2) {
    // Only the first segment is printed; the rest becomes a fixed "·***" so the count of further
    // segments and their lengths are not revealed either.
    return asMasked(`${segments[0]}\u00B7${FIXED_STARS}`);
  }
  // A stray leading/trailing dot leaves one segment: mask it as an ordinary name.
  const single = segments[0] ?? clean;

  if (HAN.test(single)) return asMasked(maskHan(single));
  if (HANGUL_OR_KANA.test(single) && !(HANGUL.test(single) && single.includes(' '))) {
    // Hangul or kana without word structure we trust: keep the first character only. Spaces are
    // dropped (they are not name characters and would show where the family name ends).
    return asMasked(keepFirstCharacter(single.replace(/ /g, '')));
  }
  return asMasked(maskWords(single));
}

function maskHan(name: string): string {
  // Chinese names carry no spaces; any left over are typing artefacts, not characters to count.
  const chars = graphemes(name.replace(/ /g, ''));
  const first = chars[0] ?? '';
  const firstTwo = chars.slice(0, 2).join('');
  const surnameLength = chars.length >= 2 && COMPOUND_SURNAMES.has(firstTwo) ? 2 : 1;
  if (chars.length > surnameLength) {
    return chars.slice(0, surnameLength).join('') + stars(chars.length - surnameLength);
  }
  // The whole name is a surname ("李", "欧阳"): hide from the end so something is always hidden.
  return chars.length === 1 ? '*' : first + stars(chars.length - 1);
}

function keepFirstCharacter(name: string): string {
  const chars = graphemes(name);
  return chars.length <= 1 ? '*' : (chars[0] ?? '') + stars(chars.length - 1);
}

function maskWords(name: string): string {
  // Hyphens and apostrophes stay inside a word ("Mary-Jane", "O'Connor"); leading punctuation is
  // skipped when taking the initial. Words without any letter or digit carry nothing to print.
  const words = name.split(' ').flatMap((word) => {
    const initial = INITIAL.exec(word)?.[0];
    return initial === undefined ? [] : [{ initial, bare: lettersOf(word) === lettersOf(initial) }];
  });
  if (words.length === 0) return FIXED_STARS;
  if (words.some((w) => !w.bare)) return words.map((w) => w.initial + FIXED_STARS).join(' ');

  // Every word is a bare initial ("A", "J R"), so initials would print the whole name: drop the
  // last word's initial too (for a one-word name that leaves nothing but stars).
  return words.map((w, i) => (i === words.length - 1 ? '' : w.initial) + FIXED_STARS).join(' ');
}

/** Letters, digits and marks of a word: what would still be shown if only its initial were printed. */
function lettersOf(word: string): string {
  return word.replace(/[^\p{L}\p{N}\p{M}]/gu, '');
}
