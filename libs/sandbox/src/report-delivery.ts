import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { businessDay, businessDayBounds, isValidDay, nextDay } from './business-time';

/**
 * Alipay writes day T's report files by itself on T+1, after the day's 23:59:59 UTC+8 cut-off (spec §13.1).
 * The sandbox does the same when SANDBOX_REPORT_DELIVERY is on: once its clock passes a day's close plus
 * the delivery delay, it writes that day's files as `POST /sandbox/reports` would, once.
 *
 * What was delivered is kept in a marker file in the report folder (the sandbox's state is memory only), so
 * a restart neither writes a delivered day again nor skips a day that closed while it was down. The marker
 * is not a `.csv`, so a report reader walking the folder passes it by.
 */
export const REPORT_DELIVERY_MARKER = '.sandbox-report-delivery.json';
/** the longest catch-up: Alipay may remove files older than 7 days from SFTP (spec §13.1) */
export const REPORT_DELIVERY_MAX_CATCH_UP_DAYS = 7;

export interface DeliveryMarker {
  /** the last UTC+8 day whose files were delivered, `YYYY-MM-DD` */
  deliveredThrough: string;
}

/** The marker file holds something other than a delivered day: delivery stops rather than guess. */
export class ReportDeliveryMarkerError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`the report delivery marker ${file} is unreadable (${detail}); fix or delete it to resume delivery`);
    this.name = 'ReportDeliveryMarkerError';
  }
}

/** The last day whose close plus `delayMs` the clock has passed. */
export function lastDueDay(now: Date, delayMs: number): string {
  const openDay = businessDay(new Date(now.getTime() - delayMs));
  return businessDay(new Date(businessDayBounds(openDay).start.getTime() - 1));
}

/**
 * The days to deliver now, oldest first: from `first` through the last due day, at most the newest
 * REPORT_DELIVERY_MAX_CATCH_UP_DAYS of them; `skipped` counts the older ones left out.
 */
export function dueDays(first: string, now: Date, delayMs: number): { days: string[]; skipped: number } {
  const last = lastDueDay(now, delayMs);
  const days: string[] = [];
  for (let day = first; day <= last; day = nextDay(day)) days.push(day);
  const skipped = Math.max(0, days.length - REPORT_DELIVERY_MAX_CATCH_UP_DAYS);
  return { days: days.slice(skipped), skipped };
}

export async function readDeliveryMarker(dir: string): Promise<DeliveryMarker | undefined> {
  const file = path.resolve(dir, REPORT_DELIVERY_MARKER);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ReportDeliveryMarkerError(file, (error as Error).message);
  }
  const day = (parsed as Partial<DeliveryMarker> | null)?.deliveredThrough;
  if (typeof day !== 'string' || !isValidDay(day)) throw new ReportDeliveryMarkerError(file, 'deliveredThrough is not a calendar day YYYY-MM-DD');
  return { deliveredThrough: day };
}

/** Writes the marker whole or not at all: a crash mid-write leaves the previous one. */
export async function writeDeliveryMarker(dir: string, marker: DeliveryMarker): Promise<void> {
  const file = path.resolve(dir, REPORT_DELIVERY_MARKER);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.partial`, `${JSON.stringify(marker)}\n`, 'utf8');
  await rename(`${file}.partial`, file);
}
