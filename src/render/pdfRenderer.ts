// PDF backend (pdfkit): one page per label, vector text in the bundled CJK font, barcode modules as
// filled rectangles. Pages stream out as they are finished, so a batch's memory stays bounded.

import PDFDocument from 'pdfkit';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { deflateSync } from 'node:zlib';
import { nextTurn } from '../eventLoop';
import { font, glyphOf, trueTypeFont, type FontWeight } from '../fonts/fonts';
import type { DrawOp, LabelDrawing, ModuleRuns } from '../layout/drawing';
import { mmToPt } from '../layout/units';
import { DEFLATE_LEVEL, deflateInThread } from './renderThread';
import type { LabelRenderer } from './renderer';

/**
 * pdfkit hands its output on only when the event loop turns. Once it holds this much, the renderer lets
 * the loop turn (and waits while the output is full); a one-waybill document (some 30 kB) never does.
 */
const YIELD_BYTES = 64 * 1024;
/**
 * From this page on, a document's pages are compressed on the deflate thread: a long batch gains a
 * sixth of its time, while a one-waybill document (a few pages, where latency counts) never waits on
 * a round trip to it.
 */
const THREAD_FROM_PAGE = 32;
/** Pages sent to the thread together (one message each way per group), and at most in flight at once. */
const THREAD_GROUP = 8;
const THREAD_MAX_PENDING = 64;

/**
 * The part of pdfkit's embedded font this renderer fills: the subset (glyph ids renumbered per document),
 * and per subset id its width (the PDF's W array) and code points (ToUnicode, which keeps text searchable).
 */
interface EmbeddedFont {
  id: string;
  subset: { includeGlyph(id: number): number };
  widths: number[];
  unicode: number[][];
  ref(): unknown;
  /** Writes the subset, its descriptor, widths and ToUnicode map when the document ends. */
  embed(): void;
}

function isEmbeddedFont(f: unknown): f is EmbeddedFont {
  const e = f as Partial<EmbeddedFont> | undefined;
  return (
    typeof e?.id === 'string' &&
    typeof e.subset?.includeGlyph === 'function' &&
    Array.isArray(e.widths) &&
    Array.isArray(e.unicode) &&
    typeof e.ref === 'function' &&
    typeof e.embed === 'function'
  );
}

