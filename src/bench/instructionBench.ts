// `npm run bench:instructions`: what a print (and a JSON create) costs in CPU instructions, counted by valgrind's callgrind
// rather than timed. A shared machine's wall and CPU times move by a third from run to run; the same
// build's counts moved by up to a tenth (JIT and collector timing), so a change's effect shows sooner.
//
// Each scenario runs this file as a child under callgrind twice, printing a small and a large number of
// the same unit (after the same warm-up): the difference, divided by the difference in units, is the
// cost of one unit, without start-up and warm-up. User-space instructions only: what the kernel does
// for a write or an fsync is not counted. About four minutes on two cores. Needs valgrind.

import { execFileSync, spawn } from 'node:child_process';
import { batchOf, benchPrinter } from './benchPrinter';

interface Scenario {
  name: string;
  unit: string;
  mode: 'single' | 'batch' | 'json';
  small: number;
  large: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'one four-copy waybill PDF per document (relay, store, audit)', unit: 'document', mode: 'single', small: 20, large: 80 },
  { name: 'a waybill in a batch into one PDF (relay, store, audit)', unit: 'waybill', mode: 'batch', small: 100, large: 300 },
  { name: 'one waybill created and answered as JSON, no label drawn (relay, store, audit)', unit: 'create', mode: 'json', small: 20, large: 80 },
];

const WARM_UP = 20;

/** In the child: warm up, then print `n` units, then exit. */
async function drive(mode: Scenario['mode'], n: number): Promise<void> {
  const printer = benchPrinter();
  const { samples } = printer;
  for (let i = 0; i < WARM_UP; i++) await printer.print([samples[i % samples.length]!]);
  if (mode === 'single') for (let i = 0; i < n; i++) await printer.print([samples[i % samples.length]!]);
  else if (mode === 'json') for (let i = 0; i < n; i++) await printer.create([samples[i % samples.length]!]);
  else await printer.print(batchOf(samples, n, 'INSTR'));
  await printer.close();
}

/** Instructions callgrind counted for one child run. */
function counted(mode: Scenario['mode'], n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, __filename, '--drive', mode, String(n)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-8000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const found = /Collected : (\d+)/.exec(stderr);
      if (code === 0 && found) resolve(Number(found[1]));
      else reject(new Error(`the callgrind run (${mode} ${n}) failed with exit code ${code}: ${stderr.split('\n').slice(-5).join(' ')}`));
    });
  });
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('bench:instructions needs valgrind (Debian: apt-get install valgrind)');
    process.exitCode = 1;
    return;
  }
  console.log(`instructions counted by callgrind, Node ${process.version}; per unit = (large run − small run) / (large − small)`);
  for (const s of SCENARIOS) {
    // The two runs of a scenario side by side: one core each.
    const [small, large] = await Promise.all([counted(s.mode, s.small), counted(s.mode, s.large)]);
    const per = (large - small) / (s.large - s.small);
    console.log(`${s.name}: ${(per / 1e6).toFixed(1)} M instructions per ${s.unit} (${s.small} vs ${s.large})`);
  }
}

const at = process.argv.indexOf('--drive');
if (at >= 0) {
  const asked = process.argv[at + 1];
  const mode = asked === 'batch' || asked === 'json' ? asked : 'single';
  drive(mode, Number(process.argv[at + 2])).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
