// Tests for issuesFromZod: a zod failure becomes issues with a path and a message that never quotes the
// input. A property name can itself be personal data, so unknown properties are reported at their
// object's path only, also when the object sits inside the order's address (re-added by a transform).

import { z } from 'zod';
import { WaybillError } from '../../src/errors';
import { parseOrders } from '../../src/order/readOrders';
import { issuesFromZod } from '../../src/validation/zodIssues';

/** A property name made of a name and a phone number, as a careless integration might send it. */
const PERSONAL_KEY = '欧阳晓岚13962584017';
const SECRETS = /欧阳|晓岚|1396|2584|4017/;

const issuesOf = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected the value to be refused');
  return issuesFromZod(result.error);
};

const order = (patch: (o: any) => void = () => {}) => {
  const o: any = {
    orderId: 'SO-1',
    carrier: 'ZT',
    sender: {
      name: '李四',
      phone: '+86 138 0013 8000',
      address: { country: 'CN', province: '上海市', city: '上海市', district: '浦东新区', street: '祖冲之路 887 弄', postalCode: '201203' },
    },
    recipient: {
      name: "Mary-Jane O'Connor",
      phone: '020 7946 0018',
      address: { country: 'GB', city: 'London', postalCode: 'SW1A 1AA', line1: '10 Fake Row' },
    },
    parcel: { weightKg: 1.2 },
  };
  patch(o);
  return o;
};

function orderIssues(o: unknown): { path: string; message: string }[] {
  try {
    parseOrders(JSON.stringify(o), 'order.json');
  } catch (e) {
    expect(e).toBeInstanceOf(WaybillError);
    expect((e as WaybillError).message).not.toMatch(SECRETS);
    return (e as WaybillError).issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  }
  throw new Error('expected the order to be refused');
}

describe('issuesFromZod', () => {
  it('reports unknown properties once per object, at the object, without their names or count', () => {
    const schema = z.object({ a: z.string(), inner: z.object({ b: z.number() }).strict() }).strict();
    const issues = issuesOf(schema, { a: 'x', [PERSONAL_KEY]: 1, other: 2, inner: { b: 1, [PERSONAL_KEY]: 3 } });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: [], message: 'unknown property' },
        { path: ['inner'], message: 'unknown property' },
      ]),
    );
    expect(issues).toHaveLength(2);
  });

  it('reports an invalid record key at the record, without the key', () => {
    const issues = issuesOf(z.object({ ids: z.record(z.string().regex(/^[a-z]+$/), z.number()) }), { ids: { [PERSONAL_KEY]: 1 } });
    expect(issues).toEqual([{ path: ['ids'], message: 'invalid property name' }]);
  });

  it('turns symbol path segments into strings', () => {
    const key = Symbol('k');
    const issues = issuesOf(z.object({ [key]: z.string() }), { [key]: 1 });
    expect(issues).toEqual([{ path: ['Symbol(k)'], message: expect.any(String) }]);
  });

  it('keeps the other zod messages, none of which quotes the input', () => {
    const cases: [schema: z.ZodType, value: unknown][] = [
      [z.enum(['a', 'b']), PERSONAL_KEY],
      [z.literal('CN'), PERSONAL_KEY],
      [z.union([z.number(), z.boolean()]), PERSONAL_KEY],
      [z.discriminatedUnion('t', [z.object({ t: z.literal('a') }), z.object({ t: z.literal('b') })]), { t: PERSONAL_KEY }],
      [z.number(), PERSONAL_KEY],
      [z.string().regex(/^x$/), PERSONAL_KEY],
      [z.string().max(3), PERSONAL_KEY],
      [z.string().startsWith('x'), PERSONAL_KEY],
      [z.email(), PERSONAL_KEY],
      [z.iso.datetime(), PERSONAL_KEY],
      [z.array(z.string()).max(0), [PERSONAL_KEY]],
      [z.tuple([z.number()]), [PERSONAL_KEY]],
    ];
    for (const [schema, value] of cases) {
      const issues = issuesOf(schema, value);
      expect(issues.length).toBeGreaterThan(0);
      expect(JSON.stringify(issues)).not.toMatch(SECRETS);
    }
  });
});

describe('orders with unknown properties', () => {
  it.each([
    ['the order', (o: any) => (o[PERSONAL_KEY] = true), ''],
    ['a party', (o: any) => (o.recipient[PERSONAL_KEY] = true), 'recipient'],
    ['the parcel', (o: any) => (o.parcel[PERSONAL_KEY] = 1), 'parcel'],
    // The address is checked by a transform that re-adds its issues: the rule must survive that.
    ['a Chinese address', (o: any) => (o.sender.address[PERSONAL_KEY] = '1 号'), 'sender.address'],
    ['an international address', (o: any) => (o.recipient.address[PERSONAL_KEY] = 'x'), 'recipient.address'],
  ])('in %s: "unknown property" at its path, never the key', (_where, patch, path) => {
    const issues = orderIssues(order(patch));
    expect(issues).toEqual([{ path, message: 'unknown property' }]);
    expect(JSON.stringify(issues)).not.toMatch(SECRETS);
  });

  it('several unknown properties in one object make one issue', () => {
    const issues = orderIssues(order((o) => Object.assign(o.recipient, { [PERSONAL_KEY]: 1, 王小明: 2, '13800138000': 3 })));
    expect(issues).toEqual([{ path: 'recipient', message: 'unknown property' }]);
  });
});
