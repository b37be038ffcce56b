// The command as scripts use it, in a real child process: data on stdout (a captured credential works in
// the next command, lists parse), talk on stderr, sysexits exit codes, --help everywhere, and a likely
// fix named for a typo.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli';
import { PREAMBLE } from '../support/raceProcesses';

const ROOT = path.join(__dirname, '..', '..');

describe('waybill on stdout, stderr and exit codes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-streams-'));
  const runner = path.join(dir, 'waybill.js');
  const env = { ...process.env, WAYBILL_DATA_DIR: path.join(dir, 'data'), NODE_PATH: path.join(ROOT, 'node_modules') };
  const waybill = (...args: string[]) => spawnSync(process.execPath, [runner, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });

  beforeAll(() => fs.writeFileSync(runner, `${PREAMBLE}\nsrc('cli.ts').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });`));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints a new credential alone on stdout, and the talk on stderr', () => {
    const created = waybill('keys', 'create', '--role', 'warehouse', '--name', 'acme wms', '--client', 'acme');
    expect(created.status).toBe(EXIT.ok);
    expect(created.stdout).toMatch(/^wbk_\S+\n$/);
    expect(created.stderr).toMatch(/shown only once/);
    expect(created.stderr).not.toContain(created.stdout.trim());

    const listed = waybill('keys', 'list', '--json');
    expect(listed.status).toBe(EXIT.ok);
    const keys = JSON.parse(listed.stdout) as { id: string; role: string; client: string }[];
    expect(keys).toEqual([expect.objectContaining({ role: 'warehouse', client: 'acme' })]);
    expect(created.stdout).toContain(`wbk_${keys[0]!.id}_`);
    const table = waybill('keys', 'list').stdout.split('\n');
    expect(table[0]).toBe('id\trole\tclient\tname\tstatus\tcreated');
  });

  it('lists templates as data, with a header row or as JSON', () => {
    const text = waybill('templates');
    expect(text.status).toBe(EXIT.ok);
    expect(text.stdout.split('\n')[0]).toBe('id\tname');
    expect(text.stdout).toMatch(/^cn-4copy\t/m);
    expect(JSON.parse(waybill('templates', '--json').stdout)).toContainEqual(expect.objectContaining({ id: 'cn-4copy' }));
  });

  it('prints the output path on stdout and the summary on stderr', () => {
    const out = path.join(dir, 'labels.pdf');
    const printed = waybill('print', 'samples/order.json', '--client', 'streams', '--out', out);
    expect(printed.status).toBe(EXIT.ok);
    expect(printed.stdout).toBe(`${out}\n`);
    expect(printed.stderr).toMatch(/printed 1 waybill\(s\)/);
  });

  it.each([
    ['a missing order file', ['print', 'no-such-orders.json', '--out', 'x.pdf'], EXIT.noInput, /no-such-orders\.json: no such file/],
    ['a usage mistake, with the likely option', ['print', 'samples/order.json', '--templat', 'cn-4copy', '--out', 'x.pdf'], EXIT.usage, /unknown option --templat \(did you mean --template\?\)/],
    ['an unknown command, with the likely one', ['pirnt'], EXIT.usage, /unknown command "pirnt" \(did you mean print\?\)/],
    ['an option given twice, of which only one can hold', ['print', 'samples/order.json', '--out', 'a.pdf', '--out', 'b.pdf'], EXIT.usage, /--out is given more than once/],
    ['flags that do not go together, named by their flag', ['print', 'samples/order.json', '--format', 'zpl', '--text', 'printer-font', '--out', 'x.zpl'], EXIT.usage, /--text: printer-font needs TSPL or CPCL/],
    ['bad order data', ['print', 'samples/bad/invalid-phone.json', '--out', 'x.pdf'], EXIT.badInput, /order 0: recipient\.phone: not a valid phone number/],
  ])('exits with sysexits codes: %s', (_what, args, code, message) => {
    const run = waybill(...args);
    expect(run.status).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n').filter((l) => l.startsWith('waybill:'))).toHaveLength(1); // one line per problem
  });

  it('exits 78 on a bad setting, naming it', () => {
    const run = spawnSync(process.execPath, [runner, 'templates'], { cwd: ROOT, env: { ...env, WAYBILL_SCAN_PER_MINUTE: 'lots' }, encoding: 'utf8' });
    expect(run.status).toBe(EXIT.config);
    expect(run.stderr).toMatch(/WAYBILL_SCAN_PER_MINUTE/);
  });

  it.each(['init', 'print', 'preview', 'templates', 'serve', 'couriers', 'event', 'assign', 'purge', 'audit', 'keys', 'relay', 'printers', 'store'])(
    'explains `%s --help` on stdout and exits 0',
    (command) => {
      const run = waybill(command, '--help');
      expect(run.status).toBe(EXIT.ok);
      expect(run.stdout).toMatch(new RegExp(`^usage:\\n  waybill ${command}\\b`));
    },
  );
});
