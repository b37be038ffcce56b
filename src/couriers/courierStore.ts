// Courier identities: issue, list, suspend, revoke and check bearer credentials, over a repository that
// stores rows only. Only the hash of a credential's secret is stored; the text exists once, in `add`'s result.

import { bindingHolds, checkRows, credentialBinding, newCredential, newCredentialId, parseCredential, reinstatedBinding, rowIntact, secretMatches, type BoundState, type CredentialTampered, type RowCheck } from '../auth/credentials';
import { WaybillError } from '../errors';
import { issuesFromZod } from '../validation/zodIssues';
import { isActive, parseNewCourier, type Courier, type NewCourier } from './courier';
import { DEVICE_TOUCH_MS, DeviceName, MAX_DEVICES, PAIRING_MINUTES, hashPairingCode, newPairingCode, normalisePairingCode, type CourierDevice } from './courierDevice';

/** A courier as stored: the courier, the hash of its credential's secret and the row's binding (null once revoked). */
export interface StoredCourier extends Courier {
  credentialHash: Buffer;
  binding: Buffer | null;
}

/** A paired device as stored: the device, the hash of its credential's secret and the row's binding (null once revoked). */
export interface StoredDevice extends CourierDevice {
  secretHash: Buffer;
  binding: Buffer | null;
}

/** A pairing code as stored: only its hash. */
export interface StoredPairing {
  codeHash: string;
  courierId: string;
  createdAt: string;
  expiresAt: string;
}

/**
 * What a redeem did: paired the device; refused it (unknown, expired or used code, courier not active);
 * hit the device limit; or drew a device id already taken (nothing written in those three).
 */
export type RedeemOutcome = { outcome: 'paired'; courierId: string } | { outcome: 'refused' | 'limit' | 'id_taken' };

/** A courier as a credential proves it: with the paired device, when a device credential (wbd_) was presented. */
export interface AuthenticatedCourier extends Courier {
  deviceId?: string;
}

/** Where couriers live (one implementation for both databases, in src/store/). Times are ISO-8601 text. */
export interface CourierRepository {
  /** Saves a new courier; false (nothing written) when its id is already taken. */
  insert(courier: StoredCourier): Promise<boolean>;
  /** Every courier, oldest first (ties by id, bytewise). */
  list(): Promise<Courier[]>;
  findById(id: string): Promise<StoredCourier | undefined>;
  /** Sets the revocation time unless one is set, and drops the binding; false only for an unknown id. */
  revoke(id: string, at: string): Promise<boolean>;
  /** Sets suspension time and reason unless already suspended, and the binding; false for an unknown or revoked id. */
  suspend(id: string, at: string, reason: string, binding: Buffer | null): Promise<boolean>;
  /** Clears any suspension and sets the binding; false for an unknown or revoked id. */
  reinstate(id: string, binding: Buffer): Promise<boolean>;
  /** Couriers and devices not revoked, with their bindings (none yet for those an earlier release made). */
  live(): Promise<{ couriers: StoredCourier[]; devices: StoredDevice[] }>;
  /** Sets the binding of a row that has none. */
  bind(row: { courier: string } | { device: string }, binding: Buffer): Promise<void>;
  /** False for an unknown or revoked id. */
  setPhoneHash(id: string, phoneHash: string): Promise<boolean>;
  /** Whether a courier neither revoked nor suspended has this phone hash. */
  hasActivePhone(phoneHash: string): Promise<boolean>;
  /** Saves a pairing code's hash and drops the courier's earlier unused codes, in one transaction. */
  insertPairing(pairing: StoredPairing): Promise<void>;
  /**
   * In one transaction: finds the unused, unexpired code of an active courier, checks the courier has
   * fewer than `maxDevices` unrevoked devices, marks the code used by a conditional UPDATE (of two
   * concurrent redeems exactly one gets a row) and saves the device under that courier.
   */
  redeemPairing(codeHash: string, at: string, device: Omit<StoredDevice, 'courierId' | 'binding'>, bind: (courierId: string) => Buffer, maxDevices: number): Promise<RedeemOutcome>;
  /** A courier's devices, oldest first (ties by id, bytewise), every status. */
  listDevices(courierId: string): Promise<CourierDevice[]>;
  findDevice(id: string): Promise<StoredDevice | undefined>;
  /** Sets the device's revocation time unless one is set, and drops its binding; false for a device not of this courier. */
  revokeDevice(courierId: string, deviceId: string, at: string): Promise<boolean>;
  /** Sets last_used_at to `at` unless it is already at or after `staleBefore` (so one write per period at most). */
  touchDevice(id: string, at: string, staleBefore: string): Promise<void>;
}

