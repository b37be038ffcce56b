// The pdfme side of `npm run bench:pdfme`: a plain pdfme 6 program, run as its own process and timed
// whole by the bench. It reads a pdfme template and its inputs (JSON files the bench prepared from our
// template and our JSON output), registers our bundled Noto Sans SC (regular and bold) as pdfme's fonts,
// generates one PDF and writes it. Nothing of the service runs here: only pdfme, its plugins and node.
//
// Usage: node .bench/bench/pdfmeRender.js <template.json> <inputs.json> <out.pdf>
// Prints one JSON line on stdout: {"inputs": n, "pages": n}.
//
// With BENCH_USAGE_FILE set, a process records its CPU time and peak RSS there on exit (getrusage: all
// threads): this one itself, and our CLI through `node --require` of this file (pdfme is loaded only
// when this file is the main script, so the preload brings nothing into our process).

import fs from 'node:fs';
import path from 'node:path';
import type { Template } from '@pdfme/common';

export const USAGE_ENV = 'BENCH_USAGE_FILE';
export interface Usage {
  cpuSeconds: number;
  peakRssKb: number;
}

/** The font names the bench's template uses (pdfmeBench.ts PDFME_FONTS). */
const PDFME_FONTS = { regular: 'NotoSansSC', bold: 'NotoSansSCBold' } as const;

async function main(): Promise<void> {
  const [templateFile, inputsFile, out] = process.argv.slice(2);
  if (!templateFile || !inputsFile || !out) throw new Error('usage: pdfmeRender <template.json> <inputs.json> <out.pdf>');
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as Template;
  const inputs = JSON.parse(fs.readFileSync(inputsFile, 'utf8')) as Record<string, string>[];
  // The same files src/fonts/fonts.ts opens (not imported, so no service code runs in this process).
  const FONT_PACKAGE = path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/package.json'));
  const font = {
    [PDFME_FONTS.regular]: { data: fs.readFileSync(path.join(FONT_PACKAGE, '400Regular', 'NotoSansSC_400Regular.ttf')), fallback: true, subset: true },
    [PDFME_FONTS.bold]: { data: fs.readFileSync(path.join(FONT_PACKAGE, '700Bold', 'NotoSansSC_700Bold.ttf')), subset: true },
  };
  const { generate } = await import('@pdfme/generator');
  const { barcodes, line, rectangle, text } = await import('@pdfme/schemas');
  const pdf = await generate({
    template,
    inputs,
    options: { font },
    plugins: { text, line, rectangle, code128: barcodes.code128, qrcode: barcodes.qrcode },
  });
  fs.writeFileSync(out, pdf);
  process.stdout.write(JSON.stringify({ inputs: inputs.length, pages: inputs.length * template.schemas.length }) + '\n');
}

const usageFile = process.env[USAGE_ENV];
if (usageFile) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    const usage: Usage = { cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6, peakRssKb: u.maxRSS };
    fs.writeFileSync(usageFile, JSON.stringify(usage));
  });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`pdfmeRender: ${e instanceof Error ? e.message.split('\n')[0] : 'failed'}\n`);
    process.exitCode = 1;
  });
}
