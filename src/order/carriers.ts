// The carriers we print for: waybill-number prefix, display name and the public service number
// printed when no relay binding can be made (never the customer's real number).

export const CARRIERS = {
  ZT: { name: '中通快递', latinName: 'ZTO Express', serviceNumber: '95311' },
  YT: { name: '圆通速递', latinName: 'YTO Express', serviceNumber: '95554' },
  SF: { name: '顺丰速运', latinName: 'SF Express', serviceNumber: '95338' },
  YD: { name: '韵达快递', latinName: 'Yunda Express', serviceNumber: '95546' },
  ST: { name: '申通快递', latinName: 'STO Express', serviceNumber: '95543' },
  JD: { name: '京东物流', latinName: 'JD Logistics', serviceNumber: '950616' },
  EMS: { name: '中国邮政 EMS', latinName: 'China Post EMS', serviceNumber: '11183' },
} as const;

export type CarrierCode = keyof typeof CARRIERS;
export const CARRIER_CODES = Object.keys(CARRIERS) as [CarrierCode, ...CarrierCode[]];
