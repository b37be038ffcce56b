// Who is calling: one bearer header for every role. API keys (`wbk_…`) carry warehouse, printer or admin;
// courier (`wbc_…`, or a paired device's `wbd_…`) and telephony (`wbt_…`) credentials carry their own role. Routes then say which
// roles they admit; a warehouse or printer key only ever sees its own client's waybills.

import { WaybillError } from '../errors';
import type { NextFunction, Request, Response } from 'express';
import type { Principal, Role } from '../auth/apiKey';
import { CredentialRefused } from '../auth/authFailure';
import type { ApiKeyStore } from '../auth/apiKeyStore';
import type { CourierStore } from '../couriers/courierStore';
import { TELEPHONY_SUSPENDED, type TelephonyClients } from '../relay/telephonyClients';
import type { WaybillRecord } from '../waybills/waybillStore';
import { stationCustodian } from '../stations/station';
import { STATION_SUSPENDED } from '../stations/stationHandoff';
import type { StationStore } from '../stations/stationStore';
import type { AuthThrottle } from './authThrottle';
import type { SuspendedRefusals } from '../audit/refusalTally';

export interface AuthDeps {
  apiKeys: ApiKeyStore;
  couriers: CourierStore;
  telephony: TelephonyClients;
  /** Where a station's suspension is kept (absent where the station routes are not served). */
  stations?: Pick<StationStore, 'suspension'>;
  /** Counts refused credentials and throttles their source addresses (absent in some tests). */
  throttle?: AuthThrottle;
  /** Admit a suspended courier's paired device (only to give up its access: its own log-out). */
  suspendedDevices?: 'admit';
  /** Records a suspended station's, courier's or telephony client's refused request (absent in some tests). */
  refused?: SuspendedRefusals;
}

export function bearer(req: Request): string | undefined {
  return bearerOf(req.get('authorization'));
}

/** The credential of an Authorization header value, when it is `Bearer <credential>`. */
export function bearerOf(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
}

export async function principalOf(deps: AuthDeps, credential: string | undefined, requestId?: string): Promise<Principal | undefined> {
  const suspended = async (actor: string, error: WaybillError) => {
    await deps.refused?.(actor, requestId);
    return error;
  };
  if (!credential) return undefined;
  if (credential.startsWith('wbk_')) {
    const key = await deps.apiKeys.authenticate(credential);
    if (!key) return undefined;
    if (key.role === 'station') {
      if (await deps.stations?.suspension(key.station!)) throw await suspended(`station:${key.id}`, new WaybillError('suspended', STATION_SUSPENDED));
      return { role: 'station', id: key.id, station: key.station! };
    }
    return key.role === 'admin' ? { role: 'admin', id: key.id } : { role: key.role, id: key.id, client: key.client! };
  }
  if (credential.startsWith('wbc_') || credential.startsWith('wbd_')) {
    const courier = await deps.couriers.authenticate(credential);
    if (!courier) return undefined;
    // The same answer for both; only a revoked credential counts as failed authentication.
    if (courier.revokedAt) throw new CredentialRefused('forbidden', 'this courier may not act now');
    if (courier.suspendedAt && !(deps.suspendedDevices === 'admit' && courier.deviceId))
      throw await suspended(`courier:${courier.id}`, new WaybillError('forbidden', 'this courier may not act now'));
    return { role: 'courier', id: courier.id, carrier: courier.carrier, ...(courier.deviceId ? { device: courier.deviceId } : {}) };
  }
  if (credential.startsWith('wbt_')) {
    const client = await deps.telephony.authenticate(credential);
    if (client?.suspendedAt) throw await suspended(`telephony:${client.id}`, new WaybillError('suspended', TELEPHONY_SUSPENDED));
    return client && { role: 'telephony', id: client.id };
  }
  return undefined;
}

/**
 * For the routes that check one kind of credential themselves (scans: couriers; relay: telephony): the
 * answer to a credential they refused that is valid for another role, 403 as on every other route and no
 * failed authentication; undefined when it is no valid credential at all.
 */
export async function otherRoleRefusal(deps: AuthDeps | undefined, credential: string | undefined, role: Role, requestId?: string): Promise<WaybillError | undefined> {
  if (!deps || !credential || ROLE_PREFIXES[role]?.some((prefix) => credential.startsWith(prefix))) return undefined;
  const principal = await principalOf(deps, credential, requestId);
  return principal && principal.role !== role ? new WaybillError('forbidden', `this needs the role: ${role}`) : undefined;
}

/** The credential prefixes of the roles whose routes check their own credentials. */
const ROLE_PREFIXES: Partial<Record<Role, string[]>> = { courier: ['wbc_', 'wbd_'], telephony: ['wbt_'] };

/** Admits only the given roles; the principal is then in `res.locals.principal`. */
export function requireRole(deps: AuthDeps, ...roles: Role[]) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const principal = await principalOf(deps, bearer(req), res.locals.requestId as string);
      if (!principal) throw new CredentialRefused('unauthenticated', 'a valid API key is required (Authorization: Bearer …)');
      if (!roles.includes(principal.role)) throw new WaybillError('forbidden', `this needs one of the roles: ${roles.join(', ')}`);
      res.locals.principal = principal;
      next();
    } catch (e) {
      if (e instanceof CredentialRefused && deps.throttle) deps.throttle.refused(req, res, e).then(next, next);
      else next(e);
    }
  };
}

/** Whether a principal may see a waybill. Others get "not found", so ids of other clients leak nothing. */
export function canSee(p: Principal, w: WaybillRecord): boolean {
  if (p.role === 'admin') return true;
  if (p.role === 'warehouse' || p.role === 'printer') return w.clientId === p.client;
  if (p.role === 'courier') return w.carrier === p.carrier;
  // A station sees (to post `delivered`) only the parcels it holds.
  if (p.role === 'station') return w.custodian === stationCustodian(p.station);
  return false;
}
