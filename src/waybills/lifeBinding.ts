// What binds a waybill row's state to the service that wrote it. The seal holds what never changes (number,
// order, carrier, client, token); a parcel's life changes, and a scan decides on it: a delivered parcel
// opens only for its holder, a cancelled one or one past its purge for nobody. A database writer who sets
// a delivered parcel back to picked_up, names a colluding courier its holder, adds an after-sales request or
// moves its purge later would open it again. So every state the service writes carries an HMAC, under the
// token key (never in the database), of the waybill's id and its state; a row whose state lacks it is
// treated as rewritten.

import { bindingHolds, rowBinding } from '../auth/credentials';

/** The columns of a waybill row that decide who may open it, and until when. */
export interface WaybillLife {
  status: string;
  custodian: string | null;
  assignedOutlet: string | null;
  purgeAfter: string | null;
  afterSales: boolean;
}

/** HMAC-SHA256 of a waybill's id and state. Without a key (some tests, benches), an empty one. */
export function lifeBinding(key: Buffer | undefined, id: string, life: WaybillLife): Buffer {
  return rowBinding(key, 'waybill-life', [id, life.status, life.custodian, life.assignedOutlet, life.purgeAfter, life.afterSales]);
}

/** Whether a row's stored binding is the one its state calls for (constant time). */
export function lifeHolds(key: Buffer | undefined, id: string, life: WaybillLife, stored: Buffer | null | undefined): boolean {
  return bindingHolds(stored, lifeBinding(key, id, life));
}
