/** Alipay China Standard Time, the zone of AMS timestamps, cancel windows and report days. */
export const UTC8_OFFSET_MINUTES = 480;

/** ISO-8601 with an explicit offset and no milliseconds, as AMS bodies carry it: `2024-06-01T12:06:00+08:00`. */
export function formatAmsTime(date: Date, offsetMinutes: number = UTC8_OFFSET_MINUTES): string {
  const shifted = new Date(date.getTime() + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${shifted.toISOString().slice(0, 19)}${offset}`;
}
