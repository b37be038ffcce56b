// Text probes for screening printed free text: folding (case, width, accents, traditional characters),
// compact forms, whole words, and probes that test a field's text for a secret without compiling a pattern
// per order.

import { simplified } from './simplified';

/** A test on one form of a field's text. */
export interface Probe {
  on: 'folded' | 'compact';
  test(text: string): boolean;
}

/** Characters that draw nothing (joiners, variation selectors, zero-width spaces): no secret is split by them. */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * Circled digits that Unicode gives no compatibility decomposition (❶ ➀ ➊ ⓵ ⓫ ⓿ 🄋), unlike ① or ⑴: each
 * block as [first code point, last, value of the first]. CJK fonts draw them, so they spell numbers on paper.
 */
const CIRCLED_DIGIT_BLOCKS: readonly (readonly [number, number, number])[] = [
  [0x2776, 0x277f, 1],
  [0x2780, 0x2789, 1],
  [0x278a, 0x2793, 1],
  [0x24f5, 0x24fe, 1],
  [0x24eb, 0x24f4, 11],
  [0x24ff, 0x24ff, 0],
  [0x1f10b, 0x1f10c, 0],
];
const CIRCLED_DIGIT = /[\u2776-\u2793\u24eb-\u24ff\u{1f10b}\u{1f10c}]/gu;

function circledValue(c: string): string {
  const cp = c.codePointAt(0)!;
  const block = CIRCLED_DIGIT_BLOCKS.find(([first, last]) => cp >= first && cp <= last);
  return block ? String(cp - block[0] + block[2]) : c;
}

/** A possessive "'s" ends a word: "Alexandra's" is Alexandra (other apostrophes are dropped: O'Connor is oconnor). */
const POSSESSIVE = /['\u2018\u2019\u02BC`][sS](?![\p{L}\p{N}])/gu;

/** Case-, width-, accent- and traditional/simplified-insensitive text, without characters that draw nothing. */
export function fold(text: string): string {
  return simplified(text)
    .replace(INVISIBLE, '')
    .replace(CIRCLED_DIGIT, circledValue)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .normalize('NFC')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(POSSESSIVE, '')
    .replace(/['\u2018\u2019\u02BC`]/g, '');
}

/** Spaces, punctuation (hyphens, dots, name separators, slashes, brackets) and symbols (emoji, bullets, minus). */
const COMPACT_DROPS = /[\s\p{P}\p{S}]/gu;

/** Folded, without spaces, punctuation and symbols: "Mary/Jane", "Mary·Jane" and "Mary 🎁 Jane" are maryjane. */
export function compact(text: string): string {
  return compactFolded(fold(text));
}

/** compact() of text already folded. */
export function compactFolded(folded: string): string {
  return folded.replace(COMPACT_DROPS, '');
}

export const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A letter or digit of a script written with spaces: what a whole word must not touch. Han and kana run on. */
export const WORD_CHAR = '(?:(?![\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}])[\\p{L}\\p{N}])';
export const wholeWord = (body: string) => `(?<!${WORD_CHAR})${body}(?!${WORD_CHAR})`;

/** Characters as code points: folded text has no combining marks left, and Intl.Segmenter doubled the screen's cost. */
export const chars = (text: string) => Array.from(text);

/** A literal every match contains guards the pattern: most probes never compile (10,000 orders a batch). */
export function patternProbe(on: Probe['on'], needle: string, source: string): Probe {
  let pattern: RegExp | undefined;
  return { on, test: (text) => text.includes(needle) && (pattern ??= new RegExp(source, 'u')).test(text) };
}

export const literalProbe = (on: Probe['on'], literal: string): Probe => ({ on, test: (text) => text.includes(literal) });
