// `waybill stations list|reinstate`: the parcel stations that have keys, whether each is suspended (too
// many wrong verify answers in an hour), and lifting a suspension, which is audited like the suspension.

import { suspensionsLifted } from '../stations/stationStore';
import type { Services } from '../wiring';
import { cliOperator } from './apiKeyCommands';
import { EXIT, printList, type Io } from './io';

const USAGE = `usage:
  waybill stations list [--json]          stations with keys, and whether each is suspended
  waybill stations reinstate <station>    lifts a suspension (after too many wrong verify answers)`;

export async function stationCommand(args: string[], s: Pick<Services, 'apiKeys' | 'stations' | 'audit'>, io: Io): Promise<number> {
  const [sub, arg, ...more] = args;
  if (sub === 'list' && (arg === undefined || (arg === '--json' && !more.length))) {
    const keys = new Map<string, number>();
    for (const k of await s.apiKeys.list()) if (k.station && !k.revokedAt) keys.set(k.station, (keys.get(k.station) ?? 0) + 1);
    const suspended = new Map((await s.stations.suspensions()).map((x) => [x.stationId, x]));
    const rows = [...new Set([...keys.keys(), ...suspended.keys()])].sort().map((station) => {
      const x = suspended.get(station);
      return { station, keys: keys.get(station) ?? 0, status: x ? `suspended ${x.suspendedAt} (${x.reason})` : 'active' };
    });
    printList(io, rows, ['station', 'keys', 'status'], arg === '--json');
    if (!rows.length) io.err('no station keys yet (waybill keys create --role station)');
    return EXIT.ok;
  }
  if (sub === 'reinstate' && arg !== undefined && !more.length) {
    const before = await s.stations.suspension(arg);
    const reinstated = !!before && (await s.stations.reinstate(arg));
    // A suspension whose row was deleted in the database is still one on record (`waybill audit rows`
    // names it); reinstating it puts the operator's decision on record too.
    const liftedOutside = !reinstated && (await suspensionsLifted(s)).rewritten.includes(arg);
    if (!reinstated && !liftedOutside) {
      io.err(`station ${arg} was not suspended`);
      return EXIT.ok;
    }
    await s.audit.append({ at: new Date().toISOString(), actor: cliOperator(), action: 'reinstate', outcome: 'ok', detail: { station: arg } });
    io.err(reinstated ? `reinstated station ${arg} (was suspended at ${before!.suspendedAt}: ${before!.reason})` : `station ${arg}: its suspension was lifted outside the service; the reinstatement is now on record`);
    return EXIT.ok;
  }
  io.err(USAGE);
  return EXIT.usage;
}
