// Test data shared by the print component's tests: what an ERP sends a print component for one parcel.

/** Standard waybill data as an ERP sends it to a print component (a ZTO parcel, Shanghai → Hangzhou). */
export function standardData(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cpCode: 'ZTO',
    waybillCode: '78123456789012',
    sender: { name: '司马承志', phone: '021-6888 3210', address: { province: '上海市', city: '上海市', district: '浦东新区', town: '张江镇', detail: '张江路 1288 号创新大厦 7 层 702 室' } },
    recipient: { name: '欧阳晓岚', mobile: '13962584017', address: { province: '浙江省', city: '杭州市', district: '西湖区', detail: '文三路 478 号华星时代广场 B 座 1602 室' } },
    routingInfo: { routeCode: '571-W12', sortation: { name: '杭州转西湖' }, consolidation: { name: '杭州中转', code: '571' } },
    packageInfo: { id: '1', weight: 1200, items: [{ name: '服装', count: 2 }, { name: '鞋', count: 1 }] },
    shippingOption: { code: 'STANDARD_EXPRESS', title: '标准快递' },
    needEncrypt: false,
    ...over,
  };
}
