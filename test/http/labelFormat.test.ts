// Content negotiation of labels: q-values honoured, a `dpi` parameter read, and a type the client refused
// (q=0) never chosen for a wildcard, since a label answered is a print recorded.

import { negotiate } from '../../src/http/labelFormat';

const asked = (accept: string | undefined, fallback: 'pdf' | 'json' = 'pdf') => negotiate({ get: () => accept } as never, {}, fallback);

describe('label format negotiation', () => {
  it('answers the best type the client takes, the fallback for none or a wildcard', () => {
    expect(asked(undefined)).toEqual({ format: 'pdf' });
    expect(asked('*/*', 'json')).toEqual({ format: 'json' });
    expect(asked('application/pdf;q=0.5, image/png;dpi=300')).toEqual({ format: 'png', dpi: 300 });
    expect(asked('text/zpl; dpi=300')).toEqual({ format: 'zpl', dpi: 300 });
  });

  it('never answers a wildcard with a type the client refused', () => {
    expect(asked('application/pdf;q=0, */*')).toEqual({ format: 'png' });
    expect(asked('application/pdf;q=0, application/*')).toMatchObject({ format: expect.not.stringMatching(/^pdf$/) });
    expect(asked('application/json;q=0, */*', 'json')).toEqual({ format: 'pdf' });
    expect(asked('*/*, application/pdf;q=0', 'pdf').format).not.toBe('pdf');
  });

  it('refuses with 406 when nothing it makes is acceptable', () => {
    expect(() => asked('image/gif')).toThrow(expect.objectContaining({ code: 'not_acceptable' }));
    expect(() => asked('application/pdf;q=0')).toThrow(expect.objectContaining({ code: 'not_acceptable' }));
  });
});
