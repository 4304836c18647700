import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nextDay } from './business-time';
import { dueDays, lastDueDay, readDeliveryMarker, REPORT_DELIVERY_MARKER, ReportDeliveryMarkerError, writeDeliveryMarker } from './report-delivery';

describe('the days due for report delivery', () => {
  it('makes a day due once the clock passes its 24:00 UTC+8 close plus the delay', () => {
    expect(lastDueDay(new Date('2026-11-27T15:59:59.999Z'), 0)).toBe('2026-11-26'); // 23:59:59.999 UTC+8 on the 27th
    expect(lastDueDay(new Date('2026-11-27T16:00:00.000Z'), 0)).toBe('2026-11-27');
    expect(lastDueDay(new Date('2026-11-27T16:29:59.999Z'), 30 * 60_000)).toBe('2026-11-26');
    expect(lastDueDay(new Date('2026-11-27T16:30:00.000Z'), 30 * 60_000)).toBe('2026-11-27');
  });

  it('answers every day from the first through the last due one, and none before the first has closed', () => {
    expect(dueDays('2026-11-27', new Date('2026-11-27T15:00:00Z'), 0)).toEqual({ days: [], skipped: 0 });
    expect(dueDays('2026-02-27', new Date('2026-03-01T16:00:00Z'), 0)).toEqual({ days: ['2026-02-27', '2026-02-28', '2026-03-01'], skipped: 0 });
    expect(nextDay('2028-02-28')).toBe('2028-02-29');
  });

  it('catches up at most the last 7 days (Alipay keeps a file 7 days on SFTP, spec §13.1)', () => {
    const { days, skipped } = dueDays('2026-11-01', new Date('2026-11-30T16:00:00Z'), 0);
    expect(skipped).toBe(23);
    expect(days).toEqual(['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30']);
  });
});

describe('the delivery marker', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'sandbox-marker-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is absent until the first delivery, then holds the last delivered day', async () => {
    expect(await readDeliveryMarker(dir)).toBeUndefined();
    await writeDeliveryMarker(dir, { deliveredThrough: '2026-11-27' });
    expect(await readDeliveryMarker(dir)).toEqual({ deliveredThrough: '2026-11-27' });
    expect(JSON.parse(readFileSync(path.join(dir, REPORT_DELIVERY_MARKER), 'utf8'))).toEqual({ deliveredThrough: '2026-11-27' });
  });

  it.each([['not json'], ['{"deliveredThrough":"27/11/2026"}'], ['null']])('refuses a marker holding %s, naming the file', async (content) => {
    writeFileSync(path.join(dir, REPORT_DELIVERY_MARKER), content);
    const read = readDeliveryMarker(dir);
    await expect(read).rejects.toBeInstanceOf(ReportDeliveryMarkerError);
    await expect(read).rejects.toThrow(REPORT_DELIVERY_MARKER);
  });
});