/** A PDF number: at most three decimals (1/1000 pt), never exponent notation. */
function num(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/** A scale factor: six decimals, so that errors do not add up over the modules of a symbol. */
function exact(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/**
 * pdfkit keeps every page's dictionary in the page tree (`Kids`) until the document ends, and with it the
 * page's content and resource objects: about 0.8 kB a page, 50 MB in a 10,000-waybill batch; even a bare
 * reference per page is 70 bytes (4 MB). The tree only needs each page's object number: Kids becomes a list
 * of numbers that pdfkit writes as the array of references it would have written ("[3 0 R 7 0 R …]"),
 * being an object of pdfkit's reference class (pdfkit writes a reference by `instanceof` and `toString`).
 * pdfkit's other readers of Kids, outlines and links to a page number, are not used here. Should pdfkit's
 * internals change, this does nothing (and memory grows).
 */
function compactPageTree(doc: PDFKit.PDFDocument): void {
  const root = (doc as unknown as { _root?: { data?: { Pages?: { data?: { Kids?: unknown } } } } })._root;
  const tree = root?.data?.Pages?.data;
  if (!root || !tree || !Array.isArray(tree.Kids) || tree.Kids.length) return;
  const ids: number[] = [];
  tree.Kids = Object.create(Object.getPrototypeOf(root) as object, {
    push: { value: (page: { id: number }) => ids.push(page.id) },
    toString: { value: () => `[${ids.map((id) => `${id} 0 R`).join(' ')}]` },
  });
}

/** The part of pdfkit's stream object (PDFReference) its deflate goes through. */
interface PdfKitStream {
  compress: boolean;
  buffer: Uint8Array[];
  finalize(): void;
}

function isPdfKitStream(r: unknown): r is PdfKitStream {
  const s = r as Partial<PdfKitStream> | undefined;
  return typeof s?.compress === 'boolean' && Array.isArray(s.buffer) && typeof s.finalize === 'function';
}

/**
 * pdfkit deflates every stream (page content, font subsets, ToUnicode maps) at zlib's default level, a
 * sixth of a one-waybill document's time. At DEFLATE_LEVEL the same streams take 0.2–0.3 ms less per
 * document and come out 4 % larger (a batch's small page streams 8 %; docs/performance.md). Each stream
 * this document makes deflates itself at that level when pdfkit writes it, and tells pdfkit it is
 * compressed already (its FlateDecode filter stays). Should pdfkit's internals change, this does nothing
 * (and pdfkit deflates as before).
 *
 * Returns what marks the next stream made as one to store as it is, without a filter (a font subset).
 */
function deflateFaster(doc: PDFKit.PDFDocument): () => void {
  const d = doc as unknown as { ref(data?: object): unknown };
  const ref = d.ref.bind(doc);
  let storeNext = false;
  d.ref = (data) => {
    const stream = ref(data);
    const stored = storeNext;
    storeNext = false;
    if (!isPdfKitStream(stream)) return stream;
    if (stored) {
      stream.compress = false;
      return stream;
    }
    const finalize = stream.finalize.bind(stream);
    stream.finalize = () => {
      if (stream.compress && stream.buffer.length) {
        stream.buffer = [deflateSync(Buffer.concat(stream.buffer), { level: DEFLATE_LEVEL })];
        stream.compress = false;
      }
      finalize();
    };
    return stream;
  };
  return () => {
    storeNext = true;
  };
}

/**
 * A font subset is glyph outlines, which deflate by a fifth only (some 22 kB to 17 kB for a one-waybill
 * document's two) for a third of the document's deflating, about 0.35 ms: it is stored as it is. pdfkit's
 * embed makes the font file stream first; should that change, another of its objects goes unfiltered, still
 * valid.
 */
function storeFontFile(embedded: EmbeddedFont, storeNextStream: () => void): void {
  const embed = embedded.embed.bind(embedded);
  embedded.embed = () => {
    storeNextStream();
    embed();
  };
}

/** A drawn page waiting for its compressed content stream before pdfkit writes it. */
interface PendingPage {
  size: [number, number];
  fonts: Set<EmbeddedFont>;
}

/** The parts of pdfkit's page and content stream a page written from our own bytes touches. */
interface PdfKitPage {
  fonts: Record<string, unknown>;
  content: { buffer: Uint8Array[]; compress: boolean; data: { Filter?: string } };
}

/** Chunks below this size are gathered into one of about this size before they enter the stream. */
const GATHER_BYTES = 64 * 1024;

/**
 * pdfkit pushes every object header, dictionary and cross-reference line into its stream as a chunk of
 * its own, a few dozen bytes each. When a document ends, its fonts and its cross-reference table (three
 * lines a page: some 190,000 chunks for a 10,000-waybill batch) are pushed in one synchronous loop, held at
 * once before the output can take any: about 40 MB, the batch's peak. From the end on, small chunks are
 * gathered into 64 kB ones (the same bytes, in order); whatever is gathered goes before the stream ends.
 */
function gatherSmallChunks(doc: Readable): void {
  const push = doc.push.bind(doc);
  let gathered: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    if (!gathered.length) return;
    push(Buffer.concat(gathered, size));
    gathered = [];
    size = 0;
  };
  doc.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (!(chunk instanceof Uint8Array) || chunk.length >= GATHER_BYTES) {
      flush();
      return push(chunk, encoding);
    }
    gathered.push(chunk);
    size += chunk.length;
    if (size >= GATHER_BYTES) flush();
    return true;
  };
}

export class PdfRenderer implements LabelRenderer {
  private readonly doc: PDFKit.PDFDocument;
  private pages = 0;
  /** This document's two embedded fonts, and the hex code of each code point in its subset so far. */
  private readonly fonts: Record<FontWeight, { embedded: EmbeddedFont; codes: Map<number, string> }>;
  private readonly done: Promise<void>;
  /** Pages drawn, in order, whose content is being compressed on the deflate thread. */
  private readonly pending: PendingPage[] = [];
  /** Drawn content streams not yet sent to the thread. */
  private group: Uint8Array[] = [];
  /** Per group still in flight, oldest first: settles once its pages are written (in order) and it has left this list. */
  private readonly groups: Promise<void>[] = [];
  /** Symbol paths already made, for the next copy that shows the symbol. */
  private readonly modulePaths = new WeakMap<ModuleRuns, { rowUnits: number; path: string }>();
  private failure: unknown;

