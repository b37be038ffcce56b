// The carriers we print for: display names, the public service number printed when no relay binding
// can be made (never the customer's real number), and the shape of each carrier's waybill numbers.
//
// Waybill forms are what the carriers issue today as far as public tracking pages and integrator
// material show; none of the Chinese express carriers publishes a check digit, so only EMS's UPU S10
// form is checked beyond its pattern (we do not guess at private algorithms). docs/orders.md "Waybill numbers"
// lists the sources and what is uncertain.

/** A check digit a carrier publishes; each rule has its algorithm in waybillNumber.ts. */
export type CheckDigitRule = 'upu-s10';

export interface WaybillForm {
  /** How the form reads in refusal messages and the README, e.g. "SF + 13 digits". */
  readonly shape: string;
  /** The whole number, anchored. */
  readonly pattern: RegExp;
  readonly checkDigit?: CheckDigitRule;
  /** A made-up number of this form (valid check digit included), for the README and the tests. */
  readonly example: string;
}

/** How we number a waybill whose order brings none: prefix + random digits (+ check digit) + suffix. */
export interface IssuedForm {
  readonly prefix: string;
  readonly randomDigits: number;
  readonly checkDigit?: CheckDigitRule;
  readonly suffix?: string;
}

export interface Carrier {
  readonly name: string;
  readonly latinName: string;
  readonly serviceNumber: string;
  readonly waybill: {
    /** Every form a client-supplied number may take; the first is the current one. */
    readonly forms: readonly [WaybillForm, ...WaybillForm[]];
    /** Must produce numbers of forms[0]: the waybill number tests hold every carrier to it. */
    readonly issued: IssuedForm;
  };
}

const TABLE = {
  ZT: {
    name: '中通快递',
    latinName: 'ZTO Express',
    serviceNumber: '95311',
    waybill: {
      forms: [
        { shape: '14 digits', pattern: /^\d{14}$/, example: '78123456789012' },
        { shape: '12 digits (older numbers)', pattern: /^\d{12}$/, example: '536012345678' },
      ],
      // Current ZTO numbers seen in the wild start with 7 (73…, 75…, 78…).
      issued: { prefix: '7', randomDigits: 13 },
    },
  },
  YT: {
    name: '圆通速递',
    latinName: 'YTO Express',
    serviceNumber: '95554',
    waybill: {
      forms: [{ shape: 'YT + 13 digits', pattern: /^YT\d{13}$/, example: 'YT1234567890123' }],
      issued: { prefix: 'YT', randomDigits: 13 },
    },
  },
  SF: {
    name: '顺丰速运',
    latinName: 'SF Express',
    serviceNumber: '95338',
    waybill: {
      forms: [{ shape: 'SF + 13 digits', pattern: /^SF\d{13}$/, example: 'SF1234567890123' }],
      issued: { prefix: 'SF', randomDigits: 13 },
    },
  },
  YD: {
    name: '韵达快递',
    latinName: 'Yunda Express',
    serviceNumber: '95546',
    waybill: {
      forms: [
        { shape: '15 digits', pattern: /^\d{15}$/, example: '462345678901234' },
        { shape: '13 digits (older numbers)', pattern: /^\d{13}$/, example: '4312345678901' },
      ],
      issued: { prefix: '4', randomDigits: 14 },
    },
  },
  ST: {
    name: '申通快递',
    latinName: 'STO Express',
    serviceNumber: '95543',
    waybill: {
      forms: [
        { shape: '15 digits', pattern: /^\d{15}$/, example: '773123456789012' },
        { shape: '12–14 digits (older numbers)', pattern: /^\d{12,14}$/, example: '268123456789' },
      ],
      issued: { prefix: '773', randomDigits: 12 },
    },
  },
  JD: {
    name: '京东物流',
    latinName: 'JD Logistics',
    serviceNumber: '950616',
    waybill: {
      forms: [
        { shape: 'JDV + letter + 11 digits', pattern: /^JDV[A-Z]\d{11}$/, example: 'JDVA12345678901' },
        { shape: 'JDX or JDK + 12 digits', pattern: /^JD[XK]\d{12}$/, example: 'JDX012345678901' },
        { shape: 'JD + 13 digits', pattern: /^JD\d{13}$/, example: 'JD0012345678901' },
      ],
      issued: { prefix: 'JDVA', randomDigits: 11 },
    },
  },
  EMS: {
    name: '中国邮政 EMS',
    latinName: 'China Post EMS',
    serviceNumber: '11183',
    waybill: {
      forms: [
        // UPU S10: service indicator (E = EMS) + 8-digit serial + check digit + origin country.
        { shape: 'E + letter + 8 digits + S10 check digit + CN', pattern: /^E[A-Z]\d{9}CN$/, checkDigit: 'upu-s10', example: 'EA123456785CN' },
        { shape: '13 digits (domestic)', pattern: /^\d{13}$/, example: '1012345678901' },
      ],
      issued: { prefix: 'EA', randomDigits: 8, checkDigit: 'upu-s10', suffix: 'CN' },
    },
  },
} as const satisfies Record<string, Carrier>;

export type CarrierCode = keyof typeof TABLE;
/** Typed as the interface, so every carrier's optional fields (a form's checkDigit) can be read alike. */
export const CARRIERS: Readonly<Record<CarrierCode, Carrier>> = TABLE;
export const CARRIER_CODES = Object.keys(CARRIERS) as [CarrierCode, ...CarrierCode[]];
