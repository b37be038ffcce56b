import { Order } from '../../src/order/orderSchema';
import { DEFAULT_POLICIES, type CopyKind } from '../../src/privacy/copyPolicy';
import { buildCopyView, type PieceFacts } from '../../src/privacy/privacyView';
import { expectAbsent } from '../support/expectAbsent';

const input = {
  orderId: 'SO-1001',
  carrier: 'ZT',
  sender: {
    name: '李四',
    phone: '+86 139 1234 5678',
    address: { country: 'CN', province: '上海市', city: '上海市', district: '浦东新区', street: '祖冲之路 887 弄', detail: '3 号楼 1201 室' },
  },
  recipient: {
    name: '欧阳娜娜',
    phone: '13957246813',
    address: { country: 'CN', province: '浙江省', city: '杭州市', district: '西湖区', street: '文三路 90 号', detail: '5 幢 2 单元 1102 室' },
  },
  parcel: { weightKg: 1.2, contents: '服装' },
  routingCode: '571-W12',
};
const order = Order.parse(input);

const facts = { order, waybillNo: 'ZT5705024606781', qrUrl: 'https://scan.example.com/w/1UC3JaHJhnIKI9iWjZnQVbg' };
const PRINT = { copy: 'recipient' as const, title: 'recipient', copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'zh' as const };
const view = (copy: CopyKind, printNo = 1, relay?: string) =>
  buildCopyView(
    { ...facts, relay: relay ? { recipient: relay } : undefined },
    { copy, title: copy, copyCode: 'ABCD-EFGH', printNo, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'zh' },
    DEFAULT_POLICIES[copy],
  );