// 50-bit ids practically never collide, but a collision must not fail an add: a few more draws.
const ID_DRAWS = 4;

export class CourierStore {
  /**
   * `codeKey`: keys the stored hashes of pairing codes (hashPairingCode) and the rows' bindings;
   * `tampered`: told of a credential whose row no longer matches its binding (refused as unknown).
   */
  constructor(
    private readonly repo: CourierRepository,
    private readonly codeKey?: Buffer,
    private readonly tampered: CredentialTampered = async () => {},
  ) {}

  /** What binds a courier's row: its carrier, outlet and routes (what it may scan and pick up) and its state. */
  private courierBinding(c: Omit<StoredCourier, 'binding'>, state: BoundState): Buffer {
    return credentialBinding(this.codeKey, 'wbc', c.id, [c.carrier, c.outlet, JSON.stringify(c.routes), state], c.credentialHash);
  }

  private deviceBinding(d: Omit<StoredDevice, 'binding'>): Buffer {
    return credentialBinding(this.codeKey, 'wbd', d.id, [d.courierId], d.secretHash);
  }

  private intact(c: StoredCourier): boolean {
    return rowIntact(c, (state) => this.courierBinding(c, state));
  }

  /** Validates and saves a new courier with a fresh credential, returned here and never again. */
  async add(input: NewCourier, at: Date): Promise<{ courier: Courier; credential: string }> {
    // Validated here as well as at the edges, so no caller can store a courier the schema refuses.
    const c = parseNewCourier(input);
    const createdAt = at.toISOString();
    for (let draw = 0; draw < ID_DRAWS; draw++) {
      const id = newCredentialId();
      const { credential, secretHash } = newCredential(id, 'wbc');
      const courier: Courier = { ...c, id, createdAt };
      const binding = this.courierBinding({ ...courier, credentialHash: secretHash }, 'live');
      if (await this.repo.insert({ ...courier, credentialHash: secretHash, binding })) return { courier, credential };
    }
    throw new Error(`no free courier id after ${ID_DRAWS} draws`);
  }

  /** All couriers, oldest first, in every status. */
  list(): Promise<Courier[]> {
    return this.repo.list();
  }

  async get(id: string): Promise<Courier | undefined> {
    const stored = await this.repo.findById(id);
    return stored && withoutHash(stored);
  }

  /** Permanently disables a courier; idempotent (the first time is kept). False only for an unknown id. */
  revoke(id: string, at: Date): Promise<boolean> {
    return this.repo.revoke(id, at.toISOString());
  }

  /**
   * Suspends a courier until reinstated; if already suspended, the first time and reason are kept.
   * False for an unknown or a revoked courier. A row changed outside the service is suspended without a
   * binding, so that it cannot be reinstated.
   */
  async suspend(id: string, at: Date, reason: string): Promise<boolean> {
    const stored = await this.repo.findById(id);
    if (!stored || stored.revokedAt) return false;
    return this.repo.suspend(id, at.toISOString(), reason, this.intact(stored) ? this.courierBinding(stored, 'suspended') : null);
  }

