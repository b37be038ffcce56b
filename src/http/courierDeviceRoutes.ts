// Courier device pairing: an admin issues a one-use code for a courier (and sees and revokes the courier's
// devices); the courier's phone redeems the code, without any credential, for its own device credential
// (wbd_), shown once. A device can see whom it acts for, and revoke itself (the app's log-out).

import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/auditLog';
import { actorOf, type Principal } from '../auth/apiKey';
import { CredentialRefused } from '../auth/authFailure';
import { DeviceName, pairUrl } from '../couriers/courierDevice';
import { WaybillError } from '../errors';
import { present } from '../validation/present';
import { issuesFromZod } from '../validation/zodIssues';
import { requireRole, type AuthDeps } from './auth';
import { jsonBody, noBody } from './body';
import { noQuery } from './labelFormat';

export const PairingIssued = z.strictObject({
  code: z.string().regex(/^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/).describe('the one-use code (XXXX-XXXX), shown once; valid until expiresAt'),
  expiresAt: z.string().describe('when the code stops working (ISO 8601 UTC): 10 minutes after issue'),
  pairUrl: z.string().describe('the courier app with the code in the fragment (never sent to a server): show it as a QR code'),
});

export const DeviceView = z.strictObject({
  id: z.string().describe('the device id (the public part of its credential)'),
  name: z.string().describe("the device's label as given at pairing"),
  createdAt: z.string().describe('when it was paired (ISO 8601 UTC)'),
  revokedAt: z.string().optional().describe('when it was revoked; its credential no longer works'),
  lastUsedAt: z.string().optional().describe('when its credential was last used, to the hour'),
});
export const DeviceList = z.strictObject({ items: z.array(DeviceView).describe('oldest first; revoked ones included') });

export const PairRequest = z.strictObject({
  code: z.string().max(32).describe('the pairing code as shown (case, spaces and hyphens do not matter)'),
  name: DeviceName,
});

const CourierView = z.strictObject({ id: z.string().describe('the courier id'), carrier: z.string().describe('carrier code'), outlet: z.string().describe('delivery outlet code') });

export const DevicePaired = z.strictObject({
  credential: z.string().regex(/^wbd_/).describe("the device's bearer credential: shown once, never again"),
  device: z.strictObject({ id: z.string(), name: z.string(), createdAt: z.string() }),
  courier: CourierView,
});

export const CurrentDevice = z.strictObject({
  courier: CourierView,
  device: z.strictObject({ id: z.string(), name: z.string() }).optional().describe("absent for a courier's own credential (wbc_)"),
});

export interface CourierDeviceRouteDeps {
  auth: AuthDeps;
  limit: express.RequestHandler;
  audit: Pick<AuditLog, 'append'>;
  /** The QR base URL: its origin is where the courier app is served. */
  scanBaseUrl: string;
  /** Whether admin keys may issue pairing codes; else only the operator's `waybill couriers pair`. */
  pairingByApi: boolean;
  now: () => Date;
}

const COURIER_ID = /^[a-z2-7]{10}$/;

