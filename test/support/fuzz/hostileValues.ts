// Hostile values the generators draw from: values of every JSON type, awkward object keys and awkward text.

import { clone, jsonType, type Json } from './jsonPaths';
import type { Rng } from './rng';

export const ODD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.0001,
  1e308,
  -1e308,
  2 ** 53 + 1,
  '',
  ' ',
  'x',
  '13800138000',
  'CN',
  '1.2',
  'true',
  'null',
  'a'.repeat(1000),
  [],
  [1, 2, 3],
  ['x'],
  [null],
  [[[]]],
  {},
  { a: 1 },
  { country: 'CN' },
  { length: 5 },
];

/** A value from ODD_VALUES of another JSON type than `original`. */
export function differentlyTyped(r: Rng, original: Json): Json {
  const t = jsonType(original);
  for (;;) {
    const v = r.pick(ODD_VALUES);
    if (jsonType(v) !== t) return clone(v);
  }
}

export const EVIL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'x', 'extra', '', ' ', 'orderId ', 'ORDERID', '\u0000', '\u202e', '😀', 'a'.repeat(500)];

/** Strings with control, bidi, zero-width, surrogate and other awkward characters. */
export const NASTY_TEXT = [
  'Zhang\u0000San',
  'Zhang\u0007San',
  'Li\tSi',
  'Li\nSi',
  'Li\r\nSi',
  '\u001b[31mred\u001b[0m',
  'Wang\u007fWu',
  '\u202eredro\u202c',
  '\u202dAli\u202c',
  '\u200f\u0645\u062d\u0645\u062f',
  '\u0645\u062d\u0645\u062f \u0639\u0644\u064a',
  '\u05e9\u05dc\u05d5\u05dd',
  'Zh\u200bang\u200d',
  '\u200b\u200c\u200d\u2060',
  '\ufeffBOM name',
  'Zhao\u2028Qian',
  'Sun\u2029Li',
  '\ud800lone high',
  'lone low\udc00',
  '\udc00\ud800',
  '😀😀 emoji 👨‍👩‍👧‍👦',
  '𠀀𠀁𪚥 astral CJK',
  'Z̴̡̢̛͈͔͎̫̹̟̦̯̪̮͕̜̱̫͎͉̪̝̮̼̟̫̝͉̃̌̍̉̎̆̀̽͂̐̕͘͝͝ͅa̸l̵g̶o̷',
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301',
  '\uffff\ufffe\ufffd',
  '\u00a0\u00a0nbsp\u00a0',
  '\u3000全角空格\u3000',
  'ﷺ ﷽',
  'ß İ ı ǅ',
  '<script>alert(1)</script>',
  "Robert'); DROP TABLE waybills;--",
  '${jndi:ldap://x/a}',
  '%s%s%s%n',
  '../../etc/passwd',
  '{{7*7}}',
  'A'.repeat(64),
  'A'.repeat(65),
  '中'.repeat(64),
  '中'.repeat(65),
];
