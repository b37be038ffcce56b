// JSON text as people write it: parsed strictly, and where it breaks said as a line and column, never
// by quoting the text (V8's messages quote what surrounds the error, which may be personal data).

import { parse as parseJsonc, type ParseError } from 'jsonc-parser';

export type JsonResult = { ok: true; value: unknown } | { ok: false; position?: number };

export function tryJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    // V8's message quotes the text around the error and often has no position: a strict JSON scanner
    // locates the first error instead.
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
    const position = errors[0]?.offset;
    return position === undefined || position >= text.trimEnd().length ? { ok: false } : { ok: false, position };
  }
}

/** " at line L, column C" (1-based, columns in characters) of a position in `text`. */
export function where(text: string, position: number | undefined): string {
  if (position === undefined) return ' (it ends too early)';
  const before = text.slice(0, position);
  const line = 1 + (before.match(/\n/g)?.length ?? 0);
  const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  return ` at line ${line}, column ${column}`;
}

/** The value of JSON text (a leading byte order mark allowed), or why not: " at line L, column C" or " (it ends too early)". */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; why: string } {
  const body = text.replace(/^\uFEFF/, '');
  const parsed = tryJson(body);
  return parsed.ok ? parsed : { ok: false, why: `not valid JSON${where(body, parsed.position)}` };
}
