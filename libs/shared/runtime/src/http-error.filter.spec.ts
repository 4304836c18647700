import { Writable } from 'node:stream';
import type { ArgumentsHost } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { createLogger } from '@upm/shared-observability';
import { ApiError } from './api-error';
import { HttpErrorFilter } from './http-error.filter';

function answer(exception: unknown) {
  const logged: unknown[] = [];
  const logger = createLogger('gateway', 'info', new Writable({ write(chunk, _e, done) { logged.push(JSON.parse(String(chunk))); done(); } }));
  const res = { statusCode: 0, headers: {} as Record<string, string>, body: undefined as unknown, headersSent: false };
  const response = {
    get headersSent() { return res.headersSent; },
    setHeader: (name: string, value: string) => (res.headers[name] = value),
    status(code: number) { res.statusCode = code; return this; },
    json(body: unknown) { res.body = body; return this; },
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new HttpErrorFilter(logger).catch(exception, host);
  return { ...res, logged };
}

describe('HttpErrorFilter', () => {
  it.each([
    ['an idempotency lock another attempt still holds', Object.assign(new Error('lock pay:{m}:o is held by another holder'), { code: 'LOCK.UNAVAILABLE' })],
    ['Redis gone', new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.')],
    ['Redis connection closed', new Error('Connection is closed.')],
    ['a saturated pool', new Error('timeout exceeded when trying to connect')],
  ])('answers 503 UNAVAILABLE with Retry-After to %s: the POS retries the same request', (_what, error) => {
    const { statusCode, headers, body } = answer(error);
    expect([statusCode, headers['Retry-After'], body]).toEqual([503, '1', { error: { code: 'UNAVAILABLE', message: 'temporarily unavailable; retry the same request' } }]);
  });

  it('answers anything unexpected 500 INTERNAL without its details, and logs it', () => {
    const { statusCode, body, logged } = answer(new TypeError('x is undefined'));
    expect([statusCode, body]).toEqual([500, { error: { code: 'INTERNAL', message: 'internal error' } }]);
    expect(logged).toHaveLength(1);
  });

  it('never logs the parameters of a failed query, where a payment code may travel', () => {
    const command = JSON.stringify({ type: 'RequestPayment', data: { paymentCode: '281012020000000000000000' } });
    const failed = new QueryFailedError('INSERT INTO outbox …', ['pay_1', command], new Error('canceling statement due to statement timeout'));
    const { statusCode, logged } = answer(failed);
    expect(statusCode).toBe(500);
    expect(JSON.stringify(logged)).toContain('statement timeout');
    expect(JSON.stringify(logged)).not.toContain('281012020000000000000000');
  });

  it('keeps the Retry-After an ApiError chose', () => {
    const { statusCode, headers } = answer(new ApiError(503, 'OVERLOADED', 'the platform is behind; retry', undefined, 2));
    expect([statusCode, headers['Retry-After']]).toEqual([503, '2']);
  });
});
