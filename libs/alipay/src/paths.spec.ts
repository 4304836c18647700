import { amsPath, apiOfPath, isSandboxClientId } from './paths';
import { formatAmsTime } from './time';

describe('AMS paths', () => {
  it('uses /ams/sandbox/api for sandbox client ids (spec §2.1)', () => {
    expect(isSandboxClientId('SANDBOX_5YBZ1N2YJ4XQ01234')).toBe(true);
    expect(isSandboxClientId('5YBZ1N2YJ4XQ01234')).toBe(false);
    expect(amsPath('pay', false)).toBe('/ams/api/v1/payments/pay');
    expect(amsPath('inquiryRefund', true)).toBe('/ams/sandbox/api/v1/payments/inquiryRefund');
  });

  it('recognises both variants and nothing else', () => {
    expect(apiOfPath('/ams/api/v1/payments/cancel')).toEqual({ api: 'cancel', sandbox: false });
    expect(apiOfPath('/ams/sandbox/api/v1/payments/inquiryPayment?x=1')).toEqual({ api: 'inquiryPayment', sandbox: true });
    expect(apiOfPath('/ams/api/v1/payments/capture')).toBeUndefined();
    expect(apiOfPath('/ams/api/v2/payments/pay')).toBeUndefined();
  });
});

describe('AMS timestamps', () => {
  it('are ISO-8601 with the UTC+8 offset by default, without milliseconds', () => {
    const instant = new Date('2024-05-31T16:30:02.123Z');
    expect(formatAmsTime(instant)).toBe('2024-06-01T00:30:02+08:00');
    expect(formatAmsTime(instant, 0)).toBe('2024-05-31T16:30:02+00:00');
    expect(formatAmsTime(instant, -420)).toBe('2024-05-31T09:30:02-07:00');
  });
});
