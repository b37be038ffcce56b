// JSON text as people write it: parsed strictly, and where it breaks said as a line and column, never
// by quoting the text (V8's messages quote what surrounds the error, which may be personal data).

import { parse as parseJsonc, type ParseError } from 'jsonc-parser';

/** Where invalid JSON breaks: a position, `end` (it ends too early), or undefined when it was not located. */
export type JsonResult = { ok: true; value: unknown } | { ok: false; position?: number | 'end' };

export function tryJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, ...errorPosition(text) };
  }
}

/** Text up to this size is scanned for where it breaks; a larger one is only said to be no JSON. */
const LOCATED_MAX = 1 << 20;

/**
 * Where invalid JSON breaks: V8's message quotes the text around the error and often has no position,
 * so a strict JSON scanner locates the first error instead. It builds the whole tree and recurses, so a
 * large text costs seconds and memory, and a deeply nested one overflows the stack: neither is located.
 */
function errorPosition(text: string): { position?: number | 'end' } {
  if (text.length > LOCATED_MAX) return {};
  const errors: ParseError[] = [];
  try {
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
  } catch {
    return {};
  }
  const position = errors[0]?.offset;
  return { position: position === undefined || position >= text.trimEnd().length ? 'end' : position };
}

/** " at line L, column C" (1-based, columns in characters) of a position in `text`, " (it ends too early)", or nothing. */
export function where(text: string, position: number | 'end' | undefined): string {
  if (position === undefined) return '';
  if (position === 'end') return ' (it ends too early)';
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
