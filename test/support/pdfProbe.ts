// Test support: look at a printed PDF the way an outside reader would — through poppler's
// pdftotext / pdfinfo / pdftoppm rather than through our own renderer — so privacy tests
// check what actually ended up in the file, not what we believe we wrote.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const POPPLER_HINT = 'install poppler-utils (e.g. `apt-get install poppler-utils`)';
// The text of a long print run easily exceeds execFile's 1 MiB stdout default.
const MAX_BUFFER = 256 * 1024 * 1024;

/** Runs a poppler tool without a shell (paths are never interpreted) and returns stdout. */
function runPoppler(tool: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer: MAX_BUFFER, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${tool} not found on PATH: ${POPPLER_HINT}`));
          return;
        }
        reject(new Error(`${tool} ${args.join(' ')} failed: ${String(stderr).trim() || error.message}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** Full text of every page, as a copy-paste / search-engine reader would extract it. */
export async function pdfText(pdfPath: string): Promise<string> {
  return runPoppler('pdftotext', ['-enc', 'UTF-8', pdfPath, '-']);
}

/**
 * Everything a metadata reader can see: pdfinfo's summary, the Info dictionary including custom
 * keys, the XMP packet, link URLs, and the raw Info dictionary source with its strings decoded —
 * the last one because pdfinfo only prints values it knows how to decode.
 */
export async function pdfMetadata(pdfPath: string): Promise<string> {
  const parts = await Promise.all([
    runPoppler('pdfinfo', ['-enc', 'UTF-8', pdfPath]),
    runPoppler('pdfinfo', ['-custom', '-enc', 'UTF-8', pdfPath]),
    runPoppler('pdfinfo', ['-meta', pdfPath]),
    runPoppler('pdfinfo', ['-url', pdfPath]),
    rawInfoDictionary(pdfPath),
  ]);
  return parts.join('\n');
}

/** A word as pdftotext places it: its page (from 1), its box in points from the page's top left. */
export interface PdfWord {
  page: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  text: string;
}

/** Every word with its box (`pdftotext -bbox`): where a reader finds the text, and how wide it is. */
export async function pdfWords(pdfPath: string): Promise<PdfWord[]> {
  const html = await runPoppler('pdftotext', ['-bbox', '-enc', 'UTF-8', pdfPath, '-']);
  const words: PdfWord[] = [];
  let page = 0;
  for (const m of html.matchAll(/<page |<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)) {
    if (m[0] === '<page ') page++;
    else words.push({ page, xMin: Number(m[1]), yMin: Number(m[2]), xMax: Number(m[3]), yMax: Number(m[4]), text: decodeEntities(m[5]!) });
  }
  return words;
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

/** Page count as reported by pdfinfo. */
export async function pdfPageCount(pdfPath: string): Promise<number> {
  const info = await runPoppler('pdfinfo', [pdfPath]);
  const match = /^Pages:\s+(\d+)\s*$/m.exec(info);
  if (!match?.[1]) throw new Error(`pdfinfo reported no page count for ${pdfPath}`);
  return Number(match[1]);
}

/**
 * Renders every page to a PNG at `dpi`, in page order. `-gray` renders grey values only, as barcode
 * decoding needs nothing else (poppler 22 still stores them in an RGB PNG).
 */
export async function rasterisePdf(pdfPath: string, dpi: number): Promise<Buffer[]> {
  if (!Number.isFinite(dpi) || dpi <= 0) throw new Error(`invalid dpi: ${dpi}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pdfprobe-'));
  try {
    await runPoppler('pdftoppm', ['-r', String(dpi), '-gray', '-png', pdfPath, path.join(dir, 'page')]);
    // pdftoppm zero-pads the page number to the width of the page count (page-1 / page-01 …),
    // so sort numerically instead of lexically.
    const pages = (await fs.readdir(dir))
      .map((name) => ({ name, page: Number(/-(\d+)\.png$/.exec(name)?.[1]) }))
      .filter((entry) => Number.isInteger(entry.page))
      .sort((a, b) => a.page - b.page);
    return await Promise.all(pages.map((entry) => fs.readFile(path.join(dir, entry.name))));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Source of the trailer's /Info object and of the objects it references (pdfkit stores every value
 * indirectly), followed by their decoded strings. Best effort: only uncompressed objects are found
 * (pdfkit never uses object streams); returns '' when there is no /Info.
 */
async function rawInfoDictionary(pdfPath: string): Promise<string> {
  const source = (await fs.readFile(pdfPath)).toString('latin1');
  const objectSource = (num: string, gen: string): string => {
    const start = source.search(new RegExp(`(^|[^0-9])${num}\\s+${gen}\\s+obj\\b`));
    if (start < 0) return '';
    const end = source.indexOf('endobj', start);
    return source.slice(start, end < 0 ? undefined : end + 'endobj'.length).trim();
  };
  const ref = [...source.matchAll(/\/Info\s+(\d+)\s+(\d+)\s+R/g)].pop(); // last trailer wins (incremental updates)
  if (!ref?.[1] || !ref[2]) return '';
  const info = objectSource(ref[1], ref[2]);
  const values = [...info.matchAll(/(\d+)\s+(\d+)\s+R\b/g)].map((m) => objectSource(m[1]!, m[2]!));
  const bodies = [info, ...values].filter(Boolean);
  return [...bodies, ...bodies.flatMap(decodePdfStrings)].join('\n');
}

/** Decodes the literal (…) and hex <…> strings of a PDF object into readable text. */
function decodePdfStrings(body: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '(') {
      const bytes: number[] = [];
      let depth = 1;
      for (i++; i < body.length && depth > 0; i++) {
        const ch = body[i]!;
        if (ch === '\\') {
          const next = body[++i] ?? '';
          const octal = /^[0-7]{1,3}/.exec(body.slice(i, i + 3));
          const escapes: Record<string, number> = { n: 10, r: 13, t: 9, b: 8, f: 12 };
          if (octal) {
            bytes.push(parseInt(octal[0], 8) & 0xff);
            i += octal[0].length - 1;
          } else if (next in escapes) bytes.push(escapes[next]!);
          else if (next !== '\n' && next !== '\r') bytes.push(next.charCodeAt(0));
          continue;
        }
        if (ch === '(') depth++;
        if (ch === ')' && --depth === 0) break;
        bytes.push(ch.charCodeAt(0) & 0xff);
      }
      out.push(decodePdfTextBytes(Buffer.from(bytes)));
    } else if (c === '<' && body[i + 1] !== '<') {
      const end = body.indexOf('>', i);
      if (end < 0) break;
      const hex = body.slice(i + 1, end).replace(/\s+/g, '');
      out.push(decodePdfTextBytes(Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex')));
      i = end;
    } else if (c === '<') {
      i++; // skip the second '<' of a dictionary opener
    }
  }
  return out;
}

/** PDF text strings are UTF-16BE with a BOM, UTF-8 with a BOM (PDF 2.0), or PDFDocEncoding. */
function decodePdfTextBytes(bytes: Buffer): string {
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const utf16 = Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2)));
    return utf16.swap16().toString('utf16le'); // Node has no UTF-16BE decoder; swap to LE
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString('utf8');
  return bytes.toString('latin1'); // close enough to PDFDocEncoding for a leak search
}
