// The print component as warehouse software meets it: a real WebSocket client speaks the platforms'
// protocol to startComponent, whose host (the agent's) creates waybills on a real service over HTTP and
// sends the label to a fake raw-TCP printer. The label that arrives carries the waybill code in its Code128 and
// no name, phone or street; ids come back byte for byte; encrypted platform data is refused; a repeat
// within ten minutes is suppressed unless it is a reprint.

import https from 'node:https';
import { randomInt } from 'node:crypto';
import { WebSocket } from 'ws';
import { startComponent, type RunningComponent } from '../../src/agent/component/component';
import { agentHost } from '../../src/agent/agentHost';
import { mapDocument } from '../../src/agent/component/mapDocument';
import type { AgentPrinter } from '../../src/agent/printersFile';
import { encodePng } from '../../src/render/pngEncoder';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../support/apiWorld';
import { decodeBarcodes } from '../support/barcodes';
import { expectAbsent } from '../support/expectAbsent';
import { closedPort, fakePrinter, type FakePrinter } from '../support/fakePrinter';
import { decodeZpl } from '../support/printerDecoders';
import { STORE_BACKENDS } from '../support/storeBackends';
import { standardData } from './standardData';

jest.setTimeout(120_000);

/** A WebSocket client that keeps every message it receives, in order. */
async function client(url: string, options: { ca?: string } = {}) {
  const socket = new WebSocket(url, options.ca ? { ca: options.ca } : {});
  const received: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (raw) => {
    received.push(JSON.parse(raw.toString()) as Record<string, unknown>);
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
  return {
    received,
    send: (message: unknown) => socket.send(JSON.stringify(message)),
    /** Resolves with the messages since `from` once one matches. */
    until: (match: (m: Record<string, unknown>) => boolean, from = 0) =>
      new Promise<Record<string, unknown>[]>((resolve) => {
        const check = () => (received.slice(from).some(match) ? resolve(received.slice(from)) : waiters.push(check));
        check();
      }),
    close: () => socket.close(),
  };
}

/**
 * A fresh ZTO number for the standard data. About one random number in 700,000 holds eight digits in a row
 * of one of its parties' phones, which the service refuses to print: those are drawn again.
 */
function zto(): string {
  for (let tries = 0; tries < 100; tries++) {
    const code = `78${String(randomInt(1e6)).padStart(6, '0')}${String(randomInt(1e6)).padStart(6, '0')}`;
    try {
      mapDocument(standardData({ waybillCode: code }));
      return code;
    } catch {
      // drawn again
    }
  }
  throw new Error('no printable waybill number in 100 draws');
}
const document = (documentID: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  documentID,
  contents: [{ data, templateURL: 'https://cloudprint.example.com/template/standard/101/1' }, { data: { remark: 'custom area, not printed' }, templateURL: 'https://cloudprint.example.com/template/custom/7' }],
  ...extra,
});
const printRequest = (requestID: string, taskID: string, documents: unknown[], task: Record<string, unknown> = {}) => ({ cmd: 'print', requestID, version: '1.0', task: { taskID, printer: 'dock-2', preview: false, firstDocumentNumber: 1, totalDocumentCount: documents.length, documents, ...task } });

