// Two `waybill print --reprint` runs of the same orders at once (each with its own connection to the one
// SQLite file, as two processes have): both succeed, each paper with a print number and copy codes of its own.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, main } from '../../src/cli';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');

interface Entry {
  waybillNo: string;
  copies: { copyCode?: string; fields: Record<string, string> }[];
}

it('prints both of two simultaneous --reprint runs, each paper with its own print number and copy codes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-cli-reprint-'));
  const env = { WAYBILL_DATA_DIR: path.join(dir, 'data'), WAYBILL_TEMPLATES_DIR: path.join(ROOT, 'templates') };
  const lines: string[] = [];
  const run = (...argv: string[]) => main(argv, (l) => lines.push(l), env);
  const orders = path.join(ROOT, 'samples', 'orders.json');
  const out = (name: string) => path.join(dir, 'out', name);
  const read = (name: string): Entry[] => JSON.parse(fs.readFileSync(out(name), 'utf8'));
  try {
    expect(await run('print', orders, '--format', 'json', '--out', out('first.json'))).toBe(EXIT.ok);
    const codes = await Promise.all(['a.json', 'b.json'].map((name) => run('print', orders, '--reprint', '--format', 'json', '--out', out(name))));
    expect({ codes, refused: lines.filter((l) => /already taken/.test(l)) }).toEqual({ codes: [EXIT.ok, EXIT.ok], refused: [] });

    const [first, a, b] = [read('first.json'), read('a.json'), read('b.json')];
    for (const [i, w] of first.entries()) {
      // One run's paper is reprint 1 (print 2) of each waybill, the other's reprint 2, whichever came first.
      const marks = [a[i]!, b[i]!].map((p) => new Set(p.copies.map((c) => c.fields.reprint)));
      expect(marks.map((m) => [...m]).sort()).toEqual([['重印 第1次'], ['重印 第2次']]);
      const all = [w, a[i]!, b[i]!].flatMap((p) => p.copies.map((c) => c.copyCode));
      expect(new Set(all).size).toBe(all.length);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
