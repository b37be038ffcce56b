// Real concurrency for store tests: several Node processes, each with its own database connection,
// start together and race. Each loads the TypeScript sources through a tiny transpiling hook.

import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** Lets a `node -e` child load the TypeScript sources: `src('store/openStores.ts')`. */
export const PREAMBLE = `
  const fs = require('node:fs');
  const ts = require('typescript');
  require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(fs.readFileSync(f, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
  const src = (p) => require(${JSON.stringify(path.join(ROOT, 'src'))} + '/' + p);
`;

/**
 * Runs `setup` (may await) in each of `processes` children, waits until all are ready, then releases them at once
 * to run `race` (an async function body; its return value comes back JSON-decoded, one per process).
 * Rejects when a child exits non-zero or writes to stderr.
 */
export async function raceProcesses(opts: { processes: number; setup: string; race: string; env: (n: number) => NodeJS.ProcessEnv }): Promise<unknown[]> {
  // setup may await (opening a PostgreSQL pool does); a failure in it is reported on stderr.
  const script = `${PREAMBLE}
    (async () => {
      ${opts.setup}
      process.stdout.write('ready\\n');
      process.stdin.once('data', async () => {
        const result = await (async () => { ${opts.race} })();
        process.stdout.write(JSON.stringify(result ?? null) + '\\n', () => process.exit(0));
      });
    })().catch((e) => { process.stderr.write(String((e && e.message) || e)); process.exit(1); });`;
  const children = Array.from({ length: opts.processes }, (_, n) =>
    spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...opts.env(n) }, stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const stdout = children.map(() => '');
  const stderr = children.map(() => '');
  const exited = children.map(
    (c, n) =>
      new Promise<number | null>((resolve) => {
        c.stdout.on('data', (d) => (stdout[n] += String(d)));
        c.stderr.on('data', (d) => (stderr[n] += String(d)));
        c.on('exit', resolve);
      }),
  );
  // Ready, or already dead (a failed setup): the exit code then reports it below instead of a hang.
  await Promise.all(children.map((c) => new Promise<void>((resolve) => (c.stdout.once('data', () => resolve()), c.once('exit', () => resolve())))));
  for (const c of children) {
    c.stdin.on('error', () => {});
    if (c.exitCode === null) c.stdin.write('go\n');
  }
  const codes = await Promise.all(exited);
  if (codes.some((c) => c !== 0) || stderr.some(Boolean)) throw new Error(`racing processes failed: ${JSON.stringify({ codes, stderr })}`);
  return stdout.map((out) => JSON.parse(out.split('\n').filter(Boolean).at(-1)!));
}
