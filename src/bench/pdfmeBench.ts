// `npm run bench:pdfme`: the whole-process print of 300 four-copy waybills by our CLI against pdfme 6
// rendering the same content, both in one run, each as a fresh child process timed from spawn to exit.
//
// - Ours: `waybill print orders.ndjson --template cn-4copy --out x.pdf` on a fresh data dir (`waybill init
//   --demo`, not timed): reading and validating the orders, masking, relay numbers, QR tokens, the store,
//   the audit chain and the PDF.
// - pdfme: `node .bench/bench/pdfmeRender.js` (only pdfme and node): our cn-4copy template translated
//   element by element into one pdfme template (a page per label; boxes → rectangle, lines → line, text →
//   text in our bundled Noto Sans SC with pdfme's shrink-to-fit, Code128 → code128, QR → qrcode), filled
//   with the strings our service prints: the same orders printed once with `--format json`, which reports
//   what each copy shows (masked names and phones, areas, codes, barcode and QR values, wrapped lines).
//   pdfme is given finished text; the privacy work is ours alone, so the comparison flatters pdfme.
//
// Prints a table (renderer, waybills, pages, seconds, waybills/s, CPU seconds, peak RSS, output MB) with the
// best of BENCH_ROUNDS runs of each (default 2, alternating), and the ratio pdfme / ours of wall time (the
// target's measure) and of CPU time (each child's own getrusage, steadier on a shared machine); asserts
// nothing (shared machines are noisy). BENCH_WAYBILLS (default 300) changes the batch; BENCH_CLI runs another build than dist/cli.js;
// BENCH_KEEP_PDF=path keeps pdfme's last PDF there (to look at it beside ours).
// Never prints order data.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config/config';
import { loadTemplate, type LoadedTemplate } from '../layout/loadTemplate';
import type { Element } from '../layout/templateSchema';
import { USAGE_ENV, type Usage } from './pdfmeRender';
import { loadAverage } from './serverChild';

const CLI = path.resolve(process.env.BENCH_CLI ?? path.join(PACKAGE_ROOT, 'dist', 'cli.js'));
const RENDER = path.join(__dirname, 'pdfmeRender.js');
const WAYBILLS = Number(process.env.BENCH_WAYBILLS ?? 300);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const TEMPLATE = 'cn-4copy';
/** The font names pdfmeRender.ts registers our Noto Sans SC files under. */
const PDFME_FONTS = { regular: 'NotoSansSC', bold: 'NotoSansSCBold' } as const;
/** Our layout's line height (layoutWaybill.ts) and smallest shrink-to-fit size, for pdfme's text. */
const LINE_HEIGHT = 1.2;
const MIN_FONT_PT = 5;

interface Run {
  renderer: 'ours (waybill print)' | 'pdfme 6 (generate)';
  waybills: number;
  pages: number;
  seconds: number;
  /** The child's own CPU time (user + system, all threads) and peak RSS: less sensitive to a shared machine than wall time. */
  usage: Usage;
  bytes: number;
}

/** One copy as `--format json` reports it (JsonSink, src/printing/waybillSink.ts). */
interface ShownCopy {
  copy: string;
  fields: Record<string, string>;
  barcode?: string;
  qr?: string;
}

