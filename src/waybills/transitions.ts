// The waybill state machine, as one table: which event may follow which state, and where it leads.
// Pure; the lifecycle use case consults it and the store applies a move only if the state it was decided
// on still holds, so racing events cannot both apply.
//
//   created ──printed──▶ printed ──picked_up──▶ picked_up ──delivered──▶ delivered
//      │                    │                       │                        │
//      │ cancelled          │ cancelled             │ returned               │ returned
//      ▼                    ▼                       ▼                        │
//   cancelled            cancelled               returned ◀─────────────────┘
//
// `printed` is not posted: the first paper copy moves created → printed (savePrintJob). `assigned` (an
// outlet for pickup), `handed_over` (to another courier) and `after_sales` are annotations that keep the
// state. `arrived` (a parcel station took the parcel from the courier) is an annotation of picked_up too:
// the parcel is still on its way to the buyer, so the status stays; custody moves to the station
// (`station:<id>`), which posts `delivered` after a pickup-code/last-four match. It has its own route
// (POST /v1/stations/arrivals), so it is not a posted event. An admin correction bypasses the
// table, with a reason.

import { WaybillError } from '../errors';
import type { WaybillStatus } from './waybillStore';

export const EVENT_TYPES = ['printed', 'assigned', 'picked_up', 'handed_over', 'arrived', 'delivered', 'returned', 'cancelled', 'after_sales'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The events a client may post (`printed` comes from the print path only, `arrived` from a station's arrival). */
export const POSTED_EVENTS = EVENT_TYPES.filter((e): e is Exclude<EventType, 'printed' | 'arrived'> => e !== 'printed' && e !== 'arrived');
export type PostedEventType = (typeof POSTED_EVENTS)[number];

export const TRANSITIONS: Record<WaybillStatus, Partial<Record<EventType, WaybillStatus>>> = {
  created: { printed: 'printed', assigned: 'created', cancelled: 'cancelled' },
  printed: { assigned: 'printed', picked_up: 'picked_up', cancelled: 'cancelled' },
  // A parcel in a courier's hands is returned, not cancelled.
  picked_up: { handed_over: 'picked_up', arrived: 'picked_up', delivered: 'delivered', returned: 'returned' },
  delivered: { returned: 'returned', after_sales: 'delivered' },
  returned: { after_sales: 'returned' },
  cancelled: {},
};

/** Where `event` leads from `status`, or undefined when the table does not allow it. */
export function nextStatus(status: WaybillStatus, event: EventType): WaybillStatus | undefined {
  return TRANSITIONS[status][event];
}

/** The events a client may post in this state. */
export function allowedEvents(status: WaybillStatus): PostedEventType[] {
  return POSTED_EVENTS.filter((e) => TRANSITIONS[status][e] !== undefined);
}

/** The refusal of an event the state does not allow; states and event names are not personal data. */
export class InvalidTransition extends WaybillError {
  constructor(status: WaybillStatus, event: string) {
    const allowed = allowedEvents(status);
    super('invalid_transition', `a ${status} waybill takes no ${event} event; allowed now: ${allowed.join(', ') || 'none'}`);
    this.facts = { currentStatus: status, allowedEvents: allowed };
  }
}

/** The state `event` leads to from `status`; throws InvalidTransition when the table does not allow it. */
export function transition(status: WaybillStatus, event: EventType): WaybillStatus {
  const next = nextStatus(status, event);
  if (next === undefined) throw new InvalidTransition(status, event);
  return next;
}