  /**
   * Lifts a suspension (a no-op on an active courier). False for an unknown or a revoked courier; a
   * `conflict` for a courier whose row was changed outside the service (revoke it and add a new one).
   */
  async reinstate(id: string): Promise<boolean> {
    const stored = await this.repo.findById(id);
    if (!stored || stored.revokedAt) return false;
    return this.repo.reinstate(id, await reinstatedBinding('courier', stored, (state) => this.courierBinding(stored, state), this.tampered));
  }

  /**
   * The courier a credential belongs to, or undefined when the credential is malformed, names no
   * courier or carries the wrong secret. A valid credential of a revoked or suspended courier DOES
   * return that courier, so callers can tell "who are you?" (401) from "not now" (403) and record the
   * attempt against the courier: callers must check `isActive` / `revokedAt` / `suspendedAt`.
   * A paired device's credential (wbd_) returns its courier with `deviceId`, unless the device itself
   * is revoked: then it is unknown (undefined), as a revoked device is one lost phone, not a courier.
   */
  async authenticate(credential: string, at: Date = new Date()): Promise<AuthenticatedCourier | undefined> {
    if (credential.startsWith('wbd_')) return this.authenticateDevice(credential, at);
    const parsed = parseCredential(credential, 'wbc');
    if (!parsed) return undefined;
    // Courier ids are not secret (lists, audit lines), so an early return for an unknown id leaks
    // nothing; the secret itself is compared in constant time.
    const stored = await this.repo.findById(parsed.id);
    if (!stored || !secretMatches(parsed.secret, stored.credentialHash)) return undefined;
    return this.checked(stored);
  }

  /** The courier of a row whose secret was presented, unless its row was changed outside the service. */
  private async checked(stored: StoredCourier): Promise<Courier | undefined> {
    if (this.intact(stored)) return withoutHash(stored);
    await this.tampered('courier', stored.id);
    return undefined;
  }

  private async authenticateDevice(credential: string, at: Date): Promise<AuthenticatedCourier | undefined> {
    const parsed = parseCredential(credential, 'wbd');
    if (!parsed) return undefined;
    const device = await this.repo.findDevice(parsed.id);
    if (!device || !secretMatches(parsed.secret, device.secretHash) || device.revokedAt) return undefined;
    if (!bindingHolds(device.binding, this.deviceBinding(device))) {
      await this.tampered('device', device.id);
      return undefined;
    }
    const stored = await this.repo.findById(device.courierId);
    const courier = stored && (await this.checked(stored));
    if (!courier) return undefined;
    const staleBefore = new Date(at.getTime() - DEVICE_TOUCH_MS).toISOString();
    // Read first, write only when stale: a scan normally costs no write.
    if (!device.lastUsedAt || device.lastUsedAt < staleBefore) await this.repo.touchDevice(device.id, at.toISOString(), staleBefore);
    return { ...courier, deviceId: device.id };
  }

  /**
   * A one-use pairing code for the courier's next device, valid PAIRING_MINUTES: returned here and never
   * again (only its hash is kept). A new code voids the courier's earlier unused ones. Refused for an
   * unknown (`not_found`) or a revoked or suspended courier (`conflict`).
   */
  async pair(courierId: string, at: Date): Promise<{ code: string; expiresAt: string }> {
    const courier = await this.get(courierId);
    if (!courier) throw new WaybillError('not_found', 'unknown courier');
    if (!isActive(courier)) throw new WaybillError('conflict', `this courier is ${courier.revokedAt ? 'revoked' : 'suspended'}: no device can be paired`);
    const code = newPairingCode();
    const expiresAt = new Date(at.getTime() + PAIRING_MINUTES * 60_000).toISOString();
    await this.repo.insertPairing({ codeHash: hashPairingCode(normalisePairingCode(code)!, this.codeKey), courierId, createdAt: at.toISOString(), expiresAt });
    return { code, expiresAt };
  }