  constructor(private readonly out: Writable) {
    this.doc = new PDFDocument({
      autoFirstPage: false,
      compress: true,
      // Our font as the default, so pdfkit does not parse its built-in Helvetica metrics for every document.
      font: font('regular') as unknown as string,
      // Metadata names the product only: never a person, an order or a file name.
      info: { Title: 'Waybills', Creator: 'privacy-waybill', Producer: 'privacy-waybill' },
    });
    const embed = (weight: FontWeight) => {
      // Registered under its PostScript name: pdfkit files the default font under that name, so the
      // regular weight is not opened and compared again for every document.
      const name = font(weight).postscriptName;
      this.doc.registerFont(name, font(weight) as unknown as string);
      const embedded = (this.doc.font(name) as unknown as { _font?: unknown })._font;
      if (!isEmbeddedFont(embedded)) throw new Error('this pdfkit version embeds fonts differently: the PDF renderer needs updating');
      // Our subsetter in place of fontkit's (src/fonts/trueTypeSubset.ts): pdfkit calls its encode() when the document ends.
      const subset = trueTypeFont(weight)?.subset();
      if (subset) embedded.subset = subset;
      return { embedded, codes: new Map<number, string>() };
    };
    this.fonts = { regular: embed('regular'), bold: embed('bold') };
    compactPageTree(this.doc);
    const storeNextStream = deflateFaster(this.doc);
    for (const { embedded } of Object.values(this.fonts)) storeFontFile(embedded, storeNextStream);
    this.done = new Promise((resolve, reject) => {
      out.once('finish', resolve);
      out.once('error', reject);
      this.doc.once('error', reject);
    });
    // The output may fail before finish() awaits this (a client gone mid-batch): that must not be an
    // unhandled rejection, which ends the process. finish() still sees the error.
    this.done.catch(() => undefined);
    this.doc.pipe(out);
  }

  async addLabel(label: LabelDrawing): Promise<void> {
    if (this.failure) throw this.failure;
    const size: [number, number] = [mmToPt(label.widthMm), mmToPt(label.heightMm)];
    // The page's whole content as one string: pdfkit's drawing calls each convert and buffer a few
    // bytes, and its text() lays out and shapes every line again. It starts with the flip to points
    // from the top left, y down (what pdfkit's addPage writes, which this stream replaces).
    const fonts = new Set<EmbeddedFont>();
    let content = `1 0 0 -1 0 ${num(size[1])} cm\n`;
    for (const op of label.ops) content += this.draw(op, fonts);
    const stream = Buffer.from(content, 'latin1');
    if (++this.pages < THREAD_FROM_PAGE) this.writePage({ size, fonts }, stream, false);
    else {
      this.pending.push({ size, fonts });
      this.group.push(stream);
      if (this.group.length === THREAD_GROUP) this.sendGroup();
      // Memory stays bounded: wait for the oldest group while too many pages are in flight.
      while (!this.failure && this.pending.length > THREAD_MAX_PENDING && this.groups.length) await this.groups[0];
      if (this.failure) throw this.failure;
    }
    // Memory stays bounded whatever the batch size: past YIELD_BYTES the output gets what pdfkit holds,
    // and drawing waits while the output is full; short of that, drawing goes on. (A turn after every page
    // let the pages of all other creates in between a one-waybill document's, so under a burst each one
    // finished behind all of them. A batch over HTTP still lets others in after every waybill: streamedSink.)
    for (;;) {
      // An output that is gone (a client that went away, a failed file) never drains: stop, do not spin.
      if (this.out.destroyed) throw this.out.errored ?? new Error('the output closed before the document was complete');
      if (this.out.writableNeedDrain) await once(this.out, 'drain');
      else if (this.doc.readableLength > YIELD_BYTES) await nextTurn();
      else return;
    }
  }

  async finish(): Promise<void> {
    if (this.pages === 0) throw new Error('a PDF needs at least one label');
    if (this.group.length) this.sendGroup();
    // Gathered from here: the pages still on the deflate thread (a few dozen at most) are part of the end.
    gatherSmallChunks(this.doc);
    await Promise.all(this.groups);
    if (this.failure) throw this.failure;
    this.doc.end();
    await this.done;
  }

