/** Alipay's business day runs on UTC+8: the cancel window and the report days follow it. */
const UTC8_MS = 8 * 3600_000;
const DAY_MS = 24 * 3600_000;
const CANCEL_GRACE_MS = 15 * 60_000;

/** The UTC+8 calendar day of an instant, as `YYYY-MM-DD`. */
export function businessDay(instant: Date): string {
  return new Date(instant.getTime() + UTC8_MS).toISOString().slice(0, 10);
}

/** The instants [start, end) of a UTC+8 calendar day given as `YYYY-MM-DD`. */
export function businessDayBounds(day: string): { start: Date; end: Date } {
  const start = Date.parse(`${day}T00:00:00.000Z`) - UTC8_MS;
  return { start: new Date(start), end: new Date(start + DAY_MS) };
}

/** The calendar day after a `YYYY-MM-DD` day. */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS).toISOString().slice(0, 10);
}

/** A payment made on day T (UTC+8) can be cancelled until 00:15 UTC+8 on T+1 (spec §6). */
export function cancelDeadline(createdAt: Date): Date {
  return new Date(businessDayBounds(businessDay(createdAt)).end.getTime() + CANCEL_GRACE_MS);
}

export function isValidDay(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  const parsed = new Date(`${day}T00:00:00.000Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day;
}

export const DAY_IN_MS = DAY_MS;