  /**
   * Pairs a device with a code: its credential (returned here and never again), the device and its
   * courier; undefined for a code that is malformed, unknown, expired or used, or whose courier is no
   * longer active. At most MAX_DEVICES unrevoked devices per courier: one more is a `conflict`, and
   * the code stays unused.
   */
  async redeem(code: string, deviceName: string, at: Date): Promise<{ device: CourierDevice; credential: string; courier: Courier } | undefined> {
    const name = DeviceName.safeParse(deviceName);
    if (!name.success) throw new WaybillError('invalid_input', 'invalid device name', issuesFromZod(name.error).map((i) => ({ ...i, path: ['name', ...i.path] })));
    const normalised = normalisePairingCode(code);
    if (!normalised) return undefined;
    const codeHash = hashPairingCode(normalised, this.codeKey);
    const createdAt = at.toISOString();
    for (let draw = 0; draw < ID_DRAWS; draw++) {
      const id = newCredentialId();
      const { credential, secretHash } = newCredential(id, 'wbd');
      const device = { id, name: name.data, createdAt };
      const bind = (courierId: string) => this.deviceBinding({ ...device, courierId, secretHash });
      const result = await this.repo.redeemPairing(codeHash, createdAt, { ...device, secretHash }, bind, MAX_DEVICES);
      if (result.outcome === 'id_taken') continue;
      if (result.outcome === 'limit')
        throw new WaybillError('conflict', `this courier already has ${MAX_DEVICES} paired devices, the most allowed: revoke one first`);
      if (result.outcome !== 'paired') return undefined;
      const courier = await this.get(result.courierId);
      return { device: { ...device, courierId: result.courierId }, credential, courier: courier! };
    }
    throw new Error(`no free device id after ${ID_DRAWS} draws`);
  }

  /** A courier's devices, oldest first, revoked ones included; never a credential or its hash. */
  async devices(courierId: string): Promise<CourierDevice[]> {
    return this.repo.listDevices(courierId);
  }

  /** One device, without its secret's hash. */
  async device(id: string): Promise<CourierDevice | undefined> {
    const stored = await this.repo.findDevice(id);
    if (!stored) return undefined;
    const { secretHash: _hash, binding: _binding, ...device } = stored;
    return device;
  }

  /** Revokes one device of the courier; idempotent (the first time is kept). False for a device not of this courier. */
  revokeDevice(courierId: string, deviceId: string, at: Date): Promise<boolean> {
    return this.repo.revokeDevice(courierId, deviceId, at.toISOString());
  }

  /** Binds the couriers and devices an earlier release made (once, on the first open with keys); how many. */
  async bindUnbound(): Promise<number> {
    const live = await this.repo.live();
    const couriers = live.couriers.filter((c) => !c.binding);
    const devices = live.devices.filter((d) => !d.binding);
    for (const c of couriers) await this.repo.bind({ courier: c.id }, this.courierBinding(c, c.suspendedAt ? 'suspended' : 'live'));
    for (const d of devices) await this.repo.bind({ device: d.id }, this.deviceBinding(d));
    return couriers.length + devices.length;
  }

  /** Every courier and device not revoked whose row was changed outside the service (`waybill audit rows`). */
  async checkRows(): Promise<{ couriers: RowCheck; devices: RowCheck }> {
    const { couriers, devices } = await this.repo.live();
    return { couriers: checkRows(couriers, (c) => this.intact(c)), devices: checkRows(devices, (d) => bindingHolds(d.binding, this.deviceBinding(d))) };
  }

  /** Registers the courier's work phone as a keyed hash (for the relay's couriers-only caller policy). */
  setPhoneHash(id: string, phoneHash: string): Promise<boolean> {
    return this.repo.setPhoneHash(id, phoneHash);
  }

  /** Whether an active courier has this phone hash. */
  isCourierPhone(phoneHash: string): Promise<boolean> {
    return this.repo.hasActivePhone(phoneHash);
  }
}

function withoutHash(stored: StoredCourier): Courier {
  const { credentialHash: _hash, binding: _binding, ...courier } = stored;
  return courier;
}
