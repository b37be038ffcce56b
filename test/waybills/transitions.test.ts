// The state machine's rules, checked against the one table they live in.

import { EVENT_TYPES, InvalidTransition, POSTED_EVENTS, TRANSITIONS, allowedEvents, nextStatus, transition } from '../../src/waybills/transitions';
import { WAYBILL_STATUSES } from '../../src/waybills/waybillStore';

const reachedBy = (event: (typeof EVENT_TYPES)[number]) => WAYBILL_STATUSES.filter((s) => nextStatus(s, event) !== undefined);

describe('waybill state machine', () => {
  it('has a row for every state', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...WAYBILL_STATUSES].sort());
  });

  it('moves created → printed → picked_up → delivered | returned, and returned also after delivered', () => {
    expect(nextStatus('created', 'printed')).toBe('printed');
    expect(nextStatus('printed', 'picked_up')).toBe('picked_up');
    expect(nextStatus('picked_up', 'delivered')).toBe('delivered');
    expect(nextStatus('picked_up', 'returned')).toBe('returned');
    expect(nextStatus('delivered', 'returned')).toBe('returned');
  });

  it('cancels only before pickup: a parcel in a courier’s hands is returned, not cancelled', () => {
    expect(reachedBy('cancelled')).toEqual(['created', 'printed']);
  });

  it('takes after_sales only after delivered or returned, keeping the state', () => {
    expect(reachedBy('after_sales')).toEqual(['delivered', 'returned']);
    for (const s of reachedBy('after_sales')) expect(nextStatus(s, 'after_sales')).toBe(s);
  });

  it('keeps the state on annotations: an outlet assigned before pickup, a hand-over while picked up', () => {
    expect(reachedBy('assigned')).toEqual(['created', 'printed']);
    expect(reachedBy('handed_over')).toEqual(['picked_up']);
    for (const e of ['assigned', 'handed_over'] as const) for (const s of reachedBy(e)) expect(nextStatus(s, e)).toBe(s);
  });

  it('ends for good at cancelled, and nothing but the print path leads to printed', () => {
    expect(allowedEvents('cancelled')).toEqual([]);
    expect(POSTED_EVENTS).not.toContain('printed');
    for (const s of WAYBILL_STATUSES) expect(allowedEvents(s)).not.toContain('printed');
  });

  it('refuses everything else with invalid_transition, naming the current state and the allowed events', () => {
    for (const s of WAYBILL_STATUSES)
      for (const e of EVENT_TYPES) {
        if (nextStatus(s, e) !== undefined) {
          expect(transition(s, e)).toBe(TRANSITIONS[s][e]);
          continue;
        }
        let error: unknown;
        try {
          transition(s, e);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(InvalidTransition);
        expect(error).toMatchObject({ code: 'invalid_transition', facts: { currentStatus: s, allowedEvents: allowedEvents(s) } });
      }
  });
});
