// The TrueType font program a PDF embeds: the glyphs a document uses, renumbered in the order it first
// uses them, in the tables a PDF's TrueType font needs (head, hhea, loca, maxp, cvt, prep, glyf, hmtx,
// fpgm; the PDF maps character codes to glyphs itself). fontkit's subsetter writes the same tables through
// its generic structure encoder, half a millisecond a document for the two weights even with every parsed
// outline kept; this copies the file's bytes and patches the few counts that change (docs/performance.md).

/** A TrueType font file's tables as bytes, its glyph outlines read on use. */
export interface TrueTypeTables {
  /** The table's bytes as in the file, or undefined when the font has none. */
  table(tag: string): Uint8Array | undefined;
  /** Glyph `id`'s outline: its bytes in `glyf` (empty for a glyph that draws nothing, like a space). */
  glyph(id: number): Uint8Array;
}

/** The tables copied as they are, when the font has them (the hinting programs and their values). */
const COPIED = ['cvt ', 'fpgm', 'prep'] as const;

// Composite glyph flags (TrueType `glyf`): what follows each component's glyph index.
const ARG_1_AND_2_ARE_WORDS = 0x0001;
const WE_HAVE_A_SCALE = 0x0008;
const MORE_COMPONENTS = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE = 0x0040;
const WE_HAVE_A_TWO_BY_TWO = 0x0080;

/** One font's fixed tables, read once; `subset()` starts a document's subset of it. */
export class TrueTypeFont {
  readonly numGlyphs: number;
  private readonly head: Uint8Array;
  private readonly hhea: Uint8Array;
  private readonly maxp: Uint8Array;
  private readonly hmtx: DataView;
  private readonly longMetrics: number;
  private readonly copied: [string, Uint8Array][];

  constructor(private readonly tables: TrueTypeTables) {
    const need = (tag: string, min: number) => {
      const t = tables.table(tag);
      if (!t || t.length < min) throw new Error(`this font has no usable ${tag.trim()} table, which a PDF's TrueType font needs`);
      return t;
    };
    this.head = need('head', 54);
    this.hhea = need('hhea', 36);
    this.maxp = need('maxp', 6);
    const hmtx = need('hmtx', 4);
    this.hmtx = new DataView(hmtx.buffer, hmtx.byteOffset, hmtx.byteLength);
    this.numGlyphs = view(this.maxp).getUint16(4);
    this.longMetrics = view(this.hhea).getUint16(34);
    if (this.longMetrics < 1 || hmtx.length < this.longMetrics * 4 + (this.numGlyphs - this.longMetrics) * 2) throw new Error('this font has a short hmtx table');
    this.copied = COPIED.flatMap((tag) => {
      const t = tables.table(tag);
      return t ? [[tag, t] as [string, Uint8Array]] : [];
    });
  }

  subset(): TrueTypeSubset {
    return new TrueTypeSubset(this);
  }

  /** Glyph `id`'s advance width and left side bearing (font units), from hmtx. */
  metrics(id: number): [number, number] {
    const long = Math.min(id, this.longMetrics - 1);
    const advance = this.hmtx.getUint16(long * 4);
    const bearing = id < this.longMetrics ? this.hmtx.getInt16(id * 4 + 2) : this.hmtx.getInt16(this.longMetrics * 4 + (id - this.longMetrics) * 2);
    return [advance, bearing];
  }

  outline(id: number): Uint8Array {
    return this.tables.glyph(id);
  }

  /** The program of a subset whose glyphs, in their new order, have these outlines (composites renumbered). */
  program(outlines: Uint8Array[], metrics: [number, number][]): Buffer {
    const n = outlines.length;
    // Each outline starts at an even offset, so a subset under 128 kB of outlines (every one-waybill
    // document's) takes loca's short form: offsets halved, two bytes each.
    const glyfLength = outlines.reduce((sum, o) => sum + pad2(o.length), 0);
    const short = glyfLength < 0x20000;
    const glyf = Buffer.alloc(glyfLength);
    const loca = Buffer.alloc((n + 1) * (short ? 2 : 4));
    const offset = (i: number, at: number) => (short ? loca.writeUInt16BE(at / 2, i * 2) : loca.writeUInt32BE(at, i * 4));
    let at = 0;
    outlines.forEach((o, i) => {
      offset(i, at);
      glyf.set(o, at);
      at += pad2(o.length);
    });
    offset(n, at);
    const hmtx = Buffer.alloc(n * 4);
    metrics.forEach(([advance, bearing], i) => {
      hmtx.writeUInt16BE(advance, i * 4);
      hmtx.writeInt16BE(bearing, i * 4 + 2);
    });
    const head = Buffer.from(this.head);
    head.writeUInt32BE(0, 8); // checkSumAdjustment: set once the whole font is written
    head.writeInt16BE(short ? 0 : 1, 50); // indexToLocFormat
    const hhea = Buffer.from(this.hhea);
    hhea.writeUInt16BE(n, 34); // numberOfHMetrics: every glyph has its own
    const maxp = Buffer.from(this.maxp);
    maxp.writeUInt16BE(n, 4);
    const tables = (
      [...this.copied, ['glyf', glyf], ['head', head], ['hhea', hhea], ['hmtx', hmtx], ['loca', loca], ['maxp', maxp]] as [string, Uint8Array][]
    ).sort(([a], [b]) => (a < b ? -1 : 1));
    const { font, offsets } = writeFont(tables);
    font.writeUInt32BE((0xb1b0afba - checksum(font)) >>> 0, offsets.get('head')! + 8);
    return font;
  }
}

