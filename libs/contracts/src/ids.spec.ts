import { newId } from './ids';

describe('newId', () => {
  it('is prefixed, 26 characters after the prefix, and ordered by time', () => {
    const a = newId('pay', 1_700_000_000_000);
    const b = newId('pay', 1_700_000_000_001);
    expect(a).toMatch(/^pay_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId('x'))).size).toBe(1000);
  });
});