describe('privacy view per copy', () => {
  it('courier copy: masked names, relay number (or masked + service number without one), routing area, QR', () => {
    const v = view('courier', 1, '170 0000 1234 转 5678');
    expect(v.fields).toMatchObject({
      'recipient.name': '欧阳**',
      'recipient.phone': '170 0000 1234 转 5678',
      'recipient.area': '浙江省 杭州市 西湖区',
      'sender.name': '李*',
      'sender.phone': '*******5678',
      'sender.area': '上海市 浦东新区',
    });
    expect(v.qr).toBe(facts.qrUrl);
    expect(view('courier').fields['recipient.phone']).toBe('*******6813 / 95311');
  });

  it('recipient and sender copies: masked phones, no QR', () => {
    for (const copy of ['recipient', 'sender'] as const) {
      const v = view(copy);
      expect(v.fields['recipient.phone']).toBe('*******6813');
      expect(v.fields['sender.phone']).toBe('*******5678');
      expect(v.qr).toBeUndefined();
    }
  });

  it('office stub: no phone at all', () => {
    const v = view('office');
    expect(v.fields['recipient.phone']).toBeUndefined();
    expect(v.fields['sender.phone']).toBeUndefined();
    expect(v.fields['recipient.name']).toBe('欧阳**');
  });

  it('no copy carries a full name, a real phone, a street, building, unit or room', () => {
    for (const copy of ['courier', 'recipient', 'office', 'sender'] as const) {
      const text = JSON.stringify(view(copy).fields);
      expectAbsent(text, ['欧阳娜娜', '娜娜', '李四', '13957246813', '39124', '文三路', '1102', '2 单元', '祖冲之路', '1201'], `${copy} copy`);
    }
  });

  it("hides every digit of a party's phone whose 6 digits in a row the waybill number holds: with the last 4 they would make it whole", () => {
    const near = (copy: CopyKind) =>
      buildCopyView({ ...facts, waybillNo: 'ZT5713957246800' }, { copy, title: copy, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'zh' }, DEFAULT_POLICIES[copy]).fields;
    for (const copy of ['recipient', 'sender'] as const) {
      expect(near(copy)['recipient.phone']).toBe('***********'); // 13957246813: 1395724 is in the number
      expect(near(copy)['sender.phone']).toBe('*******5678');
    }
    expect(near('courier')['recipient.phone']).toBe('*********** / 95311');
    // Contents below what the screen refuses (5 digits) that leave fewer than 6 of the 7 hidden digits
    // unprinted (3 standing alone, 4 in a row, in any order): the same.
    const withContents = (contents: string) =>
      buildCopyView({ ...facts, order: { ...order, parcel: { ...order.parcel, contents } } }, { copy: 'recipient', title: 'recipient', copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'zh' }, DEFAULT_POLICIES.recipient).fields;
    for (const contents of ['联系 13957', '型号 9572', '货号 5724 款', '型号 957', '尺码 24681', '724*139']) expect(withContents(contents)['recipient.phone']).toBe('***********');
    // Pieces of 2, a 3-digit group inside a longer number, or digits of the shown part only: the mask stays.
    for (const contents of ['型号 95', '12345', '9570', '尺码 6813']) expect(withContents(contents)['recipient.phone']).toBe('*******6813');
  });

  it('marks reprints', () => {
    expect(view('recipient').fields.reprint).toBe('');
    expect(view('recipient', 2).fields.reprint).toBe('重印 第1次'); // the second paper is reprint 1
    expect(view('recipient', 3).fields.reprint).toBe('重印 第2次');
  });

  it('no copy shows a phone extension: masked phones and relay numbers stay as they were', () => {
    const withExtensions = Order.parse({
      ...input,
      sender: { ...input.sender, phone: '+86 139 1234 5678 分机 3906' },
      recipient: { ...input.recipient, phone: '13957246813 转 472901' },
    });
    expect([withExtensions.sender.phoneExtension, withExtensions.recipient.phoneExtension]).toEqual(['3906', '472901']);
    for (const copy of ['courier', 'recipient', 'office', 'sender'] as const) {
      for (const relay of [undefined, { recipient: '170 0000 1234 转 5678' }]) {
        const print = { copy, title: copy, copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'zh' as const };
        const plain = buildCopyView({ ...facts, relay }, print, DEFAULT_POLICIES[copy]);
        const extended = buildCopyView({ ...facts, order: withExtensions, relay }, print, DEFAULT_POLICIES[copy]);
        expect(extended).toEqual(plain);
        expectAbsent(JSON.stringify(extended), ['472901', '3906', '分机'], `${copy} copy${relay ? ' with relay' : ''}`);
      }
    }
  });
  it('prints the weight to the gram: more decimals (a float, or digits put there) never reach paper', () => {
    const weighing = (weightKg: number) => buildCopyView({ ...facts, order: Order.parse({ ...input, parcel: { ...input.parcel, weightKg } }) }, PRINT, DEFAULT_POLICIES.office).fields['parcel.weight'];
    expect(weighing(1.2000000000000002)).toBe('1.2 kg');
    expect(weighing(0.25)).toBe('0.25 kg');
    expect(weighing(987.65432101)).toBe('987.654 kg');
    expect(weighing(0.0000013957)).toBe('0.001 kg');
  });

  it("hides every digit of a party's phone that the label's weight, area or master number gives away beside its last 4", () => {
    const recipientPhone = (changes: Record<string, unknown>, waybill: Partial<typeof facts> & { piece?: PieceFacts } = {}) =>
      buildCopyView({ ...facts, ...waybill, order: Order.parse({ ...input, ...changes }) }, PRINT, DEFAULT_POLICIES.recipient).fields['recipient.phone'];
    expect(recipientPhone({})).toBe('*******6813');
    // 13957246813 (the recipient's): its first 7 digits are what the mask hides.
    expect(recipientPhone({ parcel: { weightKg: 13.957 } })).toBe('***********'); // 5 digits of it: more are refused
    const abroad = { name: 'Test Person', phone: '+8613957246813', address: { country: 'DE', city: 'Berlin', postalCode: '13957', line1: 'Testweg 1' } };
    expect(recipientPhone({ recipient: abroad })).toBe('***********');
    // 4 digits in a row of those the mask hides are enough.
    expect(recipientPhone({ parcel: { ...input.parcel, contents: 'hello 5724' } })).toBe('***********');
    // A short number's mask shows fewer than 4 digits: those it hides count.
    const hongKong = { name: 'Test Person', phone: '+852 6258 4017', address: { country: 'HK', city: 'Kowloon', line1: 'Test Road 1' } };
    expect(recipientPhone({ recipient: hongKong })).toBe('+852 ******17');
    expect(recipientPhone({ recipient: hongKong, parcel: { ...input.parcel, contents: '62584' } })).toBe('+852 ********');
    // A child piece prints its master number beside its own.
    expect(recipientPhone({}, { waybillNo: '73000000000002', piece: { no: 2, of: 2, masterWaybillNo: '70001395724001' } })).toBe('***********');
    // The pieces travel together: a child number that gives the phone away hides it on every piece, the master's too.
    const numbers = [facts.waybillNo, '73000013957201'];
    expect(recipientPhone({}, { piece: { no: 1, of: 2, masterWaybillNo: facts.waybillNo, numbers } })).toBe('***********');
  });

  it('multi-piece: the piece mark and, on child pieces, the master number; the Code128 is the piece’s own number', () => {
    const print = { copy: 'courier' as const, title: 'courier', copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'zh' as const };
    const one = buildCopyView(facts, print, DEFAULT_POLICIES.courier);
    expect(one.fields).toMatchObject({ piece: '1', masterWaybillNo: '' }); // a one-piece waybill prints as before
    const master = buildCopyView({ ...facts, piece: { no: 1, of: 3, masterWaybillNo: facts.waybillNo } }, print, DEFAULT_POLICIES.courier);
    expect(master.fields).toMatchObject({ piece: '1/3', masterWaybillNo: '', waybillNo: facts.waybillNo });
    const child = buildCopyView({ ...facts, waybillNo: '73000000000002', piece: { no: 2, of: 3, masterWaybillNo: facts.waybillNo } }, print, DEFAULT_POLICIES.courier);
    expect(child.fields).toMatchObject({ piece: '2/3', masterWaybillNo: facts.waybillNo, waybillNo: '73000000000002' });
    expect(child.barcode).toBe('73000000000002');
    expect(child.qr).toBe(master.qr); // one token for every piece
  });
});

