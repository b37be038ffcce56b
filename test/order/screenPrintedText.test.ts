import fs from 'node:fs';
import path from 'node:path';
import { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { screenPrintedText, waybillNoNearPhone } from '../../src/order/screenPrintedText';
import { WaybillError } from '../../src/errors';
import { expectAbsent } from '../support/expectAbsent';

const SAMPLES = path.join(__dirname, '..', '..', 'samples');

const base: Order = Order.parse({
  orderId: 'SO-1',
  carrier: 'SF',
  sender: {
    name: '欧阳晓岚',
    phone: '139 6258 4017',
    address: { country: 'CN', province: '浙江省', city: '杭州市', district: '西湖区', street: '文三路 478 号', detail: '华星时代广场 5幢 2单元 1102室' },
  },
  recipient: {
    name: "Mary-Jane O'Connor",
    phone: '+1 415 555 0132',
    address: { country: 'US', region: 'CA', city: 'San Francisco', postalCode: '94105', line1: '425 Mission Street, Apt 4B', line2: 'Sendlinger Straße 42, 3. OG' },
  },
  parcel: { weightKg: 1.2, contents: '服装' },
  routingCode: '571-W12',
});

type Field = 'contents' | 'routingCode' | 'waybillNo' | 'city' | 'region' | 'postalCode';

function withField(field: Field, value: string): Order {
  const o = structuredClone(base);
  if (field === 'contents') o.parcel.contents = value;
  else if (field === 'routingCode' || field === 'waybillNo') o[field] = value;
  else Object.assign(o.recipient.address, { [field]: value });
  return o;
}

const PATHS: Record<Field, string> = {
  contents: 'parcel.contents',
  routingCode: 'routingCode',
  waybillNo: 'waybillNo',
  city: 'recipient.address.city',
  region: 'recipient.address.region',
  postalCode: 'recipient.address.postalCode',
};

/** The screen's messages for one field holding one value; none may quote the value. */
function messagesFor(field: Field, value: string): string[] {
  const issues = screenPrintedText(withField(field, value));
  const messages = issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  expectAbsent(messages.join('\n'), [value], `messages for ${field}`);
  for (const issue of issues) expect(issue.path.join('.')).toBe(PATHS[field]);
  return issues.map((i) => i.message);
}

/** The screen's messages for a whole order. */
const messagesOf = (order: Order) => screenPrintedText(order).map((i) => i.message);

const refused = (field: Field, value: string, rule: RegExp) => expect(messagesFor(field, value)).toEqual(expect.arrayContaining([expect.stringMatching(rule)]));
const passes = (field: Field, value: string) => expect(messagesFor(field, value)).toEqual([]);

describe('printed free text screening', () => {
  it('passes the base order and every sample order', () => {
    expect(screenPrintedText(base)).toEqual([]);
    expect(parseOrders(fs.readFileSync(path.join(SAMPLES, 'orders.ndjson'), 'utf8'), 'orders.ndjson')).toHaveLength(16);
    expect(parseOrders(fs.readFileSync(path.join(SAMPLES, 'orders.json'), 'utf8'), 'orders.json')).toHaveLength(3);
  });

  it('refuses a run of 6 or more digits in parcel.contents, anything but letters between digits ignored', () => {
    const rule = /^must not contain 6 or more digits in a row/;
    for (const text of ['138 0013 8000', '订单 202406', '2024-06-01', '12.34.56', '１２３４５６', '１２３ ４５６', 'SKU 12-34-56-78', '电话一三八零零一三八零零零', '①②③④⑤⑥', '壹贰叁肆伍陆'])
      refused('contents', text, rule);
    for (const text of ['12345', 'iPhone 15 256GB', '1.5 kg', '12345 件 6', '手机壳 x2', '３４５６', '一百二十三件', '三件套']) passes('contents', text);
    // Only contents: a routing code or postal code may have 6 digits of its own.
    passes('routingCode', '571-310012');
    passes('postalCode', '941051');
  });

  it("refuses 6 consecutive digits of either party's phone (national or E.164) in any screened field", () => {
    const sender = /^must not contain 6 or more digits in a row of the sender's phone number$/;
    const recipient = /^must not contain 6 or more digits in a row of the recipient's phone number$/;
    refused('contents', '962584', sender); // national number 13962584017
    refused('contents', '8613 96', sender); // E.164 digits 8613962584017
    refused('contents', '5 5 5 0 1 3', recipient);
    refused('routingCode', 'A-625840-B', sender);
    refused('postalCode', '555013', recipient);
    refused('city', '4155550132', recipient);
    refused('region', '415-555', recipient);
    passes('routingCode', 'A-96258-B'); // 5 digits
    passes('waybillNo', 'SF1234567890123');
    passes('postalCode', '94105');
  });

  it('reads digits past what would hide them: characters that draw nothing, any punctuation, one letter, digits of other scripts', () => {
    const sender = /^must not contain 6 or more digits in a row of the sender's phone number$/;
    const recipient = /^must not contain 6 or more digits in a row of the recipient's phone number$/;
    for (const text of ['139\u200b6258\u200b4017', '139\u00ad6258\u20604017', '139/6258/4017', '139_6258_4017', '(139)6258(4017)', '139、6258、4017', '139:6258,4017', '139a6258b4017', '139号6258室4017', '١٣٩٦٢٥٨٤٠١٧', '१३९६२५८४०१७'])
      refused('contents', text, sender);
    for (const text of ['415\u200b555\u200b0132', '415/555/0132']) refused('city', text, recipient);
    // Without a phone, a run is still a run across punctuation (rule 1); letters end it.
    refused('contents', '38/39/40/41', /^must not contain 6 or more digits in a row/);
    passes('contents', 'RTX 4090D 24G');
    passes('contents', '尺码 38 颜色 40');
  });

  it('reads names and streets past characters that draw nothing and past punctuation', () => {
    refused('contents', '晓\u200b岚', /^must not contain the sender's name or given name$/);
    refused('contents', 'Mary/Jane/O\u2060Connor', /^must not contain the recipient's name or given name$/);
    refused('contents', 'Con\u200bnor', /^must not contain the recipient's name or given name$/);
    // A long full name spelt out or joined by punctuation; a short one is not looked for inside words.
    for (const text of ['M A R Y J A N E O C O N N O R', 'MaryJane.OConnor', 'mary_jane_oconnor']) refused('contents', text, /^must not contain the recipient's name or given name$/);
    refused('contents', '11\u200b02室', /^must not contain part of the sender's street address \(a building, unit or room\)$/);
  });

  it('reads traditional characters as simplified: a name, street or unit is the same text in either', () => {
    // 欧阳晓岚 at 文三路 478 号, 华星时代广场 5幢 2单元 1102室 (the sender), written in traditional characters.
    refused('contents', '給曉嵐的禮物', /^must not contain the sender's name or given name$/);
    refused('contents', '歐陽曉嵐', /^must not contain the sender's name or given name$/);
    refused('contents', '華星時代廣場', /^must not contain part of the sender's street address \(a street or place name\)$/);
    refused('contents', '五幢二單元', /^must not contain part of the sender's street address \(a building, unit or room\)$/);
    refused('city', 'Testville 1203號房', /^must not contain a building, unit or room/);
    passes('contents', '禮物 衣服'); // traditional text is fine in itself
    // Japanese forms too (暁 for 晓, 広場 for 广场), and a traditional compound surname is one surname.
    refused('contents', '给暁嵐', /^must not contain the sender's name or given name$/);
    refused('contents', '時代広場', /^must not contain part of the sender's street address \(a street or place name\)$/);
    const traditional = structuredClone(base);
    traditional.sender.name = '歐陽曉嵐';
    traditional.parcel.contents = '给晓岚';
    expect(messagesOf(traditional)).toEqual(["must not contain the sender's name or given name"]);
    // Counted Han numbers are numbers: 四百七十八 is the house number 478, 一千一百零二 the room 1102.
    refused('contents', '四百七十八', /^must not contain part of the sender's street address \(a house number\)$/);
    refused('contents', '一千一百零二', /^must not contain part of the sender's street address/);
    refused('city', 'Testville 二十樓', /^must not contain a building, unit or room/);
    for (const text of ['十全大补', '百草味', '千岛湖']) passes('contents', text);
  });

  it('refuses a building, unit or room and an e-mail address in a printed place, whoever they belong to', () => {
    const unit = /^must not contain a building, unit or room: it belongs in line1 or line2, which are never printed$/;
    for (const text of ['Room 1102 Building 5', '5幢2单元1102室', 'Apt 12B Springfield', 'Suite 400']) refused('city', text, unit);
    refused('region', 'Flat 8C', unit);
    refused('city', 'zz@example.com', /^must not contain an e-mail address$/);
    refused('contents', 'gift for zz@example.com', /^must not contain an e-mail address$/);
    for (const text of ['Springfield', 'Paris 16e', 'District 7', 'Saint-Étienne']) passes('city', text);
  });

  it("refuses a client waybillNo from 8 digits of a party's phone: the carrier chose it, and 6 meet by chance", () => {
    const sender = /^must not contain 8 or more digits in a row of the sender's phone number$/;
    refused('waybillNo', 'SF1213962584017', sender); // the whole national number 13962584017
    refused('waybillNo', 'SF1234562584017', sender); // 62584017
    refused('waybillNo', 'SF1234586139625', sender); // 86139625 of the E.164 digits
    // 6 or 7 digits pass the screen (the print alerts on them: waybillNoNearPhone below).
    passes('waybillNo', 'SF1234962584000'); // 6: 962584
    passes('waybillNo', 'SF1209625840000'); // 7: 9625840
    expect(waybillNoNearPhone(withField('waybillNo', 'SF1234962584000'))).toBe(true);
    expect(waybillNoNearPhone(withField('waybillNo', 'SF1235550132000'))).toBe(true); // the recipient's
    expect(waybillNoNearPhone(withField('waybillNo', 'SF1234962580000'))).toBe(false); // 5 digits
    expect(waybillNoNearPhone(withField('waybillNo', 'SF1234567890123'))).toBe(false);
    expect(waybillNoNearPhone(base)).toBe(false); // no client number
  });

  it("refuses either party's full name or given name, case-, width- and space-insensitively", () => {
    const sender = /^must not contain the sender's name or given name$/;
    const recipient = /^must not contain the recipient's name or given name$/;
    // Han: the name, and the name minus its (compound) surname.
    for (const text of ['欧阳晓岚', '欧阳 晓 岚的礼物', '晓岚', '给晓岚']) refused('contents', text, sender);
    // Latin: the full name spaces ignored, and every word of 3+ letters as a whole word, "O'Connor" as Connor too.
    for (const text of ['MaryJane OConnor', 'gift for MARY', 'ｊａｎｅ', 'Jane-Austen novels', "O'Connor", 'Connor 4 ever']) refused('contents', text, recipient);
    refused('routingCode', 'MARY-01', recipient);
    // Not inside other words, nor the surname alone for Han names, nor name particles.
    for (const text of ['Maryland crab', 'Janet', '欧阳', '晓', 'Connors']) passes('contents', text);
  });

  it('screens every segment of a ·-separated name, and no one-character Han given name on its own', () => {
    const dotted = withField('contents', '赛帕克');
    dotted.sender.name = '麦麦提·赛帕克';
    expect(screenPrintedText(dotted).map((i) => i.message)).toEqual(["must not contain the sender's name or given name"]);
    for (const text of ['麦麦提', '麦麦提赛帕克', '麦麦提·赛帕克']) {
      expect(screenPrintedText({ ...dotted, parcel: { ...dotted.parcel, contents: text } })).toHaveLength(1);
    }
    // 李四: 四件套 is bedding, not the buyer; the full name still counts.
    const short = structuredClone(base);
    short.sender.name = '李四';
    expect(screenPrintedText({ ...short, parcel: { ...short.parcel, contents: '四件套' } })).toEqual([]);
    expect(screenPrintedText({ ...short, parcel: { ...short.parcel, contents: '李四收' } })).toHaveLength(1);
    // A spaced Han name marks its surname itself: 高橋 悠斗 → 悠斗.
    short.sender.name = '高橋 悠斗';
    expect(screenPrintedText({ ...short, parcel: { ...short.parcel, contents: '悠斗' } })).toHaveLength(1);
  });

  it('lets a city or region share one word with a name, but not two or the full name', () => {
    const recipient = /^must not contain the recipient's name or given name$/;
    passes('city', 'Jane');
    passes('region', 'Mary Land');
    refused('city', 'Mary Jane', recipient);
    refused('city', "Mary-Jane O'Connor", recipient);
    refused('city', '晓岚', /^must not contain the sender's name or given name$/); // Han given names count everywhere
    refused('contents', 'Jane', recipient);
  });

  it('refuses a street or place name from either party, but not a street word alone', () => {
    const sender = /^must not contain part of the sender's street address \(a street or place name\)$/;
    const recipient = /^must not contain part of the recipient's street address \(a street or place name\)$/;
    for (const text of ['文三路', '杭州文三路店', '华星时代广场', '时代广场纪念品']) refused('contents', text, sender);
    for (const text of ['Mission Street', 'mission st.', 'MissionStreet', 'Sendlinger Str', 'sendlinger strasse']) refused('contents', text, recipient);
    refused('region', 'Mission St', recipient);
    refused('routingCode', 'MISSION-ST', recipient);
    for (const text of ['Road bike parts', 'Street wear', 'Mission impossible DVD', '三路', '广场舞音响', '服装', '手机壳']) passes('contents', text);
  });

  it('refuses a building, unit or room token, but not a product that counts with the same characters', () => {
    const sender = /^must not contain part of the sender's street address \(a building, unit or room\)$/;
    const recipient = /^must not contain part of the recipient's street address \(a building, unit or room\)$/;
    for (const text of ['5幢', '5 幢', '2单元', '1102室', '放1102 室门口']) refused('contents', text, sender);
    for (const text of ['Apt 4B', 'apt. 4b', 'APT4B', '3. OG']) refused('contents', text, recipient);
    refused('routingCode', 'APT-4B', recipient);
    for (const text of ['15幢', '52单元', '5号电池', '7层置物架', 'Apt 4', 'Apartment guide']) passes('contents', text);
  });

  it('refuses a house number of 3 or more digits appearing as a whole number, not an amount', () => {
    const sender = /^must not contain part of the sender's street address \(a house number\)$/;
    const recipient = /^must not contain part of the recipient's street address \(a house number\)$/;
    refused('contents', '478', sender);
    refused('contents', '第478号', sender);
    refused('contents', 'No. 425', recipient);
    refused('routingCode', '425', recipient); // a routing code of numbers alone: a house or room mapped there
    passes('routingCode', 'R-425'); // a sort code with letters meets 3 digits of a house number by chance
    // In Han numerals too: 四七八 and 一一〇二 (the sender's room 1102).
    refused('contents', '四七八', sender);
    refused('contents', '房号一一〇二', sender);
    for (const text of ['4780', '1478', '42', '478g 茶叶', '425 ml', '1102 件', '四七八〇']) passes('contents', text);
  });

  it('reads phone digits as people write them to get past a filter: spoken, circled, letters or words between groups', () => {
    const sender = /^must not contain 6 or more digits in a row of the sender's phone number$/;
    // 13962584017 said over a phone line (幺 1, 两 2, 洞 0, 拐 7), in circled digits without a Unicode decomposition,
    // and with words or letters that look like dashes (ー U+30FC, ꞏ U+A78F, ǀ U+01C0) between its groups.
    for (const text of ['电话幺三九六两五八四洞幺拐', '手机❶❸❾❻❷❺❽❹⓿❶❼', '➀➂➈➅➁➄➇➃🄋➀➆', '⓵⓷⓽⓺⓶⓹⓼⓸⓿⓵⓻', '13962号码58401号码7', '139xx62xx58xx4017', '139电话号码6258',
      '13962ーーーーー58401ーーーーー7', '13962ꞏꞏꞏꞏꞏ58401ꞏꞏꞏꞏꞏ7', '1396ǀǀǀǀǀ2584ǀǀǀǀǀ017', '13962 hello 58401 world 7', '139 is the start, then 62584017'])
      refused('contents', text, sender);
    // 么 as typed for 幺, traditional financial numerals (貳 參 陸 兩), the variants 参 弌 弍 弎, Suzhou numerals, counting rods.
    for (const text of ['么參玖陸貳伍捌肆零么柒', '壹叁玖陆兩伍捌肆零壹柒', '么参九六二五八四零么七', '〡〣〩〦〢〥〨〤〇〡〧', '弌弎玖陸弍伍捌肆零弌柒', '𝍠𝍢𝍨𝍥𝍡𝍤𝍧𝍣〇𝍠𝍦'])
      refused('contents', text, sender);
    refused('contents', '幺三八零零幺三八零零零', /^must not contain 6 or more digits in a row/);
    for (const text of ['两件衬衫', '洞洞鞋 2双', 'RTX 4090D 24G', '尺码 38 颜色 40']) passes('contents', text);
  });

  it("refuses a phone split between printed fields or reordered in one: together they show fewer than 6 of its digits, in pieces of 3 or more", () => {
    const sender = (others: string) => `must not hold${others} 6 or more digits of the sender's phone number (in pieces of 3 or more, in any order)`;
    const order = (o: { contents?: string; routingCode?: string; weightKg?: number; city?: string }) => {
      const x = structuredClone(base);
      if (o.contents !== undefined) x.parcel.contents = o.contents;
      if (o.routingCode !== undefined) x.routingCode = o.routingCode;
      if (o.weightKg !== undefined) x.parcel.weightKg = o.weightKg;
      if (o.city !== undefined) x.recipient.address = { ...x.recipient.address, city: o.city } as typeof x.recipient.address;
      return screenPrintedText(x).map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    // 13962584017: contents, routing code and weight as printed (to the gram) each hold 5 or fewer of it in a row.
    expect(order({ contents: '13962', routingCode: '58401', weightKg: 7 })).toEqual([`parcel.contents: ${sender(', with routingCode,')}`]);
    expect(order({ contents: 'SKU 1396', routingCode: 'A-4017' })).toEqual([`parcel.contents: ${sender(', with routingCode,')}`]);
    expect(order({ weightKg: 139.625 })).toEqual([`parcel.weightKg: ${sender('')}`]);
    expect(order({ contents: '货号 6258', weightKg: 4.017, city: 'Springfield 1396' })).toEqual([`parcel.contents: ${sender(', with recipient.address.city and parcel.weightKg,')}`]);
    // Groups of 3 standing alone count in any order: A017 B840 C625 D139 spells it backwards.
    expect(order({ contents: 'A017 B840 C625 D139' })).toEqual([`parcel.contents: ${sender('')}`]);
    expect(order({ contents: '规格 八*六二五*一三九' })).toEqual([`parcel.contents: ${sender('')}`]);
    expect(order({ contents: '139', routingCode: 'A625', weightKg: 8 })).toEqual([`parcel.contents: ${sender(', with routingCode,')}`]);
    // 5 of its digits, or pieces of 2 (left to chance), pass: the label then hides every digit of the masked number.
    for (const o of [{ contents: '13962' }, { contents: '货号 6258' }, { contents: 'A84 B25 C96 D13' }, { weightKg: 139.6 }, { contents: '1395 规格' }]) expect(order(o)).toEqual([]);
    // The carrier's waybill number alone is chance (6 of its digits meet a phone in 1 of 7,000 orders; rule 2
    // reads it from 8), but not beside a piece the integrator wrote: SF1396258000001 with 尾号4017 spells it.
    const withNo = (waybillNo: string, contents: string) => screenPrintedText({ ...base, waybillNo, parcel: { ...base.parcel, contents } }).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(withNo('SF1396258000001', '服装')).toEqual([]);
    expect(withNo('SF1396258000001', '尾号4017')).toEqual([`parcel.contents: ${sender(', with waybillNo,')}`]);
  });

  it('refuses long digit runs in places and codes: no city holds 6 digits, no routing or postal code 11', () => {
    refused('city', 'Springfield 110101', /^must not contain 6 or more digits in a row/);
    refused('routingCode', '13800138000', /^must not contain 11 or more digits in a row/);
    refused('postalCode', '13800138000', /^must not contain 11 or more digits in a row/);
    passes('routingCode', '571-310012');
    passes('postalCode', '1234567890');
  });

  it('refuses e-mail addresses typed around a filter', () => {
    for (const text of ['zz@163。com', 'zz@ 163.com', 'zz@163,com', 'zz(at)example.com', 'zz [at] example [dot] com']) refused('contents', text, /^must not contain an e-mail address$/);
    for (const text of ['meet (at) 5', '2 @ 50% off']) passes('contents', text);
  });

  it('screens a name without the titles and notes order systems add to it', () => {
    const sender = /^must not contain the sender's name or given name$/;
    for (const name of ['测试某某先生', '测试某某(收)', '测试某某 收', '测试某某/前台', '测试某某（测试公司）', '测试某某女士']) {
      const order = structuredClone(base);
      order.sender.name = name;
      for (const contents of ['给测试某某的礼物', '试某某']) expect(screenPrintedText({ ...order, parcel: { ...order.parcel, contents } }).map((i) => i.message)).toContain("must not contain the sender's name or given name");
    }
    const short = withField('contents', '测某');
    short.sender.name = '测某女士';
    expect(messagesOf(short)).toEqual(expect.arrayContaining([expect.stringMatching(sender)]));
    // 王女士 leaves a surname, which paper shows anyway.
    const surname = withField('contents', '王老吉');
    surname.sender.name = '王女士';
    expect(messagesOf(surname)).toEqual([]);
  });

  it("finds a name word with a possessive, spelt out or glued to a digit, but lets a place share one word", () => {
    const recipient = /^must not contain the recipient's name or given name$/;
    for (const text of ["Mary's gift", 'MARY’S GIFT', "O'Connor's"]) refused('contents', text, recipient);
    const long = (contents: string, city = 'San Francisco') => {
      const order = withField('contents', contents);
      order.recipient.name = 'Alexandra Petrova';
      order.recipient.address = { ...order.recipient.address, city } as typeof order.recipient.address;
      return messagesOf(order);
    };
    for (const text of ['A l e x a n d r a', 'gift4Alexandra', 'Alexandras gift']) expect(long(text)).toEqual([expect.stringMatching(recipient)]);
    expect(long('服装', 'Alexandra')).toEqual([]);
  });

  it('refuses a unit in the other numerals and a row of units written as one number', () => {
    const unit = /^must not contain part of the sender's street address \(a building, unit or room\)$/;
    const house = /^must not contain part of the sender's street address \(a house number\)$/;
    // The sender's detail holds 5幢 2单元 1102室.
    for (const text of ['五幢二单元一一零二室', '一千一百零二室', '一一〇二室']) refused('contents', text, unit);
    for (const text of ['5-2-1102', '2-1102']) refused('routingCode', text, house);
    const dashed = (detail: string, field: 'contents' | 'routingCode', value: string) => {
      const order = withField(field, value);
      order.sender.address = { ...order.sender.address, detail } as typeof order.sender.address;
      return messagesOf(order);
    };
    expect(dashed('1-2-301', 'routingCode', '301')).toEqual([expect.stringMatching(house)]);
    expect(dashed('1-2-301', 'contents', '1号楼2单元301')).toEqual([expect.stringMatching(house)]);
    // A house number and the room after it, written as one code: 478号1602室 is 478-1602.
    for (const value of ['478-1602', '478/1602']) expect(dashed('测试路478号1602室', 'routingCode', value)).toEqual([expect.stringMatching(house)]);
    expect(dashed('测试路478号1602室', 'routingCode', '1602-478')).toEqual([]); // in another order they are two numbers, as chance makes them
    expect(dashed('测试路8号12室', 'routingCode', '8-12')).toEqual([]); // short pairs meet by chance
    expect(dashed('五号楼六层', 'contents', '5号楼6层')).toEqual([expect.stringMatching(unit)]);
    expect(dashed('五号楼六层', 'contents', '5号电池')).toEqual([]);
  });

  it('refuses a building, unit, room or mailbox in a place or postal code, as written in many countries', () => {
    const unit = /^must not contain a building, unit or room: it belongs in line1 or line2, which are never printed$/;
    for (const text of ['Seoul 101동 1203호', 'Tokyo 3F', 'Hong Kong 12/F', 'Moscow кв. 15', 'Madrid 3º 2ª', 'Paris Bât. B Esc. 3 Appt 12', 'Berlin Whg 5', 'Buenos Aires Dpto 5B', 'Apt4B', '#1203', 'PO Box 1234'])
      refused('city', text, unit);
    for (const text of ['Apt 3407', 'Room 5', 'Flat 8C', 'Rm 1203']) refused('postalCode', text, unit);
    for (const text of ['Seoul', 'Paris 16e', 'District 7', 'Bat Yam', 'Saint-Étienne']) passes('city', text);
    for (const text of ['SW1A 1AA', 'K1A 0B1', '94105-1234']) passes('postalCode', text);
  });

  it('lets real addresses and products through: a district named like its road, a postal area like a house number, sizes and specs', () => {
    const to = (address: Record<string, string>, contents = '服装') => {
      const o = structuredClone(base);
      o.recipient.address = { ...address } as unknown as typeof o.recipient.address;
      o.parcel.contents = contents;
      return messagesOf(o);
    };
    // Hong Kong writes 銅鑼灣 for the district and 銅鑼灣道 for its road: the district prints, as it should.
    const hk = { country: 'HK', city: '銅鑼灣', line1: '銅鑼灣道 81 號' };
    expect(to(hk)).toEqual([]);
    expect(to(hk, '銅鑼灣')).toEqual(["must not contain part of the recipient's street address (a street or place name)"]); // not in the contents
    // Only a road is named after its district: an estate's name is no district.
    expect(to({ country: 'HK', city: '海景花园', line1: '海景花园城 5座' })).toEqual(expect.arrayContaining(["must not contain part of the recipient's street address (a street or place name)"]));
    expect(to({ country: 'TW', city: '台北市', postalCode: '10613', line1: '中山北路二段 106 號' })).toEqual([]); // the area 106 is no house
    expect(to({ country: 'GB', city: 'Romford', postalCode: 'RM1 3ER', line1: '12 Test Street' })).toEqual([]); // RM1 is no room
    expect(to({ country: 'GB', city: 'Romford', postalCode: 'Apt 4B', line1: '12 Test Street' })).toEqual([expect.stringMatching(/^must not contain a building, unit or room/)]);
    for (const contents of ['小米14 12+256G', '纸箱 27*36*27cm', '螺丝 M6*16 100个', '相框 30×40×2']) expect(messagesOf({ ...base, parcel: { ...base.parcel, contents } })).toEqual([]);
    // Anyone's mobile number is still refused written with those signs.
    for (const text of ['备用 177*1234*5678', '177+1234+5678', '177×1234×5678']) refused('contents', text, /^must not contain a mobile phone number$/);
  });

  it('refuses a floor, room or numbered lane in a place as written in Taiwan, Macao and abroad', () => {
    for (const city of ['台北市 5樓之3', '澳門 13樓B', 'Testville 21st Fl', 'Testville Kamer 12', 'Testville Lot 12', '澳門 七层', '서울 3층', 'Тестоград 5 этаж', 'Тестоград этаж 5', 'Testopoli piano 3', 'Testopoli 3 piano'])
      refused('city', city, /^must not contain a building, unit or room/);
    for (const region of ['12巷3弄5號', '十二巷', '渋谷3丁目5番地', '渋谷三丁目五番']) refused('region', region, /^must not contain a street with a house number/);
    for (const city of ['台北市', '澳門', 'Testville', '九龍城', '서울', 'Пианино', '渋谷3丁目']) passes('city', city);
  });

  it('refuses a street with a number in a place, while a place word alone names places', () => {
    const street = /^must not contain a street with a house number: it belongs in line1 or line2, which are never printed$/;
    for (const text of ['88 Testing Road, London', '九龙测验街8号测验大厦', '台北市示例路66号', '12 Rue des Essais', 'Teststraße 5 Berlin']) refused('city', text, street);
    refused('region', 'Testing Avenue 42', street);
    for (const text of ['九龙城', '铜锣湾', 'Kowloon City', 'Garden City', 'Paris 16e', 'District 7', 'Palm Beach Gardens']) passes('city', text);
    passes('region', '北海道');
  });

  it('reads city, region and postal code together, as the area line prints them side by side', () => {
    const abroad = (recipient: Record<string, unknown>, address: Record<string, unknown>) => {
      const o = structuredClone(base);
      Object.assign(o.recipient, recipient);
      o.recipient.address = { country: 'US', city: 'Austin', line1: '1 Test Road', ...address } as typeof o.recipient.address;
      return screenPrintedText(o).map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    const together = ' (city, region and postal code, read together as the label prints them)';
    // The recipient's phone +86 139 5724 6813, split between region and postal code: "Austin 139 57246".
    expect(abroad({ phone: '+8613957246813' }, { region: '139', postalCode: '57246' })).toEqual([
      `recipient.address: must not contain 6 or more digits in a row of the recipient's phone number${together}`,
    ]);
    // A name split between city and region: each one name word (places are named after people), both the name.
    expect(abroad({ name: 'Testa Mariposa' }, { city: 'Testa', region: 'Mariposa', postalCode: '94105' })).toEqual([
      `recipient.address: must not contain the recipient's name or given name${together}`,
    ]);
    // A unit or a street with its number split between city and region.
    const place = ' (city, region and postal code, read together as the label prints them)';
    expect(abroad({}, { city: 'Springfield Apt', region: '4B' })).toEqual([`recipient.address: must not contain a building, unit or room: it belongs in line1 or line2, which are never printed${place}`]);
    expect(abroad({}, { city: '88', region: 'Elm Street' })).toEqual([`recipient.address: must not contain a street with a house number: it belongs in line1 or line2, which are never printed${place}`]);
    // What one of them refuses is reported there only.
    expect(abroad({}, { city: 'Apt 4B', region: 'TX' })).toEqual([
      'recipient.address.city: must not contain a building, unit or room: it belongs in line1 or line2, which are never printed',
    ]);
    // The postal code as printed: a ZIP+4's +4 is not on paper, so 78701 1234 makes no 11-digit run with the region.
    expect(abroad({}, { region: '12', postalCode: '78701-1234' })).toEqual([]);
    expect(abroad({}, { region: 'TX', postalCode: '78701' })).toEqual([]);
  });

  it("refuses an order id holding 8 digits in a row of a party's phone, a name or a street: it travels in answers, webhooks and URLs", () => {
    const withId = (orderId: string) => screenPrintedText({ ...base, orderId }).map((i) => `${i.path.join('.')}: ${i.message}`);
    for (const id of ['13962584017', 'SO-139-6258-4017', 'TB8613962584']) expect(withId(id)).toEqual(["orderId: must not contain 8 or more digits in a row of the sender's phone number"]);
    // Order ids are long numbers: 7 digits of a phone in one is chance, not a phone; and so is a house number.
    for (const id of ['SO-1', '2024060113962580000', '1396258', 'SO-478']) expect(withId(id)).toEqual([]);
    // A name or a street is no reference: the id stays in the store after the order's data is shredded.
    expect(withId('欧阳晓岚-文三路店')).toEqual(["orderId: must not contain the sender's name or given name", "orderId: must not contain part of the sender's street address (a street or place name)"]);
    expect(withId('SO-5幢2单元1102室')).toEqual(["orderId: must not contain part of the sender's street address (a building, unit or room)"]);
  });

  it('screens the international party fields only: CN city and district are checked divisions', () => {
    const issues = screenPrintedText(withField('city', 'Apt 4B'));
    expect([...new Set(issues.map((i) => i.path.join('.')))]).toEqual(['recipient.address.city']);
    // The sender's CN city is 杭州市, which holds nothing secret and is not screened.
    expect(screenPrintedText(base).filter((i) => i.path[0] === 'sender')).toEqual([]);
  });
});

describe('the order schema', () => {
  const input = () => ({
    orderId: 'SO-1',
    carrier: 'SF',
    sender: { name: '欧阳晓岚', phone: '13962584017', address: { country: 'CN', province: '浙江省', city: '杭州市', district: '西湖区', street: '文三路 478 号', detail: '5幢 2单元 1102室' } },
    recipient: { name: 'Eleanor Whitcombe', phone: '07447 318260', address: { country: 'GB', city: 'London', postalCode: 'EC1V 9HX', line1: 'Flat 12, Rosebery Court', line2: '27 Farringdon Road' } },
    parcel: { weightKg: 1 },
  });

  function issuesOf(patch: (o: ReturnType<typeof input>) => void) {
    const o = input();
    patch(o);
    try {
      parseOrders(JSON.stringify(o), 'orders.json');
    } catch (e) {
      expect(e).toBeInstanceOf(WaybillError);
      return (e as WaybillError).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    }
    return [];
  }

  it('refuses screened text at the field path before anything is created', () => {
    expect(issuesOf((o) => Object.assign(o.parcel, { contents: 'Rosebery Court 1102室' }))).toEqual([
      "parcel.contents: must not contain part of the sender's street address (a building, unit or room)",
      "parcel.contents: must not contain part of the sender's street address (a house number)",
      "parcel.contents: must not contain part of the recipient's street address (a street or place name)",
    ]);
    expect(issuesOf((o) => Object.assign(o.recipient.address, { city: 'Eleanor Whitcombe' }))).toEqual(["recipient.address.city: must not contain the recipient's name or given name"]);
  });

  it('limits routingCode to a sorting-code alphabet: ASCII letters, digits and "-", at most 16', () => {
    expect(issuesOf((o) => Object.assign(o, { routingCode: 'HZ-571-W12' }))).toEqual([]);
    for (const routingCode of ['571 W12', '571/W12', '杭州-571', 'A'.repeat(17), '']) {
      expect(issuesOf((o) => Object.assign(o, { routingCode }))).toEqual(['routingCode: must be 1–16 ASCII letters, digits or "-"']);
    }
  });

  it("checks a client waybillNo against its carrier's form", () => {
    expect(issuesOf((o) => Object.assign(o, { waybillNo: 'SF1234567890123' }))).toEqual([]);
    expect(issuesOf((o) => Object.assign(o, { waybillNo: 'YT1234567890123' }))).toEqual(['waybillNo: must be a waybill number of SF Express: SF + 13 digits']);
    expect(issuesOf((o) => Object.assign(o, { carrier: 'EMS', waybillNo: 'EA123456784CN' }))).toEqual(['waybillNo: check digit does not match (UPU S10)']);
    expect(issuesOf((o) => Object.assign(o, { waybillNo: 'sf1234567890123' }))).toEqual(['waybillNo: must be a waybill number of SF Express: SF + 13 digits']);
    // Refused as no carrier's number, not screened on top.
    expect(issuesOf((o) => Object.assign(o, { waybillNo: 'SF13962584017' }))).toEqual(['waybillNo: must be a waybill number of SF Express: SF + 13 digits']);
  });
});
