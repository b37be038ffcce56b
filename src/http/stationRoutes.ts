// Parcel-station routes (role: station): an arrival (by the parcel's QR code; by number only where
// configured) issues a pickup code; verify answers match / no match and nothing else. Stations see no
// personal data: answers carry numbers, codes and booleans only.

import express, { type Response } from 'express';
import { z } from 'zod';
import { actorOf, type Principal } from '../auth/apiKey';
import { WaybillError } from '../errors';
import { PICKUP_CODE, Shelf, VerifyRequest } from '../stations/station';
import { recordArrival, verifyAtStation, type StationDeps } from '../stations/stationHandoff';
import { tokenOfScan } from '../vault/qrToken';
import { present } from '../validation/present';
import { issuesFromZod } from '../validation/zodIssues';
import { requireRole, type AuthDeps } from './auth';
import { jsonBody, optionalJsonBody } from './body';
import { noQuery } from './labelFormat';

export const ArrivalRequest = Shelf;
/** An arrival by the parcel's QR code: what a scanner reads off it (the scan URL), or the token alone. */
export const CodeArrivalRequest = Shelf.extend({
  code: z
    .string()
    .min(1)
    .max(512)
    .describe("the text of the parcel's QR code as a scanner reads it (`https://…/w/<token>`), or the token alone"),
}).strict();
export const ArrivalAnswer = z.strictObject({
  waybillNo: z.string().describe('the waybill (a child number given resolves to its master)'),
  pickupCode: z.string().regex(PICKUP_CODE).describe('shelf-tier-sequence, unique at this station for the day (Beijing time)'),
  arrivedAt: z.string().describe('when the parcel arrived (ISO 8601 UTC)'),
});
export { VerifyRequest };
export const StationAnswer = z.strictObject({ station: z.string().describe('the station this key acts for') });
export const VerifyAnswer = z.strictObject({ match: z.boolean().describe('whether the digits match; nothing else is ever told') });

export interface StationRouteDeps {
  auth: AuthDeps;
  limit: express.RequestHandler;
  station: StationDeps;
}


export function stationRoutes(deps: StationRouteDeps): { arrivals: express.Router; stations: express.Router } {
  const station = (res: Response) => {
    const p = res.locals.principal as Extract<Principal, { role: 'station' }>;
    return { stationId: p.station, actor: actorOf(p), requestId: res.locals.requestId as string };
  };

  const arrivals = express.Router();
  arrivals.post('/:no/arrivals', requireRole(deps.auth, 'station'), deps.limit, optionalJsonBody('1kb'), async (req, res) => {
    const no = String(req.params.no);
    if (!/^[A-Z0-9]{6,30}$/.test(no)) throw new WaybillError('not_found', 'unknown waybill');
    const shelf = ArrivalRequest.safeParse(req.body);
    if (!shelf.success) throw new WaybillError('invalid_input', 'the arrival is invalid', issuesFromZod(shelf.error));
    const { created, ...answer } = await recordArrival(deps.station, station(res), { waybillNo: no }, shelf.data);
    res.status(created ? 201 : 200).json(present(ArrivalAnswer, answer));
  });

  const stations = express.Router();
  // Who am I: lets the station's page check its key and show which counter it serves.
  stations.get('/current', requireRole(deps.auth, 'station'), deps.limit, noQuery, (_req, res) => {
    res.json(present(StationAnswer, { station: station(res).stationId }));
  });
  stations.post('/arrivals', requireRole(deps.auth, 'station'), deps.limit, jsonBody('1kb'), async (req, res) => {
    const body = CodeArrivalRequest.safeParse(req.body);
    if (!body.success) throw new WaybillError('invalid_input', 'the arrival is invalid', issuesFromZod(body.error));
    const { code, ...shelf } = body.data;
    const { created, ...answer } = await recordArrival(deps.station, station(res), { token: tokenOfScan(code) }, shelf);
    res.status(created ? 201 : 200).json(present(ArrivalAnswer, answer));
  });
  stations.post('/verify', requireRole(deps.auth, 'station'), deps.limit, jsonBody('1kb'), async (req, res) => {
    const body = VerifyRequest.safeParse(req.body);
    // Field paths only: the digits are never quoted back.
    if (!body.success) throw new WaybillError('invalid_input', 'the verify request is invalid', issuesFromZod(body.error));
    res.json(present(VerifyAnswer, await verifyAtStation(deps.station, station(res), body.data)));
  });
  return { arrivals, stations };
}