type PdfmeSchema = Record<string, unknown> & { name: string; type: string };

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: npm run build first');
  const pdfmeVersion = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'node_modules', '@pdfme', 'generator', 'package.json'), 'utf8')) as { version: string }).version;
  const samples = fs
    .readFileSync(path.join(PACKAGE_ROOT, 'samples', 'orders.ndjson'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const ndjson = Array.from({ length: WAYBILLS }, (_, i) => JSON.stringify({ ...samples[i % samples.length]!, orderId: `PDFME-${i}` })).join('\n') + '\n';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'waybill-pdfmebench-'));
  try {
    const orders = path.join(work, 'orders.ndjson');
    fs.writeFileSync(orders, ndjson);

    // The content: what our service prints on each copy of these orders (one untimed JSON print).
    const shown = await withDataDir(work, 'content', async (env) => {
      const out = path.join(work, 'shown.json');
      await child(process.execPath, [CLI, 'print', orders, '--template', TEMPLATE, '--format', 'json', '--out', out], env);
      return JSON.parse(fs.readFileSync(out, 'utf8')) as { copies: ShownCopy[] }[];
    });
    const template = loadTemplate(path.join(PACKAGE_ROOT, 'templates'), TEMPLATE);
    const pdfmeTemplate = toPdfmeTemplate(template);
    const pdfmeTemplateFile = path.join(work, 'pdfme-template.json');
    const pdfmeInputsFile = path.join(work, 'pdfme-inputs.json');
    fs.writeFileSync(pdfmeTemplateFile, JSON.stringify(pdfmeTemplate));
    fs.writeFileSync(pdfmeInputsFile, JSON.stringify(toPdfmeInputs(template, shown)));

    console.log(`machine: ${os.cpus().length} CPU(s), Node ${process.version}, load average before: ${loadAverage()}`);
    console.log(`${WAYBILLS} waybills, template ${TEMPLATE}, pdfme ${pdfmeVersion}; ${ROUNDS} round(s), each run a fresh child process\n`);
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which goes first, so neither always gets the quieter moment.
      const pair = [() => ours(work, orders, round), () => pdfme(work, pdfmeTemplateFile, pdfmeInputsFile, round)];
      if (round % 2 === 0) pair.reverse();
      for (const run of pair) {
        const r = await run();
        runs.push(r);
        console.log(`round ${round}: ${r.renderer.padEnd(22)} ${r.seconds.toFixed(2)} s wall, ${r.usage.cpuSeconds.toFixed(2)} s CPU, ${r.pages} pages, ${(r.bytes / 1e6).toFixed(2)} MB`);
      }
    }
    const best = (name: Run['renderer']) => runs.filter((r) => r.renderer === name).reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const a = best('ours (waybill print)');
    const b = best('pdfme 6 (generate)');
    console.log(`\nbest of ${ROUNDS} (whole process, wall clock):`);
    printTable([a, b]);
    if (a.pages !== b.pages) console.log(`note: page counts differ (${a.pages} vs ${b.pages})`);
    console.log(`\npdfme / ours, whole process wall clock = ${(b.seconds / a.seconds).toFixed(1)}× (target ≥ 20×)`);
    console.log(`pdfme / ours, CPU time (least of each) = ${(bestCpu(runs, 'pdfme 6 (generate)') / bestCpu(runs, 'ours (waybill print)')).toFixed(1)}×`);
    console.log(`load average after: ${loadAverage()}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function bestCpu(runs: Run[], name: Run['renderer']): number {
  return Math.min(...runs.filter((r) => r.renderer === name).map((r) => r.usage.cpuSeconds));
}

/** `waybill print` of the orders into a PDF, one process from spawn to exit, on a fresh data dir. */
async function ours(work: string, orders: string, round: number): Promise<Run> {
  return withDataDir(work, `ours-${round}`, async (env) => {
    const out = path.join(work, `ours-${round}.pdf`);
    const usageFile = path.join(work, `usage-ours-${round}.json`);
    const started = process.hrtime.bigint();
    const { stderr } = await child(process.execPath, ['--require', RENDER, CLI, 'print', orders, '--template', TEMPLATE, '--out', out], { ...env, [USAGE_ENV]: usageFile });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // The CLI's summary line: "printed N waybill(s), L label(s), …"; one label is one page in cn-4copy.
    const m = /printed (\d+) waybill\(s\), (\d+) label\(s\)/.exec(stderr);
    if (!m) throw new Error('the print did not report its summary line');
    const run: Run = { renderer: 'ours (waybill print)', waybills: Number(m[1]), pages: Number(m[2]), seconds, usage: readUsage(usageFile), bytes: fs.statSync(out).size };
    fs.rmSync(out);
    return run;
  });
}

/** pdfme generating the same labels, one process from spawn to exit. */
async function pdfme(work: string, templateFile: string, inputsFile: string, round: number): Promise<Run> {
  const out = path.join(work, `pdfme-${round}.pdf`);
  const usageFile = path.join(work, `usage-pdfme-${round}.json`);
  const started = process.hrtime.bigint();
  const { stdout } = await child(process.execPath, [RENDER, templateFile, inputsFile, out], { ...process.env, [USAGE_ENV]: usageFile });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { pages } = JSON.parse(stdout) as { pages: number };
  const run: Run = { renderer: 'pdfme 6 (generate)', waybills: WAYBILLS, pages, seconds, usage: readUsage(usageFile), bytes: fs.statSync(out).size };
  if (process.env.BENCH_KEEP_PDF) fs.copyFileSync(out, process.env.BENCH_KEEP_PDF);
  fs.rmSync(out);
  return run;
}

/**
 * Our template as one pdfme template: a page per label (cn-4copy: four 100×150 mm labels), every element
 * at the same place and size. Field names are "<label>.<copy>/<field>", unique across the pages, since a
 * pdfme input fills every page of one template instance (here: the four copies of one piece).
 */
export function toPdfmeTemplate(template: LoadedTemplate): { basePdf: { width: number; height: number; padding: [number, number, number, number] }; schemas: PdfmeSchema[][] } {
  const first = template.labels[0]!;
  if (template.labels.some((l) => l.widthMm !== first.widthMm || l.heightMm !== first.heightMm))
    throw new Error('pdfme has one page size per template: the labels must all be the same size');
  const schemas = template.labels.map((label, li) =>
    label.sections.flatMap((section) =>
      section.elements.map((el, ei) => toPdfmeSchema(el, `${li}.${section.copy}`, ei, section.x, section.y)),
    ),
  );
  return { basePdf: { width: first.widthMm, height: first.heightMm, padding: [0, 0, 0, 0] }, schemas };
}

function toPdfmeSchema(el: Element, prefix: string, index: number, dx: number, dy: number): PdfmeSchema {
  const black = '#000000';
  switch (el.type) {
    case 'box':
      return { name: `${prefix}/box${index}`, type: 'rectangle', position: { x: el.x + dx, y: el.y + dy }, width: el.w, height: el.h, borderWidth: el.lineMm, borderColor: black, color: el.fill ? black : '', readOnly: true };
    case 'line': {
      // pdfme draws a line as its box's horizontal centre line, `height` thick, turned about the box centre.
      const length = Math.hypot(el.x2 - el.x1, el.y2 - el.y1);
      const cx = (el.x1 + el.x2) / 2 + dx;
      const cy = (el.y1 + el.y2) / 2 + dy;
      const rotate = (Math.atan2(el.y2 - el.y1, el.x2 - el.x1) * 180) / Math.PI;
      return { name: `${prefix}/line${index}`, type: 'line', position: { x: cx - length / 2, y: cy - el.widthMm / 2 }, width: length, height: el.widthMm, rotate, color: black, readOnly: true };
    }
    case 'static':
      return { ...textSchema(el, dx, dy), name: `${prefix}/static${index}`, content: el.text, readOnly: true };
    case 'text':
      return {
        ...textSchema(el, dx, dy),
        name: `${prefix}/${el.field}`,
        // Our shrink-to-fit: from fontPt down to minFontPt (60 % of it, never below 5 pt) until it fits.
        dynamicFontSize: { min: Math.min(el.fontPt, el.minFontPt ?? Math.max(MIN_FONT_PT, el.fontPt * 0.6)), max: el.fontPt, fit: 'vertical' },
      };
    case 'code128':
      return { name: `${prefix}/code128`, type: 'code128', position: { x: el.x + dx, y: el.y + dy }, width: el.w, height: el.h, backgroundColor: '#ffffff', barColor: black, includetext: false };
    case 'qr':
      return { name: `${prefix}/qr`, type: 'qrcode', position: { x: el.x + dx, y: el.y + dy }, width: el.size, height: el.size, backgroundColor: '#ffffff', barColor: black };
  }
}

function textSchema(el: Extract<Element, { type: 'text' | 'static' }>, dx: number, dy: number): Record<string, unknown> & { type: 'text' } {
  return {
    type: 'text',
    position: { x: el.x + dx, y: el.y + dy },
    width: el.w,
    height: el.h,
    fontName: el.bold ? PDFME_FONTS.bold : PDFME_FONTS.regular,
    fontSize: el.fontPt,
    alignment: el.align,
    verticalAlignment: 'top',
    lineHeight: LINE_HEIGHT,
    characterSpacing: 0,
    fontColor: '#000000',
    backgroundColor: '',
  };
}

/**
 * One pdfme input per piece: the template's copies in order (courier, recipient, office, sender), each
 * filled with what our JSON print says that copy shows. Wrapped lines keep our line breaks ("\n").
 */
export function toPdfmeInputs(template: LoadedTemplate, shown: { copies: ShownCopy[] }[]): Record<string, string>[] {
  const sections = template.labels.flatMap((label, li) => label.sections.map((section) => ({ li, section })));
  const inputs: Record<string, string>[] = [];
  for (const waybill of shown) {
    if (waybill.copies.length % sections.length !== 0) throw new Error('a waybill has a copy count the template does not divide');
    for (let start = 0; start < waybill.copies.length; start += sections.length) {
      const input: Record<string, string> = {};
      sections.forEach(({ li, section }, i) => {
        const copy = waybill.copies[start + i]!;
        if (copy.copy !== section.copy) throw new Error(`expected the ${section.copy} copy, got ${copy.copy}`);
        const prefix = `${li}.${section.copy}`;
        for (const el of section.elements) {
          if (el.type === 'text') {
            const value = copy.fields[el.field] ?? '';
            input[`${prefix}/${el.field}`] = value === '' ? '' : el.prefix + value;
          } else if (el.type === 'code128') {
            if (!copy.barcode) throw new Error(`the ${section.copy} copy shows no barcode`);
            input[`${prefix}/code128`] = copy.barcode;
          } else if (el.type === 'qr') {
            if (!copy.qr) throw new Error(`the ${section.copy} copy shows no QR`);
            input[`${prefix}/qr`] = copy.qr;
          }
        }
      });
      inputs.push(input);
    }
  }
  return inputs;
}

async function withDataDir<T>(work: string, name: string, use: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const dir = path.join(work, `data-${name}`);
  fs.mkdirSync(dir);
  try {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAYBILL_')));
    const env: NodeJS.ProcessEnv = { ...inherited, WAYBILL_DATA_DIR: dir, WAYBILL_LOG_LEVEL: 'silent' };
    await child(process.execPath, [CLI, 'init', '--demo'], env);
    return await use(env);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function child(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-8000)));
    p.on('error', reject);
    p.on('close', (code) => {
      // Only the command and its last stderr line: our CLI names fields, never values.
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${path.basename(args[0] ?? command)} ${args[1] ?? ''} exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
    });
  });
}

function readUsage(file: string): Usage {
  const usage = JSON.parse(fs.readFileSync(file, 'utf8')) as Usage;
  if (!(usage.cpuSeconds > 0)) throw new Error('the child recorded no CPU time');
  return usage;
}

function printTable(runs: Run[]): void {
  const rows = [
    ['renderer', 'waybills', 'pages', 'seconds', 'waybills/s', 'CPU s', 'peak RSS MB', 'output MB'],
    ...runs.map((r) => [
      r.renderer,
      String(r.waybills),
      String(r.pages),
      r.seconds.toFixed(2),
      (r.waybills / r.seconds).toFixed(1),
      r.usage.cpuSeconds.toFixed(2),
      (r.usage.peakRssKb / 1024).toFixed(0),
      (r.bytes / 1e6).toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}


if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
