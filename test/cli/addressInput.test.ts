// `waybill print` with the address forms order systems send: a one-line address prints its canonical
// divisions and reports their code; a division field holding a street, or an ambiguous line, exits 65
// naming the file, order and field — never quoting the address — and writes and stores nothing.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';
import { expectAbsent } from '../support/expectAbsent';

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'samples', 'orders.json'), 'utf8'))[0] as Record<string, any>;

function workspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-address-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_TEMPLATES_DIR: path.join(ROOT, 'templates') };
  const lines: string[] = [];
  const run = (...argv: string[]) => main(argv, (l) => lines.push(l), env);
  const write = (name: string, orders: unknown[]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, orders.map((o) => JSON.stringify(o)).join('\n'));
    return file;
  };
  return { dir, lines, run, write, out: path.join(dir, 'out') };
}

const withRecipientAddress = (address: unknown, orderId = 'ADDR-1') => ({ ...SAMPLE, orderId, routingCode: undefined, recipient: { ...SAMPLE.recipient, address } });

describe('waybill print: address input', () => {
  it('splits a one-line address into canonical divisions, prints them, and reports the area code', async () => {
    const w = workspace();
    const file = w.write('line.ndjson', [withRecipientAddress('310012 浙江 杭州 西湖区 文三路90号5幢2单元1102室')]);
    expect(await w.run('print', file, '--format', 'json', '--out', path.join(w.out, 'view.json'))).toBe(EXIT.ok);
    const [view] = JSON.parse(fs.readFileSync(path.join(w.out, 'view.json'), 'utf8'));
    expect(view.recipient).toEqual({ area: '浙江省 杭州市 西湖区', areaCode: '330106' });
    const courier = view.copies.find((c: { copy: string }) => c.copy === 'courier');
    expect(courier.fields['recipient.area']).toBe('浙江省 杭州市 西湖区');
    // No sorting code in the order: the routing zone names the destination instead of staying blank.
    expect(courier.fields.routingCode).toBe('杭州 西湖区');
    expectAbsent(JSON.stringify(view), ['文三路', '1102'], 'the answer');
  });

  it('refuses a district field that holds the street and room, naming the field and quoting nothing', async () => {
    const w = workspace();
    const address = { ...SAMPLE.recipient.address, district: '西湖区文三路90号5幢2单元1102室' };
    const file = w.write('split.ndjson', [SAMPLE, withRecipientAddress(address)]);
    expect(await w.run('print', file, '--out', path.join(w.out, 'labels.pdf'))).toBe(EXIT.badInput);
    const said = w.lines.join('\n');
    expect(said).toMatch(/split\.ndjson: order 1: line 2: recipient\.address\.district: must hold only the division name/);
    expectAbsent(said, ['文三路', '1102', '西湖区'], 'the answer');
    expect(fs.existsSync(w.out)).toBe(false);
  });

  it('refuses an address line whose district exists in several cities', async () => {
    const w = workspace();
    const file = w.write('ambiguous.ndjson', [withRecipientAddress({ country: 'CN', text: '朝阳区建国路88号3号楼1201室' })]);
    expect(await w.run('print', file, '--out', path.join(w.out, 'labels.pdf'))).toBe(EXIT.badInput);
    expect(w.lines.join('\n')).toMatch(/ambiguous\.ndjson: order 0: recipient\.address\.text: names a district that exists in several places/);
    expectAbsent(w.lines.join('\n'), ['建国路', '1201'], 'the answer');
  });
});
