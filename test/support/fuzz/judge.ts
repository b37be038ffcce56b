// Sending a fuzz case and judging the answer: never a 5xx, the expected status when the case names one,
// and every error problem+json with type, title, detail, status and the request id. Only the case number,
// generator and what was wrong are ever reported (bodies may be huge, and hold personal data).

import type { FuzzRequest } from './requests';

/** What was wrong with case `n`'s answer, or undefined when nothing was. */
export async function judge(base: string, n: number, generator: string, req: FuzzRequest): Promise<string | undefined> {
  const where = `case ${n} (${generator})`;
  let res: Response;
  const controller = new AbortController();
  const timer = req.abort === 'upload' ? setTimeout(() => controller.abort(), 2) : undefined;
  try {
    res = await fetch(`${base}${req.path}`, {
      method: req.method,
      headers: req.headers ?? {},
      ...(req.body !== undefined ? { body: req.body } : {}),
      redirect: 'manual',
      signal: controller.signal,
    });
  } catch (e) {
    if (req.abort && (e as Error).name === 'AbortError') return undefined;
    const cause = (e as { cause?: { code?: string; name?: string } }).cause;
    return `${where}: request failed (${(e as Error).name}${cause ? `: ${cause.code ?? cause.name ?? ''}` : ''})`;
  } finally {
    clearTimeout(timer);
  }
  if (req.abort === 'response') {
    const reader = res.body?.getReader();
    await reader?.read().catch(() => undefined);
    controller.abort();
    if (res.status >= 500) return `${where}: server error ${res.status}`;
    if (req.expect && !req.expect.includes(res.status)) return `${where}: expected status ${req.expect.join(' or ')}, got ${res.status}`;
    return undefined;
  }
  const text = await res.text().catch(() => undefined);
  if (text === undefined) return `${where}: status ${res.status}, response body unreadable`;
  if (res.status >= 500) return `${where}: server error ${res.status}`;
  if (req.expect && !req.expect.includes(res.status)) return `${where}: expected status ${req.expect.join(' or ')}, got ${res.status}`;
  if (res.status < 400) return undefined;

  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/problem\+json(;|$)/.test(type)) return `${where}: status ${res.status} with content type "${type.slice(0, 60)}", not application/problem+json`;
  if (req.method === 'HEAD') return undefined;
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `${where}: status ${res.status}, problem body is not JSON`;
  }
  if (typeof problem !== 'object' || problem === null || Array.isArray(problem)) return `${where}: status ${res.status}, problem body is not an object`;
  for (const field of ['type', 'title', 'detail', 'requestId'])
    if (typeof problem[field] !== 'string' || problem[field] === '') return `${where}: status ${res.status}, problem lacks a string "${field}"`;
  if (problem.status !== res.status) return `${where}: status ${res.status}, problem says status ${String(problem.status)}`;
  if (problem.requestId !== res.headers.get('x-request-id')) return `${where}: status ${res.status}, problem requestId differs from X-Request-Id`;
  return undefined;
}

/** Runs `run` over `items` with at most `limit` at a time. */
export async function pool<T>(items: Iterable<T>, limit: number, run: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  const worker = async () => {
    for (let next = it.next(); !next.done; next = it.next()) await run(next.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
