// A print binds relay numbers for both parties of every waybill (a few waybills ahead of their layout);
// when the print fails before it is recorded, every binding it made is released, also the first party's
// when the second got none, and those bound ahead for waybills it never reached.

import fs from 'node:fs';
import path from 'node:path';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills, type PrintDeps } from '../../src/printing/printWaybills';
import type { WaybillSink } from '../../src/printing/waybillSink';
import type { BindRequest, RelayProvider } from '../../src/relay/relayProvider';
import { memoryPrintStore, printDeps } from '../support/printDeps';

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
const orders = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson').slice(0, 2);

/** A provider that binds every party except those `refuse` names (pool exhausted for them). */
function provider(refuse: (req: BindRequest) => boolean) {
  let n = 0;
  const released: string[][] = [];
  const fake = {
    bind: async (reqs: BindRequest[]) => reqs.map((req) => (refuse(req) ? undefined : { bindingId: `b${++n}-${req.party}`, printed: `170 0000 000${n} 转 1234` })),
    release: async (ids: string[]) => void released.push(ids),
  } as unknown as RelayProvider;
  return { fake, released };
}

function deps(relay: RelayProvider): PrintDeps {
  const { store, audit } = memoryPrintStore();
  return printDeps({ store, audit, relay: { provider: relay, maxDays: 60 } });
}

const failingSink: WaybillSink = {
  add: async () => {},
  finish: async () => {
    throw new Error('printer went away');
  },
};

const request = (sink: WaybillSink) => ({ orders, template, format: 'json', sink, channel: 'cli' as const, host: 'test', operator: 'test' });

describe('relay bindings of a print', () => {
  it('releases every binding of a print that fails', async () => {
    const { fake, released } = provider(() => false);
    await expect(printWaybills(deps(fake), request(failingSink))).rejects.toThrow('printer went away');
    expect(released).toEqual([['b1-recipient', 'b2-sender', 'b3-recipient', 'b4-sender']]);
  });

  it("releases the first party's binding when the second got none and the print then fails", async () => {
    const { fake, released } = provider((req) => req.party === 'sender');
    await expect(printWaybills(deps(fake), request(failingSink))).rejects.toThrow('printer went away');
    expect(released).toEqual([['b1-recipient', 'b2-recipient']]);
  });

  it('releases the numbers bound ahead for waybills a failed print never reached', async () => {
    const { fake, released } = provider(() => false);
    const batch = Array.from({ length: 20 }, (_, i) => ({ ...orders[i % orders.length]!, orderId: `AHEAD-${i}` }));
    let added = 0;
    const sink: WaybillSink = {
      add: async () => {
        if (++added === 3) throw new Error('printer went away');
      },
      finish: async () => {},
    };
    await expect(printWaybills(deps(fake), { ...request(sink), orders: batch })).rejects.toThrow('printer went away');
    // The third waybill failed: the numbers of all sixteen bound with it go back, not only the three laid out.
    expect(released).toHaveLength(1);
    expect(new Set(released[0]).size).toBe(32);
  });

  it('gives each waybill of a long print its own numbers, in order', async () => {
    const { fake } = provider(() => false);
    const batch = Array.from({ length: 40 }, (_, i) => ({ ...orders[i % orders.length]!, orderId: `OWN-${i}` }));
    const printed: Record<string, string | undefined>[] = [];
    const sink: WaybillSink = { add: async (w) => void printed.push({ ...w.relay }), finish: async () => {} };
    await printWaybills(deps(fake), { ...request(sink), orders: batch });
    // The fake numbers its bindings in the order asked: waybill i's parties are bindings 2i+1 and 2i+2.
    expect(printed.map((p) => [p.recipient, p.sender])).toEqual(batch.map((_, i) => [`170 0000 000${2 * i + 1} 转 1234`, `170 0000 000${2 * i + 2} 转 1234`]));
  });

  // A party without a number does not cost the other party its own.
  it.each(['sender', 'recipient'])('keeps the bindings of a print that succeeds, and warns when the %s got none', async (refused) => {
    const { fake, released } = provider((req) => req.party === refused);
    const printed: Record<string, string | undefined>[] = [];
    const sink: WaybillSink = { add: async (w) => void printed.push({ ...w.relay }), finish: async () => {} };
    const summary = await printWaybills(deps(fake), request(sink));
    expect(released).toEqual([]);
    const other = refused === 'sender' ? 'recipient' : 'sender';
    expect(printed.map((p) => Object.keys(p))).toEqual([[other], [other]]);
    expect(summary.warnings.filter((w) => w.includes('no relay number'))).toHaveLength(2);
  });
});
