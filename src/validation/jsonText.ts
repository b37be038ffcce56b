// JSON text as people write it: parsed strictly, and where it breaks said as a line and column, never
// by quoting the text (V8's messages quote what surrounds the error, which may be personal data).

import { parse as parseJsonc, visit, type ParseError } from 'jsonc-parser';

/**
 * Where JSON is refused: a position, `end` (it ends too early), or undefined when it was not located;
 * `twice` when it is valid JSON but an object in it names a property twice.
 */
export type JsonResult = { ok: true; value: unknown } | { ok: false; position?: number | 'end'; twice?: true };

export function tryJson(text: string): JsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, ...errorPosition(text) };
  }
  // JSON.parse keeps the last of a property named twice and drops the other without a word: the order
  // system meant one of the two, and another reader of the same text (a gateway, an audit copy) may take
  // the first. Such text is refused, as I-JSON (RFC 7493) has it. Counting is cheap (about 1.5 µs an
  // order); only when the counts differ is the text walked again to say where.
  if (keyNames(text) === keysIn(value)) return { ok: true, value };
  return { ok: false, twice: true, ...secondName(text) };
}

const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** How many property names text that JSON.parse accepted holds: strings followed by a colon. */
function keyNames(text: string): number {
  let names = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x22) continue;
    // Outside strings valid JSON has no quote, so this runs from a string's opening quote to its closing one.
    for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    let next = i + 1;
    while (JSON_SPACE.has(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === 0x3a) names++; // a colon
  }
  return names;
}

/** How many properties the parsed value's objects hold in all (without recursion: nesting is the input's). */
function keysIn(value: unknown): number {
  let keys = 0;
  const open = [value];
  while (open.length) {
    const v = open.pop();
    if (typeof v !== 'object' || v === null) continue;
    const children = Array.isArray(v) ? v : Object.values(v);
    if (!Array.isArray(v)) keys += children.length;
    for (const child of children) open.push(child);
  }
  return keys;
}

/** Where the first property named a second time in its object is. */
function secondName(text: string): { position?: number } {
  const objects: Set<string>[] = [];
  let position: number | undefined;
  try {
    visit(text, {
      onObjectBegin: () => {
        objects.push(new Set());
        return position === undefined;
      },
      onObjectProperty: (name, offset) => {
        const names = objects.at(-1)!;
        if (names.has(name)) position ??= offset;
        names.add(name);
      },
      onObjectEnd: () => void objects.pop(),
    });
  } catch {
    // Nested too deep for the walk: said without a position.
  }
  return position === undefined ? {} : { position };
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

/** Why `tryJson` refused `text`: "not valid JSON" or "a property named twice in one object", and where. */
export function refusal(text: string, refused: Extract<JsonResult, { ok: false }>, position = refused.position): string {
  return `${refused.twice ? 'a property named twice in one object' : 'not valid JSON'}${where(text, position)}`;
}

/** The value of JSON text (a leading byte order mark allowed), or why not: " at line L, column C" or " (it ends too early)". */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; why: string; twice?: true } {
  const body = text.replace(/^\uFEFF/, '');
  const parsed = tryJson(body);
  return parsed.ok ? parsed : { ok: false, why: refusal(body, parsed), ...(parsed.twice ? { twice: true } : {}) };
}
