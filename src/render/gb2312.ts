// GB2312 bytes for the resident Chinese fonts of TSPL and CPCL printers (e.g. TSS24.BF2, CPCL font 24). Built once from the
// runtime's own GB18030 decoder over the GB2312 code table (rows 0xA1–0xF7, cells 0xA1–0xFE), so no
// encoding package is needed; characters outside GB2312 have no bytes and stay raster.

let table: Map<string, number> | undefined;

function gb2312(): Map<string, number> {
  if (table) return table;
  table = new Map();
  const decoder = new TextDecoder('gb18030');
  for (let hi = 0xa1; hi <= 0xf7; hi++)
    for (let lo = 0xa1; lo <= 0xfe; lo++) {
      const ch = decoder.decode(Uint8Array.of(hi, lo));
      if (ch.length === 1 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, (hi << 8) | lo);
    }
  return table;
}

/** The GB2312 bytes of `text` (printable ASCII as itself), or undefined when a character has none. */
export function encodeGb2312(text: string): Buffer | undefined {
  const bytes: number[] = [];
  const codes = gb2312();
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c < 0x7f) bytes.push(c);
    else {
      const code = codes.get(ch);
      if (code === undefined) return undefined;
      bytes.push(code >> 8, code & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** Whether a resident GB2312 font can draw the text: GB2312 characters and printable ASCII. */
export const gb2312Drawable = (text: string) => encodeGb2312(text) !== undefined;
