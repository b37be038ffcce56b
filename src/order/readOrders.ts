// Turns the text of an order file (one JSON order, a JSON array, or NDJSON) into validated orders,
// or one error that lists every bad order with its index, line and field path. Messages never quote
// the input, because the input is personal data.

import { Order } from './orderSchema';
import { WaybillError, type Issue } from '../errors';
import { issuesFromZod } from '../validation/zodIssues';
import { parseJsonText, refusal, tryJson } from '../validation/jsonText';

interface RawOrder {
  value: unknown;
  line?: number;
}

/** An order file's content as read (bytes are checked to be UTF-8 text first) → validated orders. */
export function parseOrders(content: string | Uint8Array, file: string): Order[] {
  const text = typeof content === 'string' ? content : decodeText(content, file);
  // Each order is parsed as validation reaches it: a long file never holds all its parsed JSON at once.
  // A lone CR ends a line too (old Mac exports); JSON holds none inside a string, so nothing else changes.
  const orders = validateOrders(splitOrders(text.replace(/^\uFEFF/, '').replace(/\r(?!\n)/g, '\n'), file), file);
  if (orders.length === 0) throw malformed(file, 'holds no orders');
  return orders;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(bytes: Uint8Array, file: string): string {
  // Spreadsheets on Windows save "Unicode text" as UTF-16 with a byte order mark: read as such.
  const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : undefined;
  if (utf16) {
    try {
      return new TextDecoder(utf16, { fatal: true }).decode(bytes);
    } catch {
      throw malformed(file, 'starts as UTF-16 text but is not (a broken or cut-off file?); save it as UTF-8');
    }
  }
  // A NUL never occurs in JSON text: an image, an archive, a spreadsheet or UTF-16 text without its mark.
  if (bytes.includes(0)) {
    const ascii16 = bytes.length >= 2 && (bytes[0] === 0) !== (bytes[1] === 0);
    throw malformed(file, ascii16 ? 'is UTF-16 text without a byte order mark; save it as UTF-8' : 'is a binary file, not JSON or NDJSON text');
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw malformed(file, `is not UTF-8 text at line ${firstBadLine(bytes)} (another encoding such as GBK?); save it as UTF-8`);
  }
}

/** The first line (1-based) that is not UTF-8: a file mostly right names where it goes wrong. */
function firstBadLine(bytes: Uint8Array): number {
  let line = 1;
  for (let start = 0; start < bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const stop = end === -1 ? bytes.length : end;
    try {
      UTF8.decode(bytes.subarray(start, stop));
    } catch {
      return line;
    }
    start = stop + 1;
  }
  return line;
}

export function validateOrders(raw: Iterable<RawOrder>, file?: string): Order[] {
  const validator = new OrderValidator(file);
  for (const { value, line } of raw) validator.add(value, line);
  return validator.finish();
}

/**
 * Validates orders one at a time, as they are read: it keeps each valid order and every issue of the
 * others, and nothing of the input itself, so a reader can let each parsed order go at once.
 */
export class OrderValidator {
  private readonly issues: Issue[] = [];
  private readonly orders: Order[] = [];
  private index = 0;

  constructor(private readonly file?: string) {}

  /** Orders added so far, valid or not. */
  get count(): number {
    return this.index;
  }

  add(value: unknown, line?: number): void {
    const result = Order.safeParse(withoutNulls(value));
    if (result.success) this.orders.push(result.data);
    else for (const issue of issuesFromZod(result.error)) this.issues.push({ file: this.file, index: this.index, line, ...issue });
    this.index++;
  }

  /** The valid orders, or one error listing every invalid one (index, line and field path). */
  finish(): Order[] {
    if (this.issues.length) {
      const bad = new Set(this.issues.map((i) => i.index)).size;
      throw new WaybillError('invalid_input', `${bad} of ${this.index} orders are invalid`, this.issues);
    }
    return this.orders;
  }
}

/**
 * The value with every property that is null left out, down to an address (order → party → address):
 * order systems export an empty field as null, which means absent (a required one is then named as
 * missing). Deeper values are no order's, and the schema refuses them as they are.
 */
function withoutNulls(value: unknown, depth = 3): unknown {
  if (depth === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (v === null ? [] : [[k, withoutNulls(v, depth - 1)]])));
}

/** The file's orders as parsed JSON, one at a time; a line that is no JSON throws when reached. */
function* splitOrders(text: string, file: string): Generator<RawOrder> {
  if (text.trim() === '') return;
  if (text.trimStart().startsWith('[')) {
    const value = parseJson(text, file);
    if (!Array.isArray(value)) throw malformed(file, 'expected an array of orders');
    yield* eachOrder(value);
    return;
  }
  // One order, the API's {"orders": [...]}, or NDJSON: try the whole text first so a pretty-printed
  // document works.
  const whole = tryJson(text);
  // Valid JSON as a whole is one document, whatever its lines are.
  if (!whole.ok && whole.twice) throw malformed(file, refusal(text, whole));
  if (whole.ok) {
    const value = whole.value;
    // No order has an "orders" field: an object with one is the API's document, and must be one.
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'orders' in value) {
      const { orders } = value as { orders: unknown };
      if (!Array.isArray(orders)) throw malformed(file, '"orders" must be an array of orders');
      if (Object.keys(value).length > 1) throw malformed(file, 'a document of orders holds "orders" and nothing else');
      yield* eachOrder(orders);
    } else yield { value };
    return;
  }
  let first = true;
  let offset = 0;
  for (const [i, lineText] of text.split('\n').entries()) {
    const start = offset;
    offset += lineText.length + 1;
    if (lineText.trim() === '') continue;
    const parsed = tryJson(lineText);
    if (parsed.ok) {
      first = false;
      yield { value: parsed.value, line: i + 1 };
      continue;
    }
    // A first line that is no JSON value of its own is most likely a pretty-printed document: say where
    // the document breaks, not where its first line does.
    if (first && !parsed.twice) throw malformed(file, refusal(text, whole));
    // A line that stops mid-value is named as such: the file goes on after it.
    const at = parsed.position;
    throw malformed(file, at === 'end' ? `not valid JSON at line ${i + 1} (the line ends too early)` : at === undefined ? `${refusal(lineText, parsed)} at line ${i + 1}` : refusal(text, parsed, start + at));
  }
}

/** The orders of an array, each let go once validated. */
function* eachOrder(list: unknown[]): Generator<RawOrder> {
  for (let i = 0; i < list.length; i++) {
    const order: unknown = list[i];
    list[i] = undefined;
    yield { value: order };
  }
}

function parseJson(text: string, file: string): unknown {
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw malformed(file, parsed.why);
  return parsed.value;
}

function malformed(file: string, message: string): WaybillError {
  return new WaybillError('invalid_input', `${file}: ${message}`, [{ file, path: [], message }]);
}
