import { businessDay, businessDayBounds, cancelDeadline, isValidDay } from './business-time';

describe('the UTC+8 business day', () => {
  it('starts at 16:00 UTC of the day before', () => {
    expect(businessDay(new Date('2026-11-26T15:59:59.999Z'))).toBe('2026-11-26');
    expect(businessDay(new Date('2026-11-26T16:00:00.000Z'))).toBe('2026-11-27');
    expect(businessDayBounds('2026-11-27')).toEqual({ start: new Date('2026-11-26T16:00:00.000Z'), end: new Date('2026-11-27T16:00:00.000Z') });
  });

  it('lets a payment be cancelled until 00:15 UTC+8 on the next day (spec §6)', () => {
    const deadline = new Date('2026-11-27T16:15:00.000Z');
    expect(cancelDeadline(new Date('2026-11-26T16:00:00.000Z'))).toEqual(deadline); // 00:00 UTC+8
    expect(cancelDeadline(new Date('2026-11-27T15:59:59.000Z'))).toEqual(deadline); // 23:59:59 UTC+8
    expect(cancelDeadline(new Date('2026-11-27T16:00:00.000Z'))).toEqual(new Date('2026-11-28T16:15:00.000Z'));
  });

  it('recognises calendar days only', () => {
    expect(isValidDay('2028-02-29')).toBe(true);
    expect(isValidDay('2026-02-29')).toBe(false);
    expect(isValidDay('2026-1-01')).toBe(false);
    expect(isValidDay('yesterday')).toBe(false);
  });
});
