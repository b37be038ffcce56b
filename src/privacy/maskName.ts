// Masks a person's name for printing on a paper waybill (GB/T 41833-2022 plus our stricter default):
// Han names keep only the surname, ·-separated names keep only the first letter, spaced alphabetic
// names keep only each word's initial letter (never a digit or symbol, nor a one-letter word whole),
// Hangul and kana only their first character. At least one character is always hidden.

import { hanSurnameLength, nameSegments } from '../order/nameParts';
import { asMasked, type Masked } from './masked';


/** Fixed tail for a word after its initial, so the printed length does not reveal the real one. */
const FIXED_STARS = '***';

const HAN = /^\p{Script=Han}/u;
const HANGUL_OR_KANA = /^[\p{Script=Hangul}\p{Script=Hiragana}\p{Script=Katakana}]/u;
/** A word's initial: its first letter or digit plus any combining marks that belong to it. */
const INITIAL = /[\p{L}\p{N}][\p{M}]*/u;
const LETTER = /^\p{L}/u;

/**
 * Text where every code point is a character of its own: printable ASCII, precomposed Latin letters, Han,
 * kana and precomposed Hangul, CJK punctuation and full-width forms (no combining marks, joiners,
 * conjoining jamo or surrogate pairs). Most names are such text, and splitting them needs no segmenter,
 * whose creation alone cost every process start 15 ms.
 */
const ONE_CODE_POINT_EACH = /^[\u0020-\u007e\u00a0-\u024f\u3000-\u3029\u3030-\u303f\u3041-\u3096\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uf900-\ufaff\uff01-\uff5e]*$/;
let segmenter: Intl.Segmenter | undefined;

/** User-perceived characters, so combining marks or surrogate pairs never count as extra letters. */
function graphemes(text: string): string[] {
  if (ONE_CODE_POINT_EACH.test(text)) return text.split('');
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

function stars(count: number): string {
  return '*'.repeat(count);
}

export function maskName(name: string): Masked {
  // NFC first, so "é" typed as e + combining accent is one letter like everywhere else.
  const clean = name.normalize('NFC').trim().replace(/\s+/gu, ' ');
  if (clean === '') return asMasked(FIXED_STARS);

  const segments = nameSegments(clean);
  if (segments.length >= 2) return asMasked(maskDotted(segments));
  // A stray leading/trailing dot leaves one segment: mask it as an ordinary name.
  const single = segments[0] ?? clean;

  if (HAN.test(single)) return asMasked(maskHan(single));
  if (HANGUL_OR_KANA.test(single)) {
    // Hangul or kana: keep the first character only (a Korean surname, as Han names keep theirs; 김 민준
    // as 김민준, so no given name's first syllable shows). Spaces are dropped (they are not name
    // characters and would show where the family name ends).
    return asMasked(keepFirstCharacter(single.replace(/ /g, '')));
  }
  return asMasked(maskWords(single));
}

/**
 * A ·-separated name ("麦麦提·赛帕克") is a given name followed by the father's name, so its first
 * segment is as personal as the rest: only its first letter is printed, every other character becomes
 * one *, and the separators stay (as U+00B7): "麦**·***".
 */
function maskDotted(segments: string[]): string {
  return segments
    .map((segment, i) => {
      // Spaces inside a segment are not name characters and would show where words end.
      const chars = graphemes(segment.replace(/ /g, ''));
      const first = chars[0] ?? '';
      // A digit or symbol is never printed as an initial (it could be the start of a phone number).
      const shown = i === 0 && LETTER.test(first) ? first : '';
      return shown + stars(chars.length - (shown === '' ? 0 : 1));
    })
    .join('\u00B7');
}

function maskHan(name: string): string {
  // Chinese names carry no spaces; any left over are typing artefacts, not characters to count.
  const chars = graphemes(name.replace(/ /g, ''));
  const first = chars[0] ?? '';
  const surnameLength = hanSurnameLength(chars);
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
  // skipped when taking the initial. Words without any letter or digit carry nothing to print, and
  // neither do words that start with a digit ("1", "3M", a phone number typed into the name): they
  // are dropped, not starred, so the paper tells neither their digits nor how many there were.
  const words = name.split(' ').flatMap((word) => {
    const initial = INITIAL.exec(word)?.[0];
    if (initial === undefined || !LETTER.test(initial)) return [];
    return [{ initial, bare: lettersOf(word) === lettersOf(initial) }];
  });
  if (words.length === 0) return FIXED_STARS;
  // A word that is one letter ("John A", "Mr. A") would print whole as its initial: it prints as stars.
  if (words.some((w) => !w.bare)) return words.map((w) => (w.bare ? '' : w.initial) + FIXED_STARS).join(' ');

  // Every word is a bare initial ("A", "J R"), so initials would print the whole name: drop the
  // last word's initial too (for a one-word name that leaves nothing but stars).
  return words.map((w, i) => (i === words.length - 1 ? '' : w.initial) + FIXED_STARS).join(' ');
}

/** Letters, digits and marks of a word: what would still be shown if only its initial were printed. */
function lettersOf(word: string): string {
  return word.replace(/[^\p{L}\p{N}\p{M}]/gu, '');
}