describe('routing area abroad', () => {
  const abroad = (country: string, postalCode: string, city = 'Testville') =>
    buildCopyView(
      { ...facts, order: Order.parse({ ...input, recipient: { ...input.recipient, name: 'Test Person', phone: '+44 20 7946 0000', address: { country, city, postalCode, line1: '1 Test Road' } } }) },
      { copy: 'recipient', title: 'recipient', copyCode: 'ABCD-EFGH', printNo: 1, printedAt: new Date('2026-11-23T10:00:00Z'), lang: 'en' },
      DEFAULT_POLICIES.recipient,
    ).fields['recipient.area'];

  it('prints the sorting area of a postal code, never the part that names a building or a few households', () => {
    const cases: [string, string, string][] = [
      ['IE', 'D02 X285', 'D02'], // an Eircode names one dwelling
      ['GB', 'SW1A 1AA', 'SW1A'],
      ['GB', 'm11ae', 'M1'],
      ['CA', 'K1A 0B1', 'K1A'],
      ['NL', '1234 AB', '1234'],
      ['SG', '018956', '01'],
      ['US', '94105-1234', '94105'],
      ['US', '94105 1234', '94105'], // a ZIP+4 typed without its hyphen
      ['US', '941051234', '94105'],
      ['BR', '01310-100', '01310'],
      ['PT', '1000-001', '1000'],
      ['JP', '100-0001', '100'],
      ['AR', 'C1425DKF', 'C1425'],
      ['IR', '1098765432', '10987'],
      ['IL', '9199901', '91999'],
      ['CL', '8320000', '832'],
      ['TW', '100-001', '100'],
      ['DE', '10115', '10115'],
    ];
    for (const [country, code, area] of cases) {
      const printed = abroad(country, code);
      expect(printed).toMatch(new RegExp(`^Testville ${area}, `));
      if (area !== code) expectAbsent(printed ?? '', [code, code.replace(/[\s-]/g, '')], `${country} area`);
    }
  });
});

describe('region names on zh labels', () => {
  it('names Hong Kong, Macao and Taiwan as mainland waybills do', () => {
    const area = (country: string) =>
      buildCopyView(
        { ...facts, order: Order.parse({ ...input, recipient: { ...input.recipient, name: 'Test Person', phone: '+852 6173 2845', address: { country, city: 'Testville', line1: '1 Test Road' } } }) },
        PRINT,
        DEFAULT_POLICIES.recipient,
      ).fields['recipient.area'];
    expect([area('HK'), area('MO'), area('TW')]).toEqual(['Testville, 中国香港特别行政区', 'Testville, 中国澳门特别行政区', 'Testville, 中国台湾']);
  });
});
