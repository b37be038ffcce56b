// `waybill alerts`: what the service raised about possible abuse, newest first, for an investigator at the
// shell (the same list as GET /v1/alerts). Alerts name ids and reasons, never personal data.

import { WaybillError } from '../errors';
import { AlertQuery } from '../http/alertRoutes';
import { DAY_MS } from '../time';
import { issuesFromZod } from '../validation/zodIssues';
import type { WaybillStore } from '../waybills/waybillStore';
import { parseOptions, EXIT, asIo, printList, UsageError, type Output } from './io';

/** `--since`: a span back from now (hours or days), or what the API's `from` takes (a date or a time). */
function sinceToFrom(since: string, now: Date): string {
  const span = /^([1-9]\d{0,4})([hd])$/.exec(since);
  return span ? new Date(now.getTime() - Number(span[1]) * (span[2] === 'h' ? DAY_MS / 24 : DAY_MS)).toISOString() : since;
}

export async function alertsCommand(args: string[], store: Pick<WaybillStore, 'listAlerts'>, output: Output, now = new Date()): Promise<number> {
  const io = asIo(output);
  const { values, positionals } = parseOptions({ args, allowPositionals: true, options: { kind: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length) throw new UsageError('alerts takes only options');
  const query = AlertQuery.safeParse({
    ...(values.kind !== undefined ? { kind: values.kind } : {}),
    ...(values.since !== undefined ? { from: sinceToFrom(values.since, now) } : {}),
    ...(values.limit !== undefined ? { limit: values.limit } : {}),
  });
  if (!query.success)
    // The options by their names on this command line (--since is the API's `from`, or a span).
    throw new WaybillError(
      'invalid_input',
      'invalid options',
      issuesFromZod(query.error).map((i) =>
        i.path[0] === 'from' ? { path: ['--since'], message: 'must be hours or days back (24h, 7d), a date or a date-time with offset' } : { ...i, path: [`--${String(i.path[0])}`] },
      ),
    );
  const { kind, from, limit } = query.data;
  const alerts = await store.listAlerts({ ...(kind !== undefined ? { kind } : {}), ...(from !== undefined ? { from } : {}), limit });
  const rows = alerts.map((a) => ({ at: a.at, kind: a.kind, courier: a.courierId ?? null, detail: a.detail }));
  printList(io, rows, ['at', 'kind', 'courier', 'detail'], values.json ?? false);
  if (!rows.length) io.err('no alerts');
  else if (rows.length === limit) io.err(`the newest ${limit}; older ones with --limit or --since`);
  return EXIT.ok;
}
