// `--out` as a careful command treats it (src/cli/outputFile.ts), through the real command and real
// files: a target that is the data directory's keys or database, the input order file, a directory, a
// device or FIFO, or under a file is refused with exit 64 before anything is stored, and left exactly as
// it was (the same orders then print); a symlink is written through; in a real child process, SIGINT or
// SIGTERM mid-print removes the unfinished `.partial` and the same orders print afterwards; and a reader
// that closes the pipe (`waybill templates | head -0`) ends the command quietly, without a stack trace.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';
import { loadConfig } from '../../src/config/config';
import { checkOutputFile, outputGuard, writeOutputFile } from '../../src/cli/outputFile';
import { OutputFailed, reportError } from '../../src/cli/io';
import { sqliteFile } from '../../src/wiring';
import { PREAMBLE } from '../support/raceProcesses';
import { ZT_DOMESTIC } from '../support/samples';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..', '..');
const ORDERS = path.join(ROOT, 'samples', 'orders.json');
const SAMPLE_ORDERS: { recipient: { name: string; phone: string } }[] = JSON.parse(fs.readFileSync(ORDERS, 'utf8'));

function workspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-out-'));
  const dataDir = path.join(dir, 'data');
  const env = { WAYBILL_DATA_DIR: dataDir, WAYBILL_TEMPLATES_DIR: path.join(ROOT, 'templates') };
  const lines: string[] = [];
  const run = (...argv: string[]) => main(argv, (l) => lines.push(l), env);
  // The order file in the workspace, so a test may point --out at it.
  const orders = path.join(dir, 'orders.json');
  fs.copyFileSync(ORDERS, orders);
  return { dir, dataDir, env, lines, run, orders };
}

