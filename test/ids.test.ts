import { z } from 'zod';
import { recordId } from '../src/ids';

describe('record ids', () => {
  it('are RFC 9562 UUIDs of version 7, which every id field of the API accepts', () => {
    for (let i = 0; i < 100; i++) {
      const id = recordId();
      expect(z.string().uuid().safeParse(id).success).toBe(true);
      expect(id[14]).toBe('7');
    }
  });

  it('sort in the order they were made, so new rows go to the end of the indexes on them', () => {
    const ids = Array.from({ length: 5000 }, recordId);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lead with the time they were made, in milliseconds', () => {
    const before = Date.now();
    const id = recordId();
    const at = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});