describe('print component', () => {
  let w: ApiWorld;
  let printer: FakePrinter;
  let component: RunningComponent;
  let clock = Date.now();

  beforeAll(async () => {
    w = await startApiWorld(STORE_BACKENDS[0]![1], { WAYBILL_LOG_LEVEL: 'silent' });
    printer = await fakePrinter();
    const printers: AgentPrinter[] = [
      { name: 'dock-2', language: 'zpl', dpi: 203, barcodes: 'raster', text: 'raster', connection: { kind: 'tcp', host: '127.0.0.1', port: printer.port } },
      { name: 'dock-3', language: 'tspl', dpi: 203, barcodes: 'raster', text: 'raster', connection: { kind: 'tcp', host: '127.0.0.1', port: printer.port } },
    ];
    component = await startComponent(agentHost({ service: w.running.url, componentKey: w.acme, printers }), { port: 0, wss: { port: 0 }, now: () => clock });
  });
  afterAll(async () => {
    await component?.close();
    await printer?.off();
    await stopApiWorld(w);
  });

  it('answers getPrinters, printer settings and agent info in the protocol shape, echoing the requestID', async () => {
    const c = await client(component.url);
    c.send({ cmd: 'getPrinters', requestID: 'r-1', version: '1.0' });
    c.send({ cmd: 'setPrinterConfig', requestID: 'r-2', version: '1.0', printer: { name: 'dock-2', paperSize: { width: 100, height: 180 }, orientation: 0, horizontalOffset: 1 } });
    c.send({ cmd: 'getPrinterConfig', requestID: 'r-3', version: '1.0', printer: 'dock-2' });
    c.send({ cmd: 'getAgentInfo', requestID: 'r-4', version: '1.0' });
    c.send({ cmd: 'setPrinterConfig', requestID: 'r-5', version: '1.0', printer: { name: 'dock-2', inkColour: 'red' } });
    const all = await c.until((m) => m.requestID === 'r-5');
    expect(all[0]).toEqual({ cmd: 'getPrinters', requestID: 'r-1', status: 'success', msg: '', defaultPrinter: 'dock-2', printers: [{ name: 'dock-2', status: 'enable' }, { name: 'dock-3', status: 'enable' }] });
    const settings = { name: 'dock-2', language: 'zpl', dpi: 203, paperSize: { width: 100, height: 180 }, orientation: 0, horizontalOffset: 1 };
    expect(all[1]).toEqual({ cmd: 'setPrinterConfig', requestID: 'r-2', status: 'success', msg: '', printer: settings });
    expect(all[2]).toEqual({ cmd: 'getPrinterConfig', requestID: 'r-3', status: 'success', msg: '', printer: settings });
    expect(all[3]).toMatchObject({ cmd: 'getAgentInfo', requestID: 'r-4', status: 'success', version: expect.any(String) });
    expect(all[4]).toMatchObject({ cmd: 'setPrinterConfig', requestID: 'r-5', status: 'failed', msg: expect.stringContaining('unknown setting') });
    c.close();
  });

  it('outlives what a broken or hostile client sends: a frame over the limit, nested ids, a nested setting, inherited names', async () => {
    const raw = async () => {
      const socket = new WebSocket(component.url);
      await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
      const replies: Record<string, unknown>[] = [];
      socket.on('message', (m) => replies.push(JSON.parse(m.toString()) as Record<string, unknown>));
      socket.on('error', () => {});
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      return { socket, replies, closed };
    };
    // Over the message limit (16 MB): that client is cut off, nobody else.
    const big = await raw();
    big.socket.send('x'.repeat(17 * 1024 * 1024));
    await big.closed;

    const c = await raw();
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    c.socket.send(`{"cmd":"getAgentInfo","requestID":${deep(5000)}}`);
    c.socket.send(`{"cmd":${deep(5000)},"requestID":"r-2"}`);
    let nested = '1';
    for (let i = 0; i < 20000; i++) nested = `{"a":${nested}}`;
    c.socket.send(`{"cmd":"setPrinterConfig","requestID":"r-3","printer":{"name":"dock-3","paperSize":${nested}}}`);
    c.socket.send(JSON.stringify({ cmd: 'setPrinterConfig', requestID: 'r-4', printer: { name: 'dock-3', constructor: 1 } }));
    c.socket.send(JSON.stringify({ cmd: 'getPrinterConfig', requestID: 'r-5', printer: 'dock-3' }));
    c.socket.send(JSON.stringify({ cmd: 'getTaskStatus', requestID: 'r-6', taskID: [JSON.parse(deep(50))] }));
    while (c.replies.length < 6) await new Promise((r) => setTimeout(r, 20));
    // A nested id is not said back; the command still runs or fails by its own rules.
    expect(c.replies[0]).toMatchObject({ status: 'success', version: expect.any(String) });
    expect(c.replies[0]).not.toHaveProperty('requestID');
    expect(c.replies[1]).toMatchObject({ requestID: 'r-2', status: 'failed', msg: 'cmd: not a command this component knows' });
    expect(c.replies[2]).toMatchObject({ requestID: 'r-3', status: 'failed', msg: 'printer.paperSize: must be an object of at most 2048 bytes as JSON' });
    expect(c.replies[3]).toMatchObject({ requestID: 'r-4', status: 'failed', msg: expect.stringMatching(/^printer: unknown setting/) });
    expect(c.replies[4]).toEqual({ cmd: 'getPrinterConfig', requestID: 'r-5', status: 'success', msg: '', printer: { name: 'dock-3', language: 'tspl', dpi: 203 } });
    expect(c.replies[5]).toMatchObject({ requestID: 'r-6', status: 'success', printStatus: [{ taskID: null, status: 'unknown' }] });
    c.socket.close();
  });

  it('prints a task: the notify sequence in order, odd ids echoed byte for byte, a label whose Code128 is the waybill code and no personal text', async () => {
    const c = await client(component.url);
    const [taskID, documentID, requestID] = ['任务-001 ', ' 文档\t#1/ä', 'req 1 '];
    const data = standardData({ waybillCode: zto() });
    const jobsBefore = printer.jobs.length;
    c.send(printRequest(requestID, taskID, [document(documentID, data)]));
    const messages = await c.until((m) => m.cmd === 'notifyTaskResult' && m.status === 'completed');

    expect(messages.map((m) => `${String(m.cmd)}:${String(m.status ?? m.taskStatus)}`)).toEqual([
      'notifyTaskResult:initial',
      'print:success',
      'notifyDocResult:rendered',
      'notifyDocResult:printed',
      'notifyPrintResult:printed',
      'notifyTaskResult:completed',
    ]);
    for (const m of messages) expect(m.requestID).toBe(requestID);
    expect(messages.map((m) => m.taskID ?? m.taskId)).toEqual(Array(6).fill(taskID));
    expect(messages.filter((m) => m.cmd === 'notifyDocResult').map((m) => [m.documentId, m.code])).toEqual([[documentID, 0], [documentID, 0]]);
    expect(messages[4]).toMatchObject({ printer: 'dock-2', printStatus: [{ documentID, status: 'success', msg: '', waybillNo: data.waybillCode }] });

    const [job] = (await printer.received(jobsBefore + 1)).slice(jobsBefore);
    const labels = decodeZpl(job!);
    expect(labels.length).toBeGreaterThan(0);
    const symbols = await decodeBarcodes(encodePng([labels[0]!], 203));
    expect(symbols.find((s) => s.format === 'CODE_128')?.text).toBe(data.waybillCode);
    const people = [data.sender, data.recipient] as { name: string; mobile?: string; phone?: string; address: { detail: string } }[];
    const secrets = people.flatMap((p) => [p.name, (p.mobile ?? p.phone)!.replace(/\D/g, '').slice(-8), p.address.detail, p.address.detail.slice(0, 5)]);
    expectAbsent(job!.toString('latin1'), secrets, 'printer job (latin1)');
    expectAbsent(job!.toString('utf8'), secrets, 'printer job (utf8)');

    c.send({ cmd: 'getTaskStatus', requestID: 's-1', version: '1.0', taskID: [taskID, 'no-such-task'] });
    c.send({ cmd: 'getDocumentStatus', requestID: 's-2', version: '1.0', documentIDs: [documentID] });
    const from = c.received.length;
    const status = await c.until((m) => m.requestID === 's-2', from);
    expect(status[0]).toMatchObject({ cmd: 'getTaskStatus', status: 'success', printStatus: [{ taskID, printer: 'dock-2', detailStatus: [{ documentID, status: 'printed' }] }, { taskID: 'no-such-task', status: 'unknown' }] });
    expect(status[1]).toMatchObject({ cmd: 'getDocumentStatus', status: 'success', printStatus: [{ documentID, taskID, status: 'printed' }] });
    c.close();
  });

  it('suppresses the same document within ten minutes, prints it when marked as a reprint, and again once the window has passed', async () => {
    const c = await client(component.url);
    const data = standardData({ waybillCode: zto() });
    const printed = () => printer.jobs.length;
    const run = async (requestID: string, doc: unknown) => {
      const from = c.received.length;
      c.send(printRequest(requestID, `t-${requestID}`, [doc]));
      return (await c.until((m) => m.cmd === 'notifyPrintResult' && m.requestID === requestID, from)).find((m) => m.cmd === 'notifyPrintResult')!;
    };
    const initial = printed();
    await run('dup-1', document('doc-A', data));
    await printer.received(initial + 1);
    const before = printed();
    const again = await run('dup-2', document('doc-A', data));
    expect(again).toMatchObject({ taskStatus: 'failed', printStatus: [{ documentID: 'doc-A', status: 'failed', detail: 'suppressed', msg: expect.stringContaining('reprint') }] });
    // Another document id with the same waybill is the same label: suppressed too.
    expect(await run('dup-3', document('doc-B', data))).toMatchObject({ taskStatus: 'failed' });
    expect(printed()).toBe(before);

    expect(await run('dup-4', document('doc-A', data, { reprint: true }))).toMatchObject({ taskStatus: 'printed', printStatus: [{ status: 'success', waybillNo: data.waybillCode }] });
    await printer.received(before + 1);
    clock += 10 * 60_000 + 1;
    expect(await run('dup-5', document('doc-A', data))).toMatchObject({ taskStatus: 'printed' });
    await printer.received(before + 2);
    c.close();
  });

  it('admits web pages only from listed origins: a page the warehouse browser opens cannot print', async () => {
    const opens = (url: string, origin: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(url, { origin });
        socket.once('open', () => (socket.close(), resolve())).once('error', reject);
      });
    await expect(opens(component.url, 'https://evil.example.com')).rejects.toThrow(/401/);
    const erp = await startComponent(agentHost({ service: w.running.url, componentKey: w.acme, printers: [] }), { port: 0, origins: ['https://erp.example.com/'] });
    try {
      await expect(opens(erp.url, 'https://erp.example.com')).resolves.toBeUndefined();
      await expect(opens(erp.url, 'https://erp.example.com.evil.example')).rejects.toThrow(/401/);
    } finally {
      await erp.close();
    }
  });

  it("refuses another platform's encrypted data and data that is not a waybill, with the protocol's failure and field paths, printing nothing", async () => {
    const c = await client(component.url);
    const before = printer.jobs.length;
    const encrypted = { documentID: 'enc-1', contents: [{ encryptedData: 'AAAA', signature: 'sig', templateURL: 'https://t.example.com/1', ver: 'waybill_print_secret_version_1' }] };
    c.send(printRequest('e-1', 'task-enc', [document('ok-1', standardData({ waybillCode: zto() })), encrypted]));
    const bad = standardData({ waybillCode: zto(), cpCode: 'HTKY' });
    c.send(printRequest('e-2', 'task-bad', [document('bad-1', bad)]));
    c.send(printRequest('e-3', 'task-printer', [document('p-1', standardData({ waybillCode: zto() }))], { printer: 'nowhere' }));
    const all = await c.until((m) => m.requestID === 'e-3');
    expect(all.map((m) => [m.cmd, m.requestID, m.taskID, m.status])).toEqual([
      ['print', 'e-1', 'task-enc', 'failed'],
      ['print', 'e-2', 'task-bad', 'failed'],
      ['print', 'e-3', 'task-printer', 'failed'],
    ]);
    expect(all[0]!.msg).toBe("task.documents[1].contents[0].encryptedData: another platform's encrypted data: this component prints plain waybill data only and never decrypts");
    expect(all[1]!.msg).toMatch(/^task\.documents\[0\]\.contents\[0\]\.data\.cpCode: not a carrier we print for/);
    expect(all[2]!.msg).toBe('task.printer: no such printer');
    expect(JSON.stringify(all)).not.toContain('HTKY');
    expect(printer.jobs.length).toBe(before);
    c.close();
  });

  it("says why the service could not make a label or preview (its refusal, or that it is unreachable) and never quotes the data", async () => {
    const gone = await closedPort();
    const printerKey = (await w.services.apiKeys.add({ name: 'dock key', role: 'printer', client: 'acme' }, new Date())).credential;
    const hosts = { unreachable: agentHost({ service: `http://127.0.0.1:${gone}`, componentKey: w.acme, printers: [] }), refused: agentHost({ service: w.running.url, componentKey: printerKey, printers: [] }) };
    const order = mapDocument(standardData({ waybillCode: zto() }));
    await expect(hosts.unreachable.preview(order, { format: 'pdf' })).rejects.toMatchObject({ code: 'unavailable', message: 'the service could not be reached' });
    await expect(hosts.refused.create(order, { format: 'zpl' })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/^the service refused \(403: /) });

    const offline = await startComponent({ ...hosts.unreachable, printers: () => [{ name: 'dock-9', language: 'zpl', dpi: 203, barcodes: 'raster', text: 'raster', connection: { kind: 'tcp', host: '127.0.0.1', port: printer.port } }] }, { port: 0 });
    try {
      const c = await client(offline.url);
      const data = standardData({ waybillCode: zto() });
      c.send(printRequest('u-1', 'offline preview', [document('u-doc', data)], { printer: 'dock-9', preview: true }));
      c.send(printRequest('u-2', 'offline print', [document('u-doc', data)], { printer: 'dock-9' }));
      const all = await c.until((m) => m.cmd === 'notifyPrintResult' && m.requestID === 'u-2');
      expect(all.find((m) => m.requestID === 'u-1')).toMatchObject({ status: 'failed', msg: 'the service could not be reached' });
      expect(all.find((m) => m.cmd === 'notifyPrintResult')).toMatchObject({ taskStatus: 'failed', printStatus: [{ documentID: 'u-doc', status: 'failed', msg: 'the service could not be reached' }] });
      const recipient = data.recipient as { name: string; mobile: string };
      for (const value of [recipient.name, recipient.mobile, String(data.waybillCode)]) expect(JSON.stringify(all)).not.toContain(value);
      c.close();
    } finally {
      await offline.close();
    }
  });

  it('previews over wss: the answer holds a local URL of the masked PDF, served for a while from memory, and nothing prints', async () => {
    const c = await client(component.wssUrl!, { ca: component.certificate! });
    const before = printer.jobs.length;
    const data = standardData({ waybillCode: zto() });
    c.send(printRequest('pv-1', 'preview task', [document('pv-doc', data)], { preview: true, previewType: 'pdf' }));
    const [answer] = await c.until((m) => m.requestID === 'pv-1');
    expect(answer).toMatchObject({ cmd: 'print', requestID: 'pv-1', taskID: 'preview task', status: 'success', msg: '', previewURL: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/previews\/[A-Za-z0-9_-]{22}\.pdf$/) });
    const pdf = await new Promise<Buffer>((resolve, reject) =>
      https.get(String(answer!.previewURL), { ca: component.certificate! }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (b: Buffer) => chunks.push(b)).on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`))));
      }).on('error', reject),
    );
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(printer.jobs.length).toBe(before);
    // A preview creates nothing: the waybill code is still free to print.
    expect((await w.services.store.findWaybillByClientOrder('acme', String(data.waybillCode))) ?? undefined).toBeUndefined();
    // Gone once its time is up.
    clock += 5 * 60_000 + 1;
    const status = await new Promise<number>((resolve, reject) => https.get(String(answer!.previewURL), { ca: component.certificate! }, (res) => (res.resume(), resolve(res.statusCode!))).on('error', reject));
    expect(status).toBe(404);
    c.close();
  });
});
