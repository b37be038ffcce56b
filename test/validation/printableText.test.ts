// Tests for printableText: human-entered text reaches paper, terminals and audit lines, so it may hold no
// control character, no bidi formatting character, no line separator, no broken UTF-16 and nothing that
// is not text; characters that draw nothing are removed. Every text
// field of an order (and its phone) goes through these checks, and no message quotes the value.

import { WaybillError } from '../../src/errors';
import { parseOrders } from '../../src/order/readOrders';
import { printableText } from '../../src/validation/printableText';

const CONTROL = 'must not contain control or bidirectional formatting characters';
const SURROGATE = 'must not contain unpaired surrogates';

const hex = (s: string) => Array.from(s, (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
const messagesOf = (value: string): string[] => {
  const result = printableText(64).safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => i.message);
};

describe('printableText', () => {
  describe('refuses, anywhere inside the text, every character of the classes that hide or forge text', () => {
    const classes: [what: string, chars: string[]][] = [
      ['C0 controls', ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u001f']],
      ['DEL', ['\u007f']],
      ['C1 controls', ['\u0080', '\u0085', '\u008d', '\u009b', '\u009f']],
      ['line and paragraph separators', ['\u2028', '\u2029']],
      ['bidi embeddings and overrides', ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e']],
      ['bidi isolates', ['\u2066', '\u2067', '\u2068', '\u2069']],
      ['bidi marks (LRM, RLM, Arabic letter mark)', ['\u200e', '\u200f', '\u061c']],
    ];
    test.each(classes.map(([what, chars]) => ({ what, chars })))('$what', ({ chars }) => {
      for (const c of chars) expect({ char: hex(c), messages: messagesOf(`张${c}三`) }).toEqual({ char: hex(c), messages: [CONTROL] });
    });

    it('unpaired surrogates: a high one not followed by a low one, or a low one on its own', () => {
      for (const s of ['张\ud840三', '张三\ud840', '\ud840\ud840三', '张\udc3e三', '\udc3e张', '\udc3e\ud840'])
        expect({ text: hex(s), messages: messagesOf(s) }).toEqual({ text: hex(s), messages: [SURROGATE] });
    });
  });

  it('accepts text outside those classes: surrogate pairs, emoji sequences, joiners scripts need, any script', () => {
    for (const s of ['𠀾明', '👩‍👩‍👧 Family', 'می‌خواهم', 'محمد علي', 'José García', '麦麦提·赛帕克', 'Flat 12, Rosebery Court', 'a\u00a0b'])
      expect({ text: hex(s), messages: messagesOf(s) }).toEqual({ text: hex(s), messages: [] });
  });

  it('removes characters that draw nothing, which pasted text brings and which would split a secret unseen', () => {
    // Zero-width space, soft hyphen, word joiner, invisible times, BOM, Hangul filler, Mongolian vowel separator, Khmer inherent vowel, a tag.
    for (const c of ['\u200b', '\u00ad', '\u2060', '\u2062', '\ufeff', '\u3164', '\u180e', '\u17b4', '\u{e0041}'])
      expect({ char: hex(c), value: printableText(64).parse(`张${c}三${c}`) }).toEqual({ char: hex(c), value: '张三' });
    expect(messagesOf('\u200b\u3164\ufeff')).toEqual(['must not be empty']);
    // The joiners and variation selectors that scripts, names and emoji need stay.
    for (const s of ['👩‍👩‍👧', 'می‌خواهم', '葛\u{e0100}西', '❤\ufe0f']) expect(printableText(64).parse(s)).toBe(s);
  });

  it('keeps an identifier as sent: an order id with a character that draws nothing is refused, not changed', () => {
    const order = JSON.parse(JSON.stringify(cnOrder)) as Record<string, unknown>;
    order.orderId = 'SO-1\u200b';
    let issues: string[] = [];
    try {
      parseOrders(JSON.stringify(order), 'order.json');
    } catch (e) {
      issues = (e as WaybillError).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    }
    expect(issues).toEqual(['orderId: must not contain format, private-use or noncharacters']);
  });

  it('refuses the other format characters, private-use characters and noncharacters', () => {
    for (const c of ['\ufff9', '\u0600', '\ue000', '\u{f0000}', '\uffff', '\ufdd0'])
      expect({ char: hex(c), messages: messagesOf(`张${c}三`) }).toEqual({ char: hex(c), messages: ['must not contain format, private-use or noncharacters'] });
  });

  it('trims whitespace at the edges (including line separators there) instead of refusing it', () => {
    expect(printableText(64).parse('  张三\n')).toBe('张三');
    expect(printableText(64).parse('\u2028张三\u2029')).toBe('张三');
  });

  it('names the rule, never the value', () => {
    const secret = '欧阳晓岚\u202e13962584017';
    const result = printableText(64).safeParse(secret);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error!.issues.map((i) => i.message))).not.toMatch(/欧阳|1396/);
  });
});

const cnOrder = {
  orderId: 'SO-1',
  carrier: 'ZT',
  routingCode: '571-XH01',
  sender: {
    name: '李四',
    phone: '+86 138 0013 8000',
    address: { country: 'CN', province: '上海市', city: '上海市', district: '浦东新区', street: '祖冲之路 887 弄', detail: '3 号楼 1201 室', postalCode: '201203' },
  },
  recipient: {
    name: "Mary-Jane O'Connor",
    phone: '020 7946 0018',
    address: { country: 'GB', region: 'Greater London', city: 'London', postalCode: 'SW1A 1AA', line1: '10 Fake Row', line2: 'Flat 2' },
  },
  parcel: { weightKg: 1.2, contents: '图书' },
};

describe('every text field of an order refuses them', () => {
  const cn = cnOrder;
  // routingCode is not free text: its sorting-code alphabet (ASCII letters, digits, "-") refuses all of these.
  const textPaths = [
    'orderId',
    'parcel.contents',
    ...['sender', 'recipient'].flatMap((p) => [`${p}.name`, `${p}.phone`]),
    ...['province', 'city', 'district', 'street', 'detail'].map((f) => `sender.address.${f}`),
    ...['region', 'city', 'line1', 'line2'].map((f) => `recipient.address.${f}`),
  ];

  it('the base order is valid', () => {
    expect(parseOrders(JSON.stringify(cn), 'order.json')).toHaveLength(1);
  });

  test.each(textPaths)('%s', (path) => {
    for (const [bad, message] of [['\u202e', CONTROL], ['\u0085', CONTROL], ['\u2028', CONTROL], ['\ud840', SURROGATE]] as const) {
      const order = structuredClone(cn) as Record<string, unknown>;
      const keys = path.split('.');
      const parent = keys.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, order);
      const last = keys[keys.length - 1]!;
      // Inserted inside the value: whitespace at the edges would be trimmed away.
      const value = String(parent[last]);
      parent[last] = value.slice(0, 1) + bad + value.slice(1);
      let issues: { path: string; message: string }[] = [];
      try {
        parseOrders(JSON.stringify(order), 'order.json');
      } catch (e) {
        expect(e).toBeInstanceOf(WaybillError);
        issues = (e as WaybillError).issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      }
      expect({ char: hex(bad), issues }).toEqual({ char: hex(bad), issues: expect.arrayContaining([{ path, message }]) });
      for (const issue of issues) expect(issue.path).toBe(path);
    }
  });
});
