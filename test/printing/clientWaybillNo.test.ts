// A client's waybill number is the carrier's, which the integrator cannot choose: one that shares 6 or 7
// digits in a row with a party's phone (1 order in about 7,000, by chance) is printed, and the print
// records an alert naming the waybill and the client, never the digits; from 8 the order is refused
// (test/order/screenPrintedText.test.ts). A number the service generates raises no alert.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChainedAuditLog } from '../../src/audit/auditLog';
import { loadTemplate } from '../../src/layout/loadTemplate';
import { Order } from '../../src/order/orderSchema';
import { parseOrders } from '../../src/order/readOrders';
import { printWaybills } from '../../src/printing/printWaybills';
import { JsonSink } from '../../src/printing/waybillSink';
import { SqlAuditRepository } from '../../src/store/auditRepository';
import { sqliteDatabase } from '../../src/store/database';
import { SqliteStore } from '../../src/store/sqliteStore';
import { memoryOutput } from '../../src/render/memoryOutput';
import { expectAbsent } from '../support/expectAbsent';
import { printDeps } from '../support/printDeps';

const ROOT = path.join(__dirname, '..', '..');
const template = loadTemplate(path.join(ROOT, 'templates'), 'cn-4copy');
// Sample order 0: carrier ZT (14-digit numbers), recipient on 139 6258 4017.
const [sample] = parseOrders(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8'), 'orders.ndjson');

let dir: string;
let store: SqliteStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-clientno-'));
  store = SqliteStore.open(path.join(dir, 'waybill.db'));
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function print(orders: Order[]) {
  const audit = new ChainedAuditLog(new SqlAuditRepository(sqliteDatabase(store.database)));
  const out = memoryOutput();
  const summary = await printWaybills(printDeps({ store, audit }), { orders, template, format: 'json', sink: new JsonSink(out.stream), channel: 'http', host: 'test', operator: 'test', clientId: 'acme' });
  const alerts = store.database.prepare('SELECT kind, detail FROM alerts ORDER BY id').all() as { kind: string; detail: string }[];
  return { summary, alerts };
}

const withNo = (orderId: string, waybillNo?: string): Order => ({ ...sample!, orderId, ...(waybillNo ? { waybillNo } : {}) });

describe("a client's waybill number near a party's phone", () => {
  it('prints a number sharing 6 digits with the phone and alerts, naming the waybill and client but no digit', async () => {
    const near = '78123496258400'; // 962584 of 13962584017
    const { summary, alerts } = await print([withNo('NEAR-1', near), withNo('FAR-1', '78123456789012'), withNo('OWN-1')]);
    expect(summary.waybills.map((w) => w.waybillNo).slice(0, 2)).toEqual([near, '78123456789012']);
    expect(alerts).toEqual([{ kind: 'waybill_no_phone_digits', detail: `waybill ${near} of client acme: its number shares 6 or more digits in a row with a party's phone` }]);
    // The waybill number is on the paper anyway; the phone and the name are not in the alert.
    expectAbsent(JSON.stringify(alerts), ['13962584017', '6258 4017', sample!.recipient.name], 'the alert');
  });

  it('names at most three such waybills of one print in alerts of their own, and counts the rest in one', async () => {
    const nears = Array.from({ length: 7 }, (_, i) => `7812${i}49625840${i}`.slice(0, 14)); // each holds 962584
    const { summary, alerts } = await print(nears.map((no, i) => withNo(`NEAR-${i}`, no)));
    expect(alerts).toEqual([
      ...nears.slice(0, 3).map((no) => ({ kind: 'waybill_no_phone_digits', detail: `waybill ${no} of client acme: its number shares 6 or more digits in a row with a party's phone` })),
      { kind: 'waybill_no_phone_digits', detail: `print job ${summary.jobId}: 4 more waybill(s) alike` },
    ]);
  });

  it('refuses one holding 8 digits of the phone before anything is printed', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'orders.ndjson'), 'utf8').split('\n')[0]!);
    const result = Order.safeParse({ ...raw, waybillNo: '78113962584017' });
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(["waybillNo: must not contain 8 or more digits in a row of the recipient's phone number"]);
  });
});
