// Turns the text of an order file (one JSON order, a JSON array, or NDJSON) into validated orders,
// or one error that lists every bad order with its index, line and field path. Messages never quote
// the input, because the input is personal data.

import { Order } from './orderSchema';
import { WaybillError, type Issue } from '../errors';
import { issuesFromZod } from '../validation/zodIssues';

interface RawOrder {
  value: unknown;
  line?: number;
}

export function parseOrders(text: string, file: string): Order[] {
  const raw = splitOrders(text.replace(/^\uFEFF/, ''), file);
  if (raw.length === 0) throw new WaybillError('invalid_input', `${file}: holds no orders`, [{ file, path: [], message: 'holds no orders' }]);
  return validateOrders(raw, file);
}

export function validateOrders(raw: RawOrder[], file?: string): Order[] {
  const issues: Issue[] = [];
  const orders: Order[] = [];
  raw.forEach(({ value, line }, index) => {
    const result = Order.safeParse(value);
    if (result.success) orders.push(result.data);
    else for (const issue of issuesFromZod(result.error)) issues.push({ file, index, line, ...issue });
  });
  if (issues.length) {
    const bad = new Set(issues.map((i) => i.index)).size;
    throw new WaybillError('invalid_input', `${bad} of ${raw.length} orders are invalid`, issues);
  }
  return orders;
}

function splitOrders(text: string, file: string): RawOrder[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) {
    const value = parseJson(trimmed, file);
    if (!Array.isArray(value)) throw malformed(file, 'expected an array of orders');
    return value.map((v) => ({ value: v }));
  }
  // One order or NDJSON: try the whole text first so a pretty-printed single order works.
  const whole = tryJson(trimmed);
  if (whole.ok) return [{ value: whole.value }];
  const orders: RawOrder[] = [];
  text.split(/\r?\n/).forEach((lineText, i) => {
    if (lineText.trim() === '') return;
    const parsed = tryJson(lineText);
    if (!parsed.ok) throw malformed(file, `line ${i + 1} is not valid JSON${parsed.where}`, i + 1);
    orders.push({ value: parsed.value, line: i + 1 });
  });
  return orders;
}

function parseJson(text: string, file: string): unknown {
  const parsed = tryJson(text);
  if (!parsed.ok) throw malformed(file, `not valid JSON${parsed.where}`);
  return parsed.value;
}

type JsonResult = { ok: true; value: unknown } | { ok: false; where: string };

function tryJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    // V8's message quotes the text around the error; keep only the position.
    const position = /position (\d+)/.exec(String((e as Error).message));
    return { ok: false, where: position ? ` (at character ${position[1]})` : '' };
  }
}

function malformed(file: string, message: string, line?: number): WaybillError {
  return new WaybillError('invalid_input', `${file}: ${message}`, [{ file, line, path: [], message }]);
}