  /** Sends the drawn group to the deflate thread; its pages are written in order as it comes back. */
  private sendGroup(): void {
    const compressing = deflateInThread(this.group);
    const previous = this.groups.at(-1) ?? Promise.resolve();
    this.group = [];
    // Never rejects: a failure is kept and thrown by the next addLabel or by finish().
    this.groups.push(
      Promise.all([compressing, previous])
        .then(([streams]) => {
          if (!this.failure) for (const stream of streams) this.writePage(this.pending.shift()!, stream, true);
        })
        .catch((e: unknown) => {
          this.failure ??= e;
        })
        // Groups settle in order, so the one settling is the oldest: a long document keeps no list of done groups.
        .finally(() => {
          this.groups.shift();
        }),
    );
  }

  /** Adds the page to the document with `stream` as its content, compressed already or by pdfkit when written. */
  private writePage(page: PendingPage, stream: Uint8Array, compressed: boolean): void {
    this.doc.addPage({ size: page.size, margin: 0 });
    const { fonts, content } = (this.doc as unknown as { page: PdfKitPage }).page;
    for (const f of page.fonts) fonts[f.id] ??= f.ref();
    // Our stream replaces what addPage wrote (the flip, which ours begins with).
    content.buffer = [stream];
    if (compressed) {
      content.compress = false;
      content.data.Filter = 'FlateDecode';
    }
  }

  /**
   * One op's PDF operators, in points from the top left, y down (the flip every page's stream starts
   * with); text sets a text matrix that flips its glyphs upright.
   */
  private draw(op: DrawOp, pageFonts: Set<EmbeddedFont>): string {
    switch (op.op) {
      case 'text': {
        const weight = op.bold ? 'bold' : 'regular';
        const { embedded } = this.fonts[weight];
        pageFonts.add(embedded);
        return `BT /${embedded.id} ${num(op.sizePt)} Tf 1 0 0 -1 ${num(mmToPt(op.x))} ${num(mmToPt(op.baseline))} Tm <${this.glyphCodes(weight, op.text)}> Tj ET\n`;
      }
      case 'line':
        return `${num(mmToPt(op.widthMm))} w ${num(mmToPt(op.x1))} ${num(mmToPt(op.y1))} m ${num(mmToPt(op.x2))} ${num(mmToPt(op.y2))} l S\n`;
      case 'box': {
        const r = `${num(mmToPt(op.x))} ${num(mmToPt(op.y))} ${num(mmToPt(op.w))} ${num(mmToPt(op.h))} re`;
        return (op.fill ? `${r} f\n` : '') + (op.lineMm > 0 ? `${num(mmToPt(op.lineMm))} w ${r} S\n` : '');
      }
      case 'modules': {
        // One path for all modules of a symbol, so no anti-aliasing seams show between them; in module
        // units under one transform: "3 7 2 1 re" instead of four numbers in points, which makes the
        // barcodes' part of a page (six tenths of it) a third smaller, and lets the copies that show one
        // symbol share its path.
        if (!op.modules.runs.length) return '';
        const unit = exact(mmToPt(op.moduleMm));
        return `q ${unit} 0 0 ${unit} ${num(mmToPt(op.x))} ${num(mmToPt(op.y))} cm\n${this.modulePath(op.modules, op.rowMm / op.moduleMm)}f Q\n`;
      }
    }
  }

  /** A symbol's modules as rectangles in module units, rows `rowUnits` high; made once for the copies that show it. */
  private modulePath(modules: ModuleRuns, rowUnits: number): string {
    const made = this.modulePaths.get(modules);
    if (made?.rowUnits === rowUnits) return made.path;
    const { runs } = modules;
    const h = num(rowUnits);
    let path = '';
    for (let i = 0; i < runs.length; i += 3) path += `${runs[i]} ${runs[i + 1]} ${runs[i + 2]} ${h} re\n`;
    this.modulePaths.set(modules, { rowUnits, path });
    return path;
  }

  /** The text as this document's subset glyph codes (hex), each glyph added to the subset on first use. */
  private glyphCodes(weight: FontWeight, text: string): string {
    const { embedded, codes } = this.fonts[weight];
    let hex = '';
    for (const ch of text) {
      const codePoint = ch.codePointAt(0)!;
      let code = codes.get(codePoint);
      if (code === undefined) {
        // Drawn glyph by glyph at the advances layout measured (fonts.ts), not re-shaped by pdfkit.
        const glyph = glyphOf(weight, codePoint);
        const gid = embedded.subset.includeGlyph(glyph.id);
        embedded.widths[gid] ??= glyph.advance * 1000;
        embedded.unicode[gid] ??= [codePoint];
        code = gid.toString(16).padStart(4, '0');
        codes.set(codePoint, code);
      }
      hex += code;
    }
    return hex;
  }
}
