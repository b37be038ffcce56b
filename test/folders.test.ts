// Folders are made a level at a time: a folder whose parent cannot hold one (under /proc) fails with its
// error, where Node's recursive mkdirSync never returned (a child process, so a regression cannot hang jest).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeFolders } from '../src/folders';
import { PREAMBLE } from './support/raceProcesses';

describe('makeFolders', () => {
  it('makes a folder and its missing parents with the mode given, and leaves an existing one alone', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-folders-'));
    const deep = path.join(dir, 'a', 'b', 'c');
    makeFolders(deep, 0o700);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(dir, 'a')).mode & 0o777).toBe(0o700);
    makeFolders(deep);
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => makeFolders(path.join(dir, 'file', 'under'))).toThrow(/ENOTDIR/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails, not hangs, where no folder can be made', () => {
    const script = `${PREAMBLE}
      try { src('folders.ts').makeFolders('/proc/waybill-no-such/x'); process.stdout.write('made'); }
      catch (e) { process.stdout.write('failed ' + e.code); }`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), timeout: 20_000, encoding: 'utf8' });
    expect(run.signal).toBeNull(); // not killed by the timeout
    expect(run.stdout).toMatch(/^failed E[A-Z]+$/);
  });
});