/** A document's subset: glyph 0 (.notdef) first, then each glyph as the document first uses it. */
export class TrueTypeSubset {
  private readonly glyphs: number[] = [];
  private readonly ids = new Map<number, number>();

  constructor(private readonly font: TrueTypeFont) {
    this.includeGlyph(0);
  }

  /** The glyph's id in this subset, added on first use. */
  includeGlyph(id: number): number {
    let sub = this.ids.get(id);
    if (sub === undefined) {
      if (!Number.isInteger(id) || id < 0 || id >= this.font.numGlyphs) throw new Error('a glyph id outside the font');
      sub = this.glyphs.length;
      this.glyphs.push(id);
      this.ids.set(id, sub);
    }
    return sub;
  }

  /** The font program; a composite glyph's parts join the subset and it refers to them by their new ids. */
  encode(): Buffer {
    const outlines: Uint8Array[] = [];
    // By index: the list grows while it is read, as a composite's parts join it.
    for (let i = 0; i < this.glyphs.length; i++) outlines.push(this.renumbered(this.font.outline(this.glyphs[i]!)));
    return this.font.program(
      outlines,
      this.glyphs.map((id) => this.font.metrics(id)),
    );
  }

  private renumbered(outline: Uint8Array): Uint8Array {
    if (outline.length < 10 || view(outline).getInt16(0) >= 0) return outline;
    const copy = Uint8Array.from(outline);
    const v = view(copy);
    let at = 10;
    for (;;) {
      if (at + 4 > copy.length) throw new Error('a composite glyph ends inside a component');
      const flags = v.getUint16(at);
      v.setUint16(at + 2, this.includeGlyph(v.getUint16(at + 2)));
      at += 4 + (flags & ARG_1_AND_2_ARE_WORDS ? 4 : 2);
      if (flags & WE_HAVE_A_SCALE) at += 2;
      else if (flags & WE_HAVE_AN_X_AND_Y_SCALE) at += 4;
      else if (flags & WE_HAVE_A_TWO_BY_TWO) at += 8;
      if (!(flags & MORE_COMPONENTS)) return copy;
    }
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function pad2(n: number): number {
  return (n + 1) & ~1;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** The sum of a table's (or the font's) big-endian 32-bit words, the last one zero-padded. */
function checksum(b: Uint8Array): number {
  const v = view(b);
  let sum = 0;
  const whole = b.length & ~3;
  for (let i = 0; i < whole; i += 4) sum = (sum + v.getUint32(i)) >>> 0;
  if (whole < b.length) {
    let last = 0;
    for (let i = whole; i < whole + 4; i++) last = (last << 8) | (i < b.length ? b[i]! : 0);
    sum = (sum + (last >>> 0)) >>> 0;
  }
  return sum;
}

/** An sfnt file: its table directory, then each table at a four-byte boundary. */
function writeFont(tables: [string, Uint8Array][]): { font: Buffer; offsets: Map<string, number> } {
  const n = tables.length;
  const power = 2 ** Math.floor(Math.log2(n));
  let at = 12 + 16 * n;
  const size = tables.reduce((sum, [, t]) => sum + pad4(t.length), at);
  const font = Buffer.alloc(size);
  font.writeUInt32BE(0x00010000, 0);
  font.writeUInt16BE(n, 4);
  font.writeUInt16BE(power * 16, 6);
  font.writeUInt16BE(Math.log2(power), 8);
  font.writeUInt16BE(n * 16 - power * 16, 10);
  const offsets = new Map<string, number>();
  tables.forEach(([tag, t], i) => {
    const entry = 12 + 16 * i;
    font.write(tag, entry, 4, 'latin1');
    font.writeUInt32BE(checksum(t), entry + 4);
    font.writeUInt32BE(at, entry + 8);
    font.writeUInt32BE(t.length, entry + 12);
    font.set(t, at);
    offsets.set(tag, at);
    at += pad4(t.length);
  });
  return { font, offsets };
}