/** What a path is now, to compare before and after: a file's bytes, a folder's names, a node's kind and device. */
function fingerprint(p: string): string {
  const s = fs.lstatSync(p);
  if (s.isSymbolicLink()) return `link → ${fs.readlinkSync(p)} → ${fingerprint(fs.realpathSync(p))}`;
  if (s.isFile()) return `file ${s.ino} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
  if (s.isDirectory()) return `dir ${fs.readdirSync(p).sort().join(',')}`;
  return `node ${s.mode} ${s.rdev}`;
}

/** Every file under `dir`, hidden ones included (a leftover .partial shows here). */
function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => String(f));
}

const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;

describe('--out: refused targets are left as they were, and nothing is stored', () => {
  // One workspace: a first print makes the data directory (keys, database); every refusal after it must
  // leave its target identical and store nothing, so the orders of the refused runs print at the end.
  const w = workspace();
  const out = path.join(w.dir, 'out');
  let rows: [string, () => string, RegExp][] = [];

  beforeAll(async () => {
    expect(await w.run('print', w.orders, '--client', 'first', '--out', path.join(out, 'first.pdf'))).toBe(EXIT.ok);
    const cfg = loadConfig(w.env);
    fs.mkdirSync(path.join(out, 'folder'), { recursive: true });
    fs.writeFileSync(path.join(out, 'folder', 'kept.pdf'), 'kept');
    fs.writeFileSync(path.join(out, 'plain.pdf'), 'a file, not a folder');
    fs.symlinkSync(path.join(w.dataDir, 'keys.json'), path.join(out, 'keys-link.pdf'));
    fs.linkSync(path.join(w.dataDir, 'keys.json'), path.join(out, 'keys-hardlink.pdf'));
    fs.symlinkSync(w.orders, path.join(out, 'orders-link.json'));
    // The database's -wal and -shm exist while a store is open; they are refused all the same.
    fs.writeFileSync(`${sqliteFile(cfg)}-wal`, 'wal');
    fs.writeFileSync(`${sqliteFile(cfg)}-shm`, 'shm');
    if (hasMkfifo) spawnSync('mkfifo', [path.join(out, 'fifo')]);
    // A device node. Never /dev/null as root: should the check ever fail, the print would replace it.
    // Root makes its own (a null device in the workspace); anyone else cannot write /dev anyway.
    const device = process.getuid?.() === 0 && spawnSync('mknod', [path.join(out, 'null'), 'c', '1', '3']).status === 0 ? path.join(out, 'null') : process.getuid?.() === 0 ? undefined : '/dev/null';
    rows = [
      ['the master key file', () => path.join(w.dataDir, 'keys.json'), /is a file of the service/],
      ['the database', () => sqliteFile(cfg), /is a file of the service/],
      ['the database -wal', () => `${sqliteFile(cfg)}-wal`, /is a file of the service/],
      ['the database -shm', () => `${sqliteFile(cfg)}-shm`, /is a file of the service/],
      ['the settings file', () => path.join(w.dataDir, 'waybill.config.json'), /is a file of the service/],
      ['the data directory itself', () => w.dataDir, /is a directory, not a file/],
      ['a symlink to the master key file', () => path.join(out, 'keys-link.pdf'), /is a file of the service/],
      ['a hard link to the master key file', () => path.join(out, 'keys-hardlink.pdf'), /is a file of the service/],
      ['the input order file', () => w.orders, /is the input order file/],
      ['a symlink to the input order file', () => path.join(out, 'orders-link.json'), /is the input order file/],
      ['an existing directory', () => path.join(out, 'folder'), /is a directory, not a file/],
      ['a path under a file', () => path.join(out, 'plain.pdf', 'x.pdf'), /a folder on its path is a file/],
      ...(device ? [['a device', () => device, /is a device, not a file/] as [string, () => string, RegExp]] : []),
      ...(hasMkfifo ? [['a FIFO', () => path.join(out, 'fifo'), /is a named pipe/] as [string, () => string, RegExp]] : []),
      ...(fs.existsSync('/proc/self') ? [['a folder that takes no files (/proc)', () => '/proc/waybill-out-test.pdf', /cannot write a file in \/proc/] as [string, () => string, RegExp]] : []),
    ];
  });
  afterAll(() => fs.rmSync(w.dir, { recursive: true, force: true }));

  /** Every row is tried, whatever the others did: a failure names the rows (what, not the data) and what went wrong. */
  const checkRefusals = async (command: 'print' | 'preview') => {
    const seen = [];
    for (const [what, target, why] of rows) {
      const p = target();
      const before = fs.existsSync(p) ? fingerprint(p) : undefined;
      const dataBefore = fingerprint(w.dataDir);
      w.lines.length = 0;
      const code = await w.run(command, w.orders, ...(command === 'print' ? ['--client', 'again'] : []), '--out', p);
      const said = w.lines.join('\n');
      seen.push({
        what,
        code,
        namesOut: said.startsWith('waybill: --out '),
        why: why.test(said),
        targetUnchanged: (fs.existsSync(p) ? fingerprint(p) : undefined) === before,
        dataDirUnchanged: fingerprint(w.dataDir) === dataBefore,
        // Messages never quote the orders (checked without printing them).
        quotesOrders: SAMPLE_ORDERS.some((o) => said.includes(o.recipient.name) || said.includes(o.recipient.phone)),
      });
    }
    expect(seen).toEqual(rows.map(([what]) => ({ what, code: EXIT.usage, namesOut: true, why: true, targetUnchanged: true, dataDirUnchanged: true, quotesOrders: false })));
    expect(allFiles(w.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  };

  it('print: exit 64 naming --out and why; the target and the data directory are unchanged', () => checkRefusals('print'));

  it('preview: the same refusals', () => checkRefusals('preview'));

  it('stored nothing for the refused prints: the same orders print afterwards', async () => {
    const db = sqliteFile(loadConfig(w.env));
    for (const f of [`${db}-wal`, `${db}-shm`]) fs.rmSync(f); // this test's stand-ins, not SQLite's
    w.lines.length = 0;
    expect(await w.run('print', w.orders, '--client', 'again', '--out', path.join(out, 'again.pdf'))).toBe(EXIT.ok);
    expect(w.lines.join('\n')).toMatch(/printed 3 waybill\(s\)/);
    expect(fs.readFileSync(path.join(out, 'again.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
  });

  it('keys audit-public --out refuses the key file, and may still write a public key into the data directory', async () => {
    const keys = path.join(w.dataDir, 'keys.json');
    const before = fingerprint(keys);
    expect(await w.run('keys', 'audit-public', '--out', keys)).toBe(EXIT.usage);
    expect(fingerprint(keys)).toBe(before);
    const pem = path.join(w.dataDir, 'audit-public.pem');
    expect(await w.run('keys', 'audit-public', '--out', pem)).toBe(EXIT.ok);
    expect(fs.readFileSync(pem, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('audit checkpoint --out appends to the checkpoint file or another file, never to the keys, database or settings', async () => {
    for (const name of ['keys.json', 'waybill.db', 'waybill.db-wal', 'waybill.config.json']) {
      const file = path.join(w.dataDir, name);
      const before = fs.existsSync(file) ? fingerprint(file) : undefined;
      expect([name, await w.run('audit', 'checkpoint', '--out', file)]).toEqual([name, EXIT.usage]);
      expect(fs.existsSync(file) ? fingerprint(file) : undefined).toBe(before);
    }
    // Also through a link, and never onto a folder.
    const link = path.join(w.dir, 'innocent.jsonl');
    fs.symlinkSync(path.join(w.dataDir, 'keys.json'), link);
    expect(await w.run('audit', 'checkpoint', '--out', link)).toBe(EXIT.usage);
    expect(await w.run('audit', 'checkpoint', '--out', w.dir)).toBe(EXIT.usage);
    expect(w.lines.join('\n')).toMatch(/--out \S+keys\.json: is a file of the service/);
    // The default checkpoint file, named, and a file of one's own take the line.
    const own = path.join(w.dataDir, 'checkpoints', 'audit-checkpoints.jsonl');
    const copy = path.join(w.dir, 'offsite.jsonl');
    for (const file of [own, own, copy]) expect(await w.run('audit', 'checkpoint', '--out', file)).toBe(EXIT.ok);
    expect(fs.readFileSync(own, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(fs.readFileSync(copy, 'utf8').trim().split('\n')).toHaveLength(1);
    // A file of something else (an order file, a PDF) is never appended to.
    const orders = path.join(w.dir, 'orders.ndjson');
    fs.writeFileSync(orders, '{"orderId":"SO-1"}\n');
    expect(await w.run('audit', 'checkpoint', '--out', orders)).toBe(EXIT.usage);
    expect(fs.readFileSync(orders, 'utf8')).toBe('{"orderId":"SO-1"}\n');
    expect(w.lines.join('\n')).toMatch(/--out \S+orders\.ndjson: is no checkpoint file/);
  });
});

describe('--out through a symlink', () => {
  it('writes the file the link points at and keeps the link (print and preview); a dangling link gets its file', async () => {
    const w = workspace();
    const real = path.join(w.dir, 'real');
    fs.mkdirSync(real);
    fs.writeFileSync(path.join(real, 'labels.pdf'), 'old labels');
    const link = path.join(w.dir, 'labels.pdf');
    fs.symlinkSync(path.join(real, 'labels.pdf'), link);
    expect(await w.run('print', w.orders, '--out', link)).toBe(EXIT.ok);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(real, 'labels.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(w.lines).toContain(link); // stdout names the path as given

    const previewLink = path.join(w.dir, 'preview.json');
    fs.symlinkSync(path.join(real, 'sub', 'preview.json'), previewLink); // dangling: its folder is created
    expect(await w.run('preview', w.orders, '--format', 'json', '--out', previewLink)).toBe(EXIT.ok);
    expect(fs.lstatSync(previewLink).isSymbolicLink()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(real, 'sub', 'preview.json'), 'utf8'))).toHaveLength(3);
    expect(allFiles(w.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('names the same database file as the store does', () => {
    const cfg = loadConfig({ WAYBILL_DATA_DIR: '/srv/waybill-data' });
    expect(outputGuard(cfg).serviceFiles).toEqual(expect.arrayContaining([sqliteFile(cfg), `${sqliteFile(cfg)}-wal`, `${sqliteFile(cfg)}-shm`]));
  });
});

/** The command in a real child process, as the installed `waybill` runs it. */
function child(env: NodeJS.ProcessEnv, args: string[], stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe']) {
  const script = `${PREAMBLE}
    src('cli.ts').main(${JSON.stringify(args)}).then((code) => { process.exitCode = code; });`;
  const c = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio });
  let stderr = '';
  c.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
  return { process: c, done: async () => ({ ...(await exited), stderr }) };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe('an output the disk does not take', () => {
  it('names the file and why, exits 74, and leaves no unfinished file', async () => {
    const w = workspace();
    const target = checkOutputFile(path.join(w.dir, 'labels.pdf'), outputGuard(loadConfig(w.env)));
    // What a full disk does to the stream: its write fails with ENOSPC.
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const failed = writeOutputFile(target, { out: () => {}, err: () => {} }, (stream) => new Promise((_, reject) => stream.once('error', reject).destroy(full)));
    await expect(failed).rejects.toThrow(OutputFailed);
    await expect(failed).rejects.toThrow(`--out ${target.given}: the output could not be written (no space left on the device)`);
    const lines: string[] = [];
    expect(reportError(await failed.catch((e: unknown) => e), { out: () => {}, err: (l) => lines.push(l) }, 'usage')).toBe(EXIT.ioError);
    expect(lines).toEqual([`waybill: --out ${target.given}: the output could not be written (no space left on the device)`]);
    expect(fs.readdirSync(w.dir).filter((f) => f.includes('labels'))).toEqual([]);
  });
});

describe('orders from standard input (a real child process)', () => {
  it('reads `-` as standard input, as a pipe from an export gives them', async () => {
    const w = workspace();
    const out = path.join(w.dir, 'piped.pdf');
    const print = child(w.env, ['print', '-', '--out', out], ['pipe', 'pipe', 'pipe']);
    print.process.stdin!.end(fs.readFileSync(ORDERS));
    expect(await print.done()).toMatchObject({ code: EXIT.ok });
    expect(fs.readFileSync(out).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // Bad input is named as standard input's, with its line.
    const bad = child(w.env, ['print', '-', '--out', path.join(w.dir, 'bad.pdf')], ['pipe', 'pipe', 'pipe']);
    bad.process.stdin!.end('{"orderId": "SO-1",, }');
    expect(await bad.done()).toMatchObject({ code: EXIT.badInput, stderr: expect.stringContaining('stdin: not valid JSON at line 1') });
  });
});

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s during a print (a real child process)', (signal, status) => {
  it(`removes the unfinished .partial, says so, ends with ${status}, and the same orders print afterwards`, async () => {
    const w = workspace();
    const outDir = path.join(w.dir, 'out');
    const big = path.join(w.dir, 'big.ndjson');
    fs.writeFileSync(big, Array.from({ length: 1500 }, (_, i) => JSON.stringify({ ...ZT_DOMESTIC, orderId: `SIG-${i}` })).join('\n'));
    const partials = () => (fs.existsSync(outDir) ? fs.readdirSync(outDir).filter((f) => f.endsWith('.partial')) : []);
    const print = child(w.env, ['print', big, '--out', path.join(outDir, 'labels.pdf')]);
    let ended = false;
    print.process.once('exit', () => (ended = true));
    // A file listed may be gone when its size is read (renamed into place or removed): no labels there.
    const size = (f: string) => fs.statSync(path.join(outDir, f), { throwIfNoEntry: false })?.size ?? 0;
    // Interrupted while it writes labels: the .partial holds real labels by then.
    await until('the print writes its labels', () => ended || partials().some((f) => size(f) > 10_000));
    if (ended) throw new Error(`the print ended before it was interrupted: ${(await print.done()).stderr}`);
    print.process.kill(signal);
    const result = await print.done();
    // Ended by the signal (the shell shows 128 + the signal number), or with that status.
    expect(result.signal === signal || result.code === status).toBe(true);
    expect(partials()).toEqual([]);
    expect(result.stderr).toContain(`interrupted (${signal})`);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.existsSync(path.join(outDir, 'labels.pdf'))).toBe(false);

    w.lines.length = 0;
    expect(await w.run('print', big, '--out', path.join(outDir, 'labels.pdf'))).toBe(EXIT.ok);
    expect(w.lines.join('\n')).toMatch(/printed 1500 waybill\(s\)/);
    expect(partials()).toEqual([]);
    fs.rmSync(w.dir, { recursive: true, force: true });
  });
});

describe('a reader that closes the pipe (`| head -0`)', () => {
  it.each([
    ['templates', ['templates']],
    ['templates --json', ['templates', '--json']],
    ['relay pool', ['relay', 'pool']],
  ])('%s: stops writing quietly, exit 0, no stack trace', async (_name, args) => {
    const w = workspace();
    const run = child({ ...w.env, WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002' }, args, ['ignore', 'pipe', 'pipe']);
    run.process.stdout!.destroy(); // the reader is gone before the command writes its first line
    const ended = await run.done();
    expect(ended.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(ended).toEqual({ code: EXIT.ok, signal: null, stderr: expect.any(String) });
    fs.rmSync(w.dir, { recursive: true, force: true });
  });

  it('through a shell: `waybill templates | head -0` and `relay pool | head -1` exit 0', () => {
    const w = workspace();
    const runner = path.join(w.dir, 'waybill.js');
    fs.writeFileSync(runner, `${PREAMBLE}\nsrc('cli.ts').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });`);
    const env = { ...process.env, ...w.env, NODE_PATH: path.join(ROOT, 'node_modules'), WAYBILL_RELAY_NUMBERS: '+8617000000001,+8617000000002' };
    const sh = (cmd: string) => spawnSync('bash', ['-c', `${cmd}; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    for (const cmd of [`node ${runner} templates | head -0`, `node ${runner} relay pool | head -1 >/dev/null`]) {
      const r = sh(cmd);
      expect({ cmd, stderr: r.stderr }).toEqual({ cmd, stderr: expect.stringMatching(/status 0\n$/) });
      expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
    }
    fs.rmSync(w.dir, { recursive: true, force: true });
  });
});
