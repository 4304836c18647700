import { BACKOFF_AFTER_FAILURES, backoffUntil, endpointHealth } from './endpoint-backoff';

describe('endpoint back-off', () => {
  it('counts timeouts, connection errors and 5xx against the endpoint, and any other answer as the endpoint being up', () => {
    expect(endpointHealth({ failure: { code: 'ENDPOINT_TIMEOUT', detail: 'no answer within 10000 ms' } })).toBe('down');
    expect(endpointHealth({ failure: { code: 'ENDPOINT_UNREACHABLE', detail: 'ECONNREFUSED' } })).toBe('down');
    expect(endpointHealth({ failure: { code: 'ENDPOINT_CONNECTION_CLOSED', detail: 'ECONNRESET' } })).toBe('down');
    expect(endpointHealth({ statusCode: 503, failure: { code: 'ENDPOINT_REJECTED', detail: 'HTTP 503' } })).toBe('down');
    expect(endpointHealth({ statusCode: 200 })).toBe('up');
    expect(endpointHealth({ statusCode: 404, failure: { code: 'ENDPOINT_REJECTED', detail: 'HTTP 404' } })).toBe('up');
    expect(endpointHealth({ statusCode: 301, failure: { code: 'ENDPOINT_REDIRECTED', detail: 'HTTP 301' } })).toBe('up');
  });

  it('says nothing about the endpoint when nothing was sent to it', () => {
    expect(endpointHealth({ failure: { code: 'ENDPOINT_NOT_PUBLIC', detail: '127.0.0.1 is a loopback address' } })).toBeUndefined();
    expect(endpointHealth({ failure: { code: 'SIGNING_SECRET_UNREADABLE', detail: 'no key opens it' } })).toBeUndefined();
  });

  it('holds an endpoint back from its third failure in a row, for longer after each further one, up to the retry maximum', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 8000, horizonMs: 60_000 };
    const now = 1_000_000;
    expect(backoffUntil(policy, BACKOFF_AFTER_FAILURES - 1, now)).toBeUndefined();
    expect(backoffUntil(policy, BACKOFF_AFTER_FAILURES, now, () => 1)!.getTime() - now).toBe(1000);
    expect(backoffUntil(policy, BACKOFF_AFTER_FAILURES + 1, now, () => 1)!.getTime() - now).toBe(2000);
    expect(backoffUntil(policy, BACKOFF_AFTER_FAILURES + 2, now, () => 0)!.getTime() - now).toBe(2000);
    expect(backoffUntil(policy, BACKOFF_AFTER_FAILURES + 40, now, () => 1)!.getTime() - now).toBe(8000);
  });
});