export function courierDeviceRoutes(deps: CourierDeviceRouteDeps): { couriers: express.Router; devices: express.Router } {
  const couriers = deps.auth.couriers;
  const requestId = (res: Response) => res.locals.requestId as string;
  const principal = (res: Response) => res.locals.principal as Principal;
  /** The courier of a path, for an admin: unknown (or not an id at all) is 404. */
  const courierOf = async (req: Request) => {
    const id = String(req.params.id);
    const courier = COURIER_ID.test(id) ? await couriers.get(id) : undefined;
    if (!courier) throw new WaybillError('not_found', 'unknown courier');
    return courier;
  };

  const admin = express.Router();
  admin.post('/:id/pairings', requireRole(deps.auth, 'admin'), deps.limit, noBody, async (req, res) => {
    const now = deps.now();
    // Whoever holds a code gets a courier's device, and with it that courier's scans of full addresses:
    // an admin key that could issue codes to itself would be every courier at once.
    if (!deps.pairingByApi) {
      await deps.audit.append({ at: now.toISOString(), actor: actorOf(principal(res)), action: 'pairing_issue', outcome: 'refused', requestId: requestId(res) });
      throw new WaybillError('forbidden', 'pairing codes are issued by the operator (waybill couriers pair) unless WAYBILL_COURIER_PAIRING_BY_API=true');
    }
    const courier = await courierOf(req);
    const { code, expiresAt } = await couriers.pair(courier.id, now);
    await deps.audit.append({ at: now.toISOString(), actor: actorOf(principal(res)), action: 'pairing_issue', outcome: 'ok', requestId: requestId(res), detail: { courier: courier.id } });
    res.status(201).json(present(PairingIssued, { code, expiresAt, pairUrl: pairUrl(deps.scanBaseUrl, code) }));
  });
  admin.get('/:id/devices', requireRole(deps.auth, 'admin'), deps.limit, noQuery, async (req, res) => {
    const courier = await courierOf(req);
    const items = (await couriers.devices(courier.id)).map((d) => ({
      id: d.id,
      name: d.name,
      createdAt: d.createdAt,
      ...(d.revokedAt ? { revokedAt: d.revokedAt } : {}),
      ...(d.lastUsedAt ? { lastUsedAt: d.lastUsedAt } : {}),
    }));
    res.json(present(DeviceList, { items }));
  });
  admin.delete('/:id/devices/:deviceId', requireRole(deps.auth, 'admin'), deps.limit, async (req, res) => {
    const courier = await courierOf(req);
    const deviceId = String(req.params.deviceId);
    const now = deps.now();
    if (!COURIER_ID.test(deviceId) || !(await couriers.revokeDevice(courier.id, deviceId, now))) throw new WaybillError('not_found', 'unknown device');
    await deps.audit.append({ at: now.toISOString(), actor: actorOf(principal(res)), action: 'device_revoke', outcome: 'ok', requestId: requestId(res), detail: { courier: courier.id, device: deviceId } });
    res.status(204).end();
  });

  const devices = express.Router();
  // No credential: the code is one. A wrong, expired or used code is a refused credential, counted and
  // throttled per address like a bad key, so guessing codes from one address ends in 429s.
  devices.post('/', jsonBody('1kb'), async (req, res) => {
    const body = PairRequest.safeParse(req.body);
    // Field paths only: the code is never quoted back.
    if (!body.success) throw new WaybillError('invalid_input', 'the pairing request is invalid', issuesFromZod(body.error));
    const now = deps.now();
    const paired = await couriers.redeem(body.data.code, body.data.name, now);
    if (!paired) {
      const refusal = new CredentialRefused('unauthenticated', 'unknown, expired or used pairing code');
      throw deps.auth.throttle ? await deps.auth.throttle.refused(req, res, refusal) : refusal;
    }
    const { device, credential, courier } = paired;
    await deps.audit.append({ at: now.toISOString(), actor: `courier:${courier.id}`, action: 'device_pair', outcome: 'ok', requestId: requestId(res), detail: { device: device.id } });
    res.status(201).json(
      present(DevicePaired, {
        credential,
        device: { id: device.id, name: device.name, createdAt: device.createdAt },
        courier: { id: courier.id, carrier: courier.carrier, outlet: courier.outlet },
      }),
    );
  });
  devices.get('/current', requireRole(deps.auth, 'courier'), deps.limit, noQuery, async (_req, res) => {
    const p = principal(res) as Extract<Principal, { role: 'courier' }>;
    const courier = await couriers.get(p.id);
    const device = p.device ? await couriers.device(p.device) : undefined;
    // The credential was just checked: both exist.
    if (!courier || (p.device && !device)) throw new WaybillError('not_found', 'unknown courier');
    res.json(
      present(CurrentDevice, {
        courier: { id: courier.id, carrier: courier.carrier, outlet: courier.outlet },
        ...(device ? { device: { id: device.id, name: device.name } } : {}),
      }),
    );
  });
  // A device unpairs itself even while its courier is suspended: giving up access is never refused (else
  // a suspended courier's logout left a credential that worked again once the courier was reinstated).
  devices.delete('/current', requireRole({ ...deps.auth, suspendedDevices: 'admit' }, 'courier'), deps.limit, async (_req, res) => {
    const p = principal(res) as Extract<Principal, { role: 'courier' }>;
    if (!p.device)
      throw new WaybillError('conflict', "this is the courier's own credential, not a paired device's: an operator revokes it (waybill couriers revoke)");
    const now = deps.now();
    await couriers.revokeDevice(p.id, p.device, now);
    await deps.audit.append({ at: now.toISOString(), actor: actorOf(p), action: 'device_revoke', outcome: 'ok', requestId: requestId(res), detail: { courier: p.id, device: p.device } });
    res.status(204).end();
  });
  return { couriers: admin, devices };
}
