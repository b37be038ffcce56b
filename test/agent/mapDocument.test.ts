// The print component's documents → our orders: the standard waybill data fields a warehouse system
// sends the platforms' components become an order the service validates like any other, and every
// problem is named by its path in that data, never by its value.

import { WaybillError, formatPath } from '../../src/errors';
import { Order } from '../../src/order/orderSchema';
import { encryptedDataPath, mapDocument, orderRequestBody, waybillContentIndex } from '../../src/agent/component/mapDocument';
import { standardData } from './standardData';

function issuesOf(data: unknown): string[] {
  try {
    mapDocument(data);
  } catch (error) {
    if (!(error instanceof WaybillError)) throw error;
    expect(error.code).toBe('invalid_input');
    return error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
  }
  throw new Error('mapped without a problem');
}

describe('mapDocument', () => {
  it('maps the standard fields: carrier by cpCode, the waybill code as the client-supplied number, mobile before phone, town with the sealed street, grams to kg', () => {
    const order = mapDocument(standardData());
    expect(order).toMatchObject({
      orderId: '78123456789012',
      carrier: 'ZT',
      waybillNo: '78123456789012',
      routingCode: '571-W12',
      parcel: { weightKg: 1.2, pieces: 1, contents: '服装、鞋' },
      recipient: { name: '欧阳晓岚', phone: '+8613962584017', address: { country: 'CN', province: '浙江省', city: '杭州市', district: '西湖区', street: '文三路 478 号华星时代广场 B 座 1602 室' } },
      sender: { phone: '+862168883210', address: { street: '张江镇张江路 1288 号创新大厦 7 层 702 室' } },
    });
  });

  it('accepts every cpCode of a carrier we print for, in any case, and a routing code as a plain string', () => {
    const codes = { zto: ['ZT', '78123456789012'], YTO: ['YT', 'YT1234567890123'], STO: ['ST', '773123456789012'], YUNDA: ['YD', '462345678901234'], SF: ['SF', 'SF1234567890123'], EMS: ['EMS', 'EA123456785CN'], JD: ['JD', 'JDVA12345678901'] };
    for (const [cpCode, [carrier, waybillCode]] of Object.entries(codes))
      expect(mapDocument(standardData({ cpCode, waybillCode, routingInfo: 'A-1' }))).toMatchObject({ carrier, waybillNo: waybillCode, routingCode: 'A-1' });
  });

  it('refuses a carrier we do not print for by naming cpCode', () => {
    expect(issuesOf(standardData({ cpCode: 'HTKY' }))).toEqual([expect.stringMatching(/^cpCode: not a carrier we print for; one of ZTO, YTO/)]);
  });

  it('names the path of missing and unknown fields', () => {
    const data = standardData({ remark: '放门口' });
    delete data.packageInfo;
    const issues = issuesOf(data);
    expect(issues).toContain('packageInfo: required');
    expect(issues).toContain(': unknown property');
    const recipient = { name: '欧阳晓岚', address: { province: '浙江省', city: '杭州市', detail: '文三路 478 号' } };
    expect(issuesOf(standardData({ recipient }))).toEqual(['recipient.mobile: a mobile or phone is required']);
  });

  it('reads data as warehouse systems fill it: null, "" or blanks for what they lack are absent, numbers may come as decimal strings', () => {
    const landlineOnly = { name: '欧阳晓岚', mobile: '', phone: '0571-8888 6666', address: { province: '浙江省', city: '杭州市', district: '西湖区', town: null, detail: '文三路 478 号' } };
    const data = standardData({
      recipient: landlineOnly,
      routingInfo: { routeCode: '571-W12', sortation: null },
      packageInfo: { id: null, weight: '1200', volume: '', count: ' 2 ', items: [{ name: '服装', count: '2' }] },
      shippingOption: null,
      needEncrypt: null,
    });
    expect(mapDocument(data)).toMatchObject({ recipient: { phone: '+8657188886666', address: { district: '西湖区', street: '文三路 478 号' } }, parcel: { weightKg: 1.2, pieces: 2 }, routingCode: '571-W12' });
    // Blank is absent, not a value: with neither a mobile nor a phone the party has no number.
    expect(issuesOf(standardData({ recipient: { ...landlineOnly, phone: '  ' } }))).toEqual(['recipient.mobile: a mobile or phone is required']);
    // Only a plain decimal is read as a number; a required field stays required when blank.
    expect(issuesOf(standardData({ packageInfo: { weight: '1.2kg' } }))).toEqual(['packageInfo.weight: must be a number of grams']);
    expect(issuesOf(standardData({ waybillCode: '' }))).toEqual(['waybillCode: must not be empty']);
  });

  it("reports the order contract's problems at the data field they came from, never quoting a value", () => {
    const recipient = { name: '欧阳晓岚', mobile: '1396258', address: { province: '浙江省', city: '杭州市', district: '西湖区', detail: '文三路 478 号' } };
    const first = [...issuesOf(standardData({ waybillCode: 'ZTO-not-a-number' })), ...issuesOf(standardData({ recipient }))];
    expect(first.map((i) => i.split(':')[0]).sort()).toEqual(['recipient.mobile', 'waybillCode']);
    const elsewhere = { ...recipient, mobile: '13962584017', address: { ...recipient.address, district: '不存在区' } };
    const second = issuesOf(standardData({ recipient: elsewhere, packageInfo: { weight: -5 }, routingInfo: { routeCode: '杭州 西湖' } }));
    expect(second.map((i) => i.split(':')[0]).sort()).toEqual(['packageInfo.weight', 'recipient.address.district', 'routingInfo.routeCode']);
    for (const secret of ['ZTO-not-a-number', '1396258', '不存在区', '杭州 西湖']) expect([...first, ...second].join('\n')).not.toContain(secret);
  });

  it('finds encrypted platform data beside the template or inside data, and the content that carries the waybill', () => {
    expect(encryptedDataPath({ encryptedData: 'x', signature: 's', templateURL: 't' })).toEqual(['encryptedData']);
    expect(encryptedDataPath({ data: { encryptedData: 'x', ver: '1' }, templateURL: 't' })).toEqual(['data', 'encryptedData']);
    expect(encryptedDataPath({ data: standardData(), templateURL: 't' })).toBeUndefined();
    expect(waybillContentIndex([{ data: { note: 'custom area' } }, { data: standardData() }])).toBe(1);
  });

  it('gives back a body the order contract accepts as input, with the same meaning', () => {
    const order = mapDocument(standardData({ recipient: { name: '欧阳晓岚', phone: '0571-8888 6666 转 808', address: { province: '浙江省', city: '杭州市', district: '西湖区', detail: '文三路 478 号' } } }));
    expect(order.recipient).toMatchObject({ phoneExtension: '808' });
    const again = Order.parse(orderRequestBody(order));
    expect(again).toEqual(order);
  });
});
