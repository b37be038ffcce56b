import { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { WaybillError } from '../../src/errors';
import { expectAbsent } from '../support/expectAbsent';

const order = (patch: (o: any) => void = () => {}) => {
  const o: any = {
    orderId: 'SO-1',
    carrier: 'ZT',
    sender: {
      name: '李四',
      phone: '+86 138 0013 8000',
      address: { country: 'CN', province: '上海市', city: '上海市', district: '浦东新区', street: '祖冲之路 887 弄', detail: '3 号楼 1201 室', postalCode: '201203' },
    },
    recipient: {
      name: 'Mary-Jane O\'Connor',
      phone: '020 7946 0018',
      address: { country: 'GB', city: 'London', postalCode: 'SW1A 1AA', line1: '10 Fake Row' },
    },
    parcel: { weightKg: 1.2 },
  };
  patch(o);
  return o;
};

function issuesOf(text: string) {
  try {
    parseOrders(text, 'orders.ndjson');
  } catch (e) {
    expect(e).toBeInstanceOf(WaybillError);
    return (e as WaybillError).issues.map((i) => ({ index: i.index, line: i.line, path: i.path.join('.'), message: i.message }));
  }
  throw new Error('expected the orders to be refused');
}

describe('order schema', () => {
  it('normalises phones to E.164 using the address country as default region', () => {
    const parsed = Order.parse(order());
    expect(parsed.sender.phone).toBe('+8613800138000');
    expect(parsed.recipient.phone).toBe('+442079460018');
    expect(parsed.service).toBe('standard');
    expect(parsed.parcel.pieces).toBe(1);
  });

  it('accepts Chinese landlines with area codes', () => {
    expect(Order.parse(order((o) => (o.sender.phone = '021-6888 3210'))).sender.phone).toBe('+862168883210');
  });

  it.each([
    ['13962584017 转 808', 'CN', '+8613962584017', '808'],
    ['13962584017转808', 'CN', '+8613962584017', '808'],
    ['0571-8888 6666 转 808', 'CN', '+8657188886666', '808'],
    ['021 6888 3210 分机 12', 'CN', '+862168883210', '12'],
    ['021 6888 3210 分机号 0012', 'CN', '+862168883210', '0012'],
    ['+1 213 373 4253 ext. 808', 'US', '+12133734253', '808'],
    ['+1 213 373 4253 ext 808', 'US', '+12133734253', '808'],
    ['+1 213 373 4253 EXT808', 'US', '+12133734253', '808'],
    ['+1 213 373 4253 extension 123456', 'US', '+12133734253', '123456'],
    ['(213) 373-4253 x808', 'US', '+12133734253', '808'],
    ['+1 213 373 4253 #808', 'US', '+12133734253', '808'],
    ['+86 139 6258 4017 # 808', 'US', '+8613962584017', '808'],
    ['0571-8888 6666-808', 'CN', '+8657188886666', '808'],
    ['010-12345678-8001', 'CN', '+861012345678', '8001'],
    // A shopping platform's privacy number for the buyer: a mobile number and the extension its PBX dials.
    ['17012345678-1234', 'CN', '+8617012345678', '1234'],
    ['139 6258 4017-808', 'CN', '+8613962584017', '808'],
    // As platforms export them and as a Chinese input method types them: a comma, full-width forms.
    ['17012345678,1234', 'CN', '+8617012345678', '1234'],
    ['17012345678，1234', 'CN', '+8617012345678', '1234'],
    ['17012345678转１２３４', 'CN', '+8617012345678', '1234'],
    ['17012345678－1234', 'CN', '+8617012345678', '1234'],
  ])('keeps the extension of written form %# apart from the E.164 number', (phone, country, e164, extension) => {
    const address = country === 'CN' ? order().sender.address : { country, city: 'Los Angeles', line1: '1 Fake St' };
    const parsed = Order.parse(order((o) => Object.assign(o.recipient, { phone, address })));
    expect(parsed.recipient.phone).toBe(e164);
    expect(parsed.recipient.phoneExtension).toBe(extension);
  });

  it('reads a plain "-" as part of the number, and as an extension only after a number that is complete without it', () => {
    for (const phone of ['021-6888 3210', '021-6888-3210']) {
      const parsed = Order.parse(order((o) => (o.sender.phone = phone)));
      expect(parsed.sender).toMatchObject({ phone: '+862168883210' });
      expect(parsed.sender).not.toHaveProperty('phoneExtension');
    }
    expect(Order.parse(order((o) => (o.sender.phone = '139-6258-4017'))).sender).not.toHaveProperty('phoneExtension');
    // Two numbers, or an incomplete one before the "-", are no number with an extension.
    // 13196258401-7 is 13962584017 mistyped: a mobile's extension after "-" has 3 digits at least.
    for (const phone of ['13962584017-13800138000', '0571-8888-808', '13196258401-7', '13962584017-12'])
      expect(issuesOf(JSON.stringify(order((o) => (o.sender.phone = phone))))).toEqual([
        expect.objectContaining({ path: 'sender.phone', message: 'not a valid phone number (default region CN)' }),
      ]);
  });

  it('refuses a prefix or an extension written before the number, which would be read as another real number', () => {
    // libphonenumber takes "12341" of "1234 13962584017" for a carrier code and leaves a valid landline, 0396 258 4017.
    for (const phone of ['1234 13962584017', '[1234]13962584017', '(1234)13962584017', '1234-13962584017', '分机1234 13962584017', '17951 13962584017'])
      expect(issuesOf(JSON.stringify(order((o) => (o.sender.phone = phone))))).toEqual([
        expect.objectContaining({ path: 'sender.phone', message: 'must be the number alone: no dialling prefix or extension before it' }),
      ]);
  });

  it('says a masked phone is masked: the whole number is needed', () => {
    for (const phone of ['139****4017', '139＊＊＊＊4017'])
      expect(issuesOf(JSON.stringify(order((o) => (o.sender.phone = phone))))).toEqual([
        expect.objectContaining({ path: 'sender.phone', message: 'must be the whole number, not a masked one: the service masks it on paper and keeps it sealed' }),
      ]);
  });

  it('has no extension when none is written', () => {
    expect(Order.parse(order()).sender).not.toHaveProperty('phoneExtension');
  });

  it.each([
    ['too long an extension', '13962584017 转 8080808', /extension .* 1–6 digits/],
    ['letters in the extension', '13962584017 转 80a8', /extension .* 1–6 digits/],
    ['only letters after the separator', '13962584017 ext abcdef', /extension .* 1–6 digits/],
    ['a separator and no digits', '13962584017 分机', /extension .* 1–6 digits/],
    ['a second extension', '13962584017 转 808 转 909', /extension .* 1–6 digits/],
    ['an extension in a form outside the grammar', '+1 213 373 4253;ext=808', /extension must follow 转, 分机, ext, x, # or a comma/],
    ['a semicolon as the separator', '+1 213 373 4253; 808', /extension must follow/],
    ['an invalid number before a good extension', '13957 转 808', /not a valid phone number/],
  ])('refuses %s at sender.phone without quoting it', (_what, phone, message) => {
    const issues = issuesOf(JSON.stringify(order((o) => (o.sender.phone = phone))));
    expect(issues).toEqual([expect.objectContaining({ path: 'sender.phone', message: expect.stringMatching(message) })]);
    expectAbsent(JSON.stringify(issues), [phone, '808', '8080808', '80a8', 'abcdef', '13962584017', '4253', '13957'], 'extension issues');
  });

  it.each([
    ['an invalid phone', (o: any) => (o.recipient.phone = '12345'), 'recipient.phone'],
    ['a missing phone', (o: any) => delete o.recipient.phone, 'recipient.phone'],
    ['an unknown country', (o: any) => (o.recipient.address.country = 'XX'), 'recipient.address.country'],
    ['a Chinese address without district', (o: any) => delete o.sender.address.district, 'sender.address.district'],
    ['an international address without line1', (o: any) => delete o.recipient.address.line1, 'recipient.address.line1'],
    ['an unknown carrier', (o: any) => (o.carrier = 'XX'), 'carrier'],
    ['an unknown property (typo)', (o: any) => (o.recipient.adress = {}), 'recipient'],
    ['a negative weight', (o: any) => (o.parcel.weightKg = -1), 'parcel.weightKg'],
    ['a waybill number of another carrier', (o: any) => (o.waybillNo = 'SF1234567890123'), 'waybillNo'],
    ['an empty name', (o: any) => (o.sender.name = '  '), 'sender.name'],
  ])('refuses %s with its field path', (_what, patch, path) => {
    const issues = issuesOf(JSON.stringify(order(patch)));
    expect(issues.map((i) => i.path)).toContain(path);
  });

  it('reports every bad order of an NDJSON file with index and line, and quotes no personal data', () => {
    const lines = [JSON.stringify(order()), '', JSON.stringify(order((o) => (o.recipient.phone = '13957'))), JSON.stringify(order((o) => delete o.parcel))];
    const issues = issuesOf(lines.join('\n'));
    expect(issues).toEqual([
      expect.objectContaining({ index: 1, line: 3, path: 'recipient.phone' }),
      expect.objectContaining({ index: 2, line: 4, path: 'parcel' }),
    ]);
    expectAbsent(JSON.stringify(issues), ['13957', '李四', "O'Connor"], 'validation issues');
  });

  it('refuses malformed JSON without quoting it', () => {
    const issues = issuesOf('{"orderId": "SO-1", "sender": {"name": "李四" ');
    expect(issues[0]!.message).toMatch(/not valid JSON/);
    expectAbsent(JSON.stringify(issues), ['李四'], 'JSON syntax issue');
  });

  it('reads a JSON array, the API\'s {"orders": [...]}, a single object and NDJSON alike', () => {
    const one = JSON.stringify(order());
    expect(parseOrders(`[${one},${one}]`, 'a.json')).toHaveLength(2);
    expect(parseOrders(JSON.stringify({ orders: [order(), order()] }, null, 2), 'a.json')).toHaveLength(2);
    expect(parseOrders(JSON.stringify(order(), null, 2), 'a.json')).toHaveLength(1);
    expect(parseOrders(`${one}\n${one}\n`, 'a.ndjson')).toHaveLength(2);
    // Each order of the wrapped list is named by its index, as in an array.
    expect(issuesOf(JSON.stringify({ orders: [order(), order((o) => delete o.carrier)] }))).toEqual([expect.objectContaining({ index: 1, path: 'carrier', message: expect.stringMatching(/^must be one of/) })]);
  });
});

describe('order file errors a person can act on', () => {
  const messagesOf = (content: string | Uint8Array) => {
    try {
      parseOrders(content, 'orders.json');
    } catch (e) {
      return (e as WaybillError).issues.map((i) => `${i.path.join('.') || '-'}: ${i.message}`);
    }
    throw new Error('expected a refusal');
  };

  it('reads an address without a country as mainland China when it names a province or is one line, and a country code in lower case', () => {
    const cn = { province: '浙江省', city: '杭州市', district: '西湖区', street: '测试路88号' };
    expect(Order.parse(order((o) => (o.recipient.address = cn))).recipient.address).toMatchObject({ country: 'CN', areaCode: '330106' });
    expect(Order.parse(order((o) => (o.recipient.address = { text: '浙江省杭州市西湖区测试路88号' }))).recipient.address).toMatchObject({ country: 'CN', district: '西湖区' });
    expect(Order.parse(order((o) => (o.recipient.address = { ...cn, country: 'cn' }))).recipient.address).toMatchObject({ country: 'CN' });
    const abroad = (address: object) => order((o) => Object.assign(o.recipient, { phone: '+8613962584017', address }));
    expect(Order.parse(abroad({ country: 'us', city: 'Testville', line1: '1 Test Road' })).recipient.address).toMatchObject({ country: 'US' });
    // Without a province it is no mainland-China address: the country is missing.
    expect(issuesOf(JSON.stringify(abroad({ city: 'Testville', line1: '1 Test Road' })))).toEqual([expect.objectContaining({ path: 'recipient.address.country' })]);
  });

  it('reads a null property as absent, as order systems export an empty field', () => {
    const withNulls = { ...order(), waybillNo: null, routingCode: null, parcel: { weightKg: 1.2, contents: null, pieces: null } };
    const [parsed] = parseOrders(JSON.stringify(withNulls), 'a.json');
    expect(parsed).not.toHaveProperty('waybillNo');
    expect(parsed!.parcel).toEqual({ weightKg: 1.2, pieces: 1 });
    // A required one is missing, and said so.
    expect(issuesOf(JSON.stringify({ ...order(), carrier: null }))).toEqual([expect.objectContaining({ path: 'carrier', message: expect.stringMatching(/^must be one of/) })]);
  });

  it('says "required" for a missing field and names the expected type, in our words, not the schema library’s', () => {
    expect(messagesOf(JSON.stringify(order((o) => delete o.recipient.name)))).toEqual(['recipient.name: required']);
    expect(messagesOf(JSON.stringify(order((o) => (o.parcel.weightKg = '1.2'))))).toEqual(['parcel.weightKg: must be a number']);
    expect(messagesOf(JSON.stringify(order((o) => (o.orderId = 7))))).toEqual(['orderId: must be text']);
    expect(messagesOf(JSON.stringify(order((o) => (o.carrier = 'XX'))))[0]).toMatch(/^carrier: must be one of: ZT, /);
  });

  it('gives line and column of a JSON syntax error, in a pretty-printed order and in NDJSON', () => {
    const pretty = JSON.stringify(order(), null, 2).split('\n');
    pretty[2] = `  "carrier": 'ZT',`; // single quotes on line 3
    expect(messagesOf(pretty.join('\n'))).toEqual(['-: not valid JSON at line 3, column 14']);
    const ndjson = [JSON.stringify(order()), JSON.stringify(order()), '{"orderId": "SO-3",, }'].join('\n');
    expect(messagesOf(ndjson)).toEqual(['-: not valid JSON at line 3, column 20']);
    expect(messagesOf('{"orderId": "SO-1"')).toEqual(['-: not valid JSON (it ends too early)']);
    // An NDJSON line cut short, with more lines after it: that line is named.
    const cut = [JSON.stringify(order()), '{"orderId": "SO-2", "carrier": ', JSON.stringify(order())].join('\n');
    expect(messagesOf(cut)).toEqual(['-: not valid JSON at line 2 (the line ends too early)']);
  });

  it('refuses an order that names a property twice in one object, saying where and quoting neither value', () => {
    // JSON.parse keeps the last and drops the first without a word; the order system meant one of them.
    const twice = (o: object) => JSON.stringify(o).replace('"recipient":{', '"recipient":{"phone":"13962584017",');
    const pretty = JSON.stringify(order(), null, 2).replace('"recipient": {\n', '"recipient": {\n    "phone": "13962584017",\n');
    // Named where the second one is: the recipient's own phone, after the one put first.
    expect(messagesOf(pretty)).toEqual(['-: a property named twice in one object at line 20, column 5']);
    const line = twice(order());
    const column = line.indexOf('"phone"', line.indexOf('"recipient"') + 30) + 1;
    expect(messagesOf([JSON.stringify(order()), line].join('\n'))).toEqual([`-: a property named twice in one object at line 2, column ${column}`]);
    expect(messagesOf(`[${JSON.stringify(order())},\n${line}]`)).toEqual([`-: a property named twice in one object at line 2, column ${column}`]);
    expect(messagesOf(JSON.stringify({ orders: [JSON.parse(JSON.stringify(order()))] }).replace('"orderId"', '"orderId":"SO-0","orderId"'))).toEqual([
      expect.stringMatching(/^-: a property named twice in one object at line 1, column \d+$/),
    ]);
    // The same name written with an escape is the same name.
    expect(messagesOf(JSON.stringify(order()).replace('"carrier"', '"\\u0063arrier":"SF","carrier"'))).toEqual([expect.stringMatching(/^-: a property named twice in one object at line 1, column \d+$/)]);
    expectAbsent(JSON.stringify([messagesOf(line), messagesOf(pretty)]), ['13962584017', '0018'], 'a property named twice');
    // The same name in different objects (each party's phone, each order's id) is no repeat.
    expect(parseOrders([JSON.stringify(order()), JSON.stringify(order((o) => (o.orderId = 'SO-2')))].join('\n'), 'orders.ndjson')).toHaveLength(2);
  });

  it('names binary and non-UTF-8 files as such, and an empty file once', () => {
    expect(messagesOf(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]))).toEqual(['-: is a binary file, not JSON or NDJSON text']);
    const gbk = Buffer.concat([Buffer.from('{"orderId": "'), Buffer.from([0xc0, 0xee, 0xcb, 0xc4]), Buffer.from('"}')]); // 李四 in GBK
    expect(messagesOf(gbk)).toEqual([expect.stringMatching(/^-: is not UTF-8 text at line 1 /)]);
    // Deep in a long file, the line is named.
    const lines = [JSON.stringify(order()), JSON.stringify(order()), ''];
    expect(messagesOf(Buffer.concat([Buffer.from(lines.join('\n')), gbk]))).toEqual([expect.stringMatching(/^-: is not UTF-8 text at line 3 \(another encoding such as GBK\?\)/)]);
    // UTF-16, as spreadsheets save "Unicode text": read with its byte order mark, named without it.
    const text = JSON.stringify(order());
    expect(parseOrders(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'orders.txt')).toHaveLength(1);
    expect(parseOrders(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]), 'orders.txt')).toHaveLength(1);
    expect(messagesOf(Buffer.from(text, 'utf16le'))).toEqual(['-: is UTF-16 text without a byte order mark; save it as UTF-8']);
    // Lines ended by CR alone (old Mac exports) are lines, and an error names the right one.
    expect(parseOrders(Buffer.from([text, text].join('\r')), 'orders.ndjson')).toHaveLength(2);
    expect(messagesOf([text, text, '{"orderId": "SO-3",, }'].join('\r'))).toEqual(['-: not valid JSON at line 3, column 20']);
    expect(messagesOf(Buffer.from('\n\n'))).toEqual(['-: holds no orders']);
    expect(parseOrders(Buffer.from(JSON.stringify(order())), 'orders.json')).toHaveLength(1);
  });

  it('reads the API’s {"orders": [...]} document, and names a malformed one as such, not as one bad order', () => {
    expect(parseOrders(Buffer.from(JSON.stringify({ orders: [order(), order()] })), 'orders.json')).toHaveLength(2);
    expect(messagesOf(JSON.stringify({ orders: {} }))).toEqual(['-: "orders" must be an array of orders']);
    expect(messagesOf(JSON.stringify({ orders: null }))).toEqual(['-: "orders" must be an array of orders']);
    expect(messagesOf(JSON.stringify({ orders: [order()], client: 'acme' }))).toEqual(['-: a document of orders holds "orders" and nothing else']);
  });
});
