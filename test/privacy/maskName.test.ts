// Tests for maskName: each table is one masking rule, with the exact printed form and property checks
// that the given name (everything beyond the surname / first letter / initials) never reaches paper.

import { maskName } from '../../src/privacy/maskName';

const graphemes = (s: string): string[] => Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s), (g) => g.segment);

/** Properties every masked name has, whatever the rule. */
function expectSomethingHidden(name: string, masked: string): void {
  expect(masked).toContain('*');
  expect(masked).not.toBe(name.trim());
}

/** None of the hidden characters may be printed, unless the same character is legitimately shown. */
function expectNotPrinted(masked: string, hidden: string[], shown: string): void {
  for (const char of hidden) {
    if (!shown.includes(char)) expect(masked).not.toContain(char);
  }
}

describe('maskName', () => {
  describe('Han names keep the surname (compound surnames first), one * per following character', () => {
    const cases: [name: string, expected: string, surname: string][] = [
      ['张三', '张*', '张'],
      ['王五', '王*', '王'],
      ['李小龙', '李**', '李'],
      ['刘德华', '刘**', '刘'],
      ['赵钱孙李', '赵***', '赵'],
      ['欧阳娜娜', '欧阳**', '欧阳'],
      ['诸葛亮', '诸葛*', '诸葛'],
      ['司马相如', '司马**', '司马'],
      ['上官婉儿', '上官**', '上官'],
      ['慕容复', '慕容*', '慕容'],
      ['令狐冲', '令狐*', '令狐'],
      ['完颜阿骨打', '完颜***', '完颜'],
      ['  张   三  ', '张*', '张'], // spaces inside a Han name are typing artefacts, not characters
      ['𠀾明', '𠀾*', '𠀾'], // a surname outside the BMP is still one character
    ];
    // Titles show only the masked form: test output is a log too.
    test.each(cases.map(([name, expected, surname]) => ({ name, expected, surname })))('→ $expected', ({ name, expected, surname }) => {
      const masked = maskName(name);
      expect(masked).toBe(expected);
      expectSomethingHidden(name, masked);
      expect(masked.startsWith(surname)).toBe(true);
      expect(masked.slice(surname.length)).toMatch(/^\*+$/);
      const given = graphemes(name.replace(/\s/g, '')).slice(graphemes(surname).length);
      expectNotPrinted(masked, given, surname);
    });
  });

  describe('·-separated names show only their first letter, one * per other character, separators kept as ·', () => {
    const cases: [name: string, expected: string][] = [
      ['麦麦提·赛帕克', '麦**·***'],
      ['王小明·李', '王**·*'],
      ['阿卜杜拉·买买提·艾力', '阿***·***·**'],
      ['迪丽热巴•迪力木拉提', '迪***·*****'], // U+2022 bullet normalised to U+00B7
      ['约翰・史密斯', '约*·***'], // U+30FB katakana middle dot
      ['古丽‧努尔', '古*·**'], // U+2027 hyphenation point
      ['古丽･努尔', '古*·**'], // U+FF65 halfwidth katakana middle dot
      ['古丽∙努尔', '古*·**'], // U+2219 bullet operator
      ['古丽⋅努尔', '古*·**'], // U+22C5 dot operator
      ['艾力.买买提', '艾*·***'], // ASCII '.' between Han characters
      ['艾力 · 努尔 · 买买提', '艾*·**·***'], // spaces around separators are not characters
      ['李·小明', '李·**'], // a one-character first segment: the rest still hides something
      ['Anna Maria·Schmidt', 'A********·*******'], // spaces inside a segment are dropped, not starred
      ['1张·李', '**·*'], // a digit is never printed as the initial
      ['王\u0308小明·李', '王\u0308**·*'], // a mark that composes with nothing stays with its letter: one character
      ['𠀾明·买买提', '𠀾*·***'], // a character outside the BMP is one character
    ];
    test.each(cases.map(([name, expected]) => ({ name, expected })))('→ $expected', ({ name, expected }) => {
      const masked = maskName(name);
      expect(masked).toBe(expected);
      expectSomethingHidden(name, masked);
      // Nothing but stars and separators after the first character, and that one only if it is a letter.
      const [first = '', ...rest] = graphemes(masked);
      expect(rest.join('')).toMatch(/^[*·]*$/u);
      if (first !== '*') {
        expect(first).toBe(graphemes(name.trim())[0]);
        expect(first).toMatch(/^\p{L}/u);
      }
      const nameChars = graphemes(name.replace(/[\s·•・‧･∙⋅.]/gu, ''));
      expectNotPrinted(masked, nameChars.slice(1), first);
    });
  });

  describe('alphabetic names with spaces: each word becomes its initial letter + fixed ***', () => {
    const cases: [name: string, expected: string][] = [
      ["Mary-Jane O'Connor", 'M*** O***'],
      ['Иван Петров', 'И*** П***'],
      ['José García', 'J*** G***'],
      ["'Ali Hassan", 'A*** H***'], // leading punctuation is skipped for the initial
      ['Jean-Luc Picard', 'J*** P***'],
      ["Zoë D'Arcy-Smith", 'Z*** D***'],
      ['Γιώργος Παπαδόπουλος', 'Γ*** Π***'],
      ['Łukasz Żółć', 'Ł*** Ż***'],
      ['محمد علي', 'م*** ع***'],
      ['  John    Ronald   Tolkien  ', 'J*** R*** T***'], // extra spaces collapse
      ['J.R.R. Tolkien', 'J*** T***'], // '.' between Latin letters is not a segment separator
      ['Madonna', 'M***'],
      ['John A', 'J*** ***'], // a one-letter word would print whole as its initial
      ['Mr. A', 'M*** ***'],
    ];
    test.each(cases.map(([name, expected]) => ({ name, expected })))('→ $expected', ({ name, expected }) => {
      const masked = maskName(name);
      expect(masked).toBe(expected);
      expectSomethingHidden(name, masked);
      // At most one letter per printed word, so no word longer than its initial can appear.
      for (const word of masked.split(' ')) expect(word).toMatch(/^(\p{L}\p{M}*)?\*\*\*$/u);
      for (const word of name.split(/\s+/).map((w) => w.replace(/^[^\p{L}]+/u, ''))) {
        if (graphemes(word).length > 1) expect(masked).not.toContain(graphemes(word).slice(0, 2).join(''));
      }
    });
  });

  describe('digits and symbols are never initials: words starting with a digit are dropped, whatever their number', () => {
    const cases: [name: string, expected: string][] = [
      ['John 1 3 9 6 2 5 8 4 0 1 7', 'J***'],
      ['John 13962584017', 'J***'],
      ['13962584017 John', 'J***'],
      ['Mary 3M Smith', 'M*** S***'],
      ['J0hn Smith', 'J*** S***'], // a digit inside a word is hidden with the rest of it
      ['Ann #Lee', 'A*** L***'], // leading symbols are skipped, never printed
      ['١٢٣ محمد علي', 'م*** ع***'], // Arabic-Indic digits are digits too
      ['1 2 3', '***'],
      ['A 1', '***'], // once the digits are gone only a bare initial is left, so it is hidden too
    ];
    test.each(cases.map(([name, expected]) => ({ name, expected })))('→ $expected', ({ name, expected }) => {
      const masked = maskName(name);
      expect(masked).toBe(expected);
      expectSomethingHidden(name, masked);
      expect(masked).not.toMatch(/[\p{N}#]/u);
      // Dropping the digit words changes nothing: the paper cannot tell whether or how many there were.
      const withoutDigitWords = name.split(' ').filter((w) => !/^[^\p{L}\p{N}]*\p{N}/u.test(w)).join(' ');
      expect(maskName(withoutDigitWords)).toBe(masked);
    });
  });

  describe('Hangul or kana without word structure: first character, one * per other character', () => {
    const cases: [name: string, expected: string][] = [
      ['김민준', '김**'],
      ['김 민준', '김**'], // written with spaces too: no given name's first syllable shows
      ['이서연', '이**'],
      ['やまだ たろう', 'や*****'], // the space is dropped: it would reveal where the family name ends
      ['さくら', 'さ**'],
      ['ヤマダハナコ', 'ヤ*****'],
    ];
    test.each(cases.map(([name, expected]) => ({ name, expected })))('→ $expected', ({ name, expected }) => {
      const masked = maskName(name);
      expect(masked).toBe(expected);
      expectSomethingHidden(name, masked);
      const [first = '', ...rest] = graphemes(name.replace(/\s/g, ''));
      expectNotPrinted(masked, rest, first);
    });
  });

  describe('at least one character is always hidden, even when the rule would hide nothing', () => {
    const cases: [name: string, expected: string][] = [
      ['李', '*'], // a lone Han character
      ['欧阳', '欧*'], // a name equal to a compound surname
      ['A', '***'], // a single letter
      ['A B', 'A*** ***'], // only initials: the last one is hidden too
      ['김', '*'],
      ['', '***'],
    ];
    test.each(cases.map(([name, expected]) => ({ name, expected })))('→ $expected', ({ name, expected }) => {
      const masked = maskName(name);
      expect(masked).toBe(expected);
      expect(masked).toContain('*');
      const letters = name.replace(/\s/g, '');
      if (letters !== '') expect(masked.replace(/[*\s]/g, '').length).toBeLessThan(graphemes(letters).length);
    });
  });
});
