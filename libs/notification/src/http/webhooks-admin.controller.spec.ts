import { ApiError } from '@upm/shared-runtime';
import type { WebhookEndpointsService } from '../webhooks/webhook-endpoints.service';
import type { WebhookWorker } from '../webhooks/webhook.worker';
import { WebhooksAdminController } from './webhooks-admin.controller';

/** The refusal the admin API answers, as the caller reads it; the endpoints service is never reached. */
async function refusal(call: (controller: WebhooksAdminController) => unknown): Promise<Array<{ field: string; code: string }>> {
  const endpoints = new Proxy({}, { get: () => () => Promise.reject(new Error('a refused request reached the endpoints service')) });
  const controller = new WebhooksAdminController(endpoints as WebhookEndpointsService, {} as WebhookWorker);
  try {
    await call(controller);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    return ((error as ApiError).details as Array<{ field: string; code: string }>).map(({ field, code }) => ({ field, code }));
  }
  throw new Error('the request was accepted');
}

describe('the webhooks admin API refuses a request', () => {
  it('calling a field that is absent REQUIRED', async () => {
    expect(await refusal((c) => c.create('m1', {}))).toEqual([
      { field: 'url', code: 'REQUIRED' },
      { field: 'eventTypes', code: 'REQUIRED' },
    ]);
    expect(await refusal((c) => c.create('m1', undefined))).toEqual([
      { field: 'url', code: 'REQUIRED' },
      { field: 'eventTypes', code: 'REQUIRED' },
    ]);
  });

  it('calling a field sent with the wrong type INVALID_VALUE, not REQUIRED', async () => {
    // the caller did send the URL and the event types, only not as a string and a list
    expect(await refusal((c) => c.create('m1', { url: 123, eventTypes: 'x' }))).toEqual([
      { field: 'url', code: 'INVALID_VALUE' },
      { field: 'eventTypes', code: 'INVALID_VALUE' },
    ]);
    expect(await refusal((c) => c.create('m1', { url: 'https://example.com/hooks', eventTypes: ['*', 7], description: false }))).toEqual([
      { field: 'eventTypes.1', code: 'INVALID_VALUE' },
      { field: 'description', code: 'INVALID_VALUE' },
    ]);
    expect(await refusal((c) => c.rotate('m1', 'we_1', { overlapSeconds: '60' }))).toEqual([{ field: 'overlapSeconds', code: 'INVALID_VALUE' }]);
  });

  it('calling a field it does not know UNKNOWN_FIELD and a value out of range INVALID_VALUE', async () => {
    expect(await refusal((c) => c.create('m1', { url: 'https://example.com/hooks', eventTypes: ['*'], secret: 's' }))).toEqual([{ field: '(body)', code: 'UNKNOWN_FIELD' }]);
    expect(await refusal((c) => c.create('m1', { url: 'ftp://example.com/hooks', eventTypes: ['NoSuchEvent'] }))).toEqual([
      { field: 'url', code: 'INVALID_VALUE' },
      { field: 'eventTypes.0', code: 'INVALID_VALUE' },
    ]);
    expect(await refusal((c) => c.deliveries('m1', 'we_1', { limit: '0' }))).toEqual([{ field: 'limit', code: 'INVALID_VALUE' }]);
    expect(await refusal((c) => c.create('m 1', { url: 'https://example.com/hooks', eventTypes: ['*'] }))).toEqual([{ field: '(body)', code: 'INVALID_VALUE' }]);
  });

  it('to change an endpoint with nothing to change, or with a field it does not know or of the wrong type', async () => {
    expect(await refusal((c) => c.update('m1', 'we_1', {}))).toEqual([{ field: '(body)', code: 'INVALID_VALUE' }]);
    // the secret is not something to change (rotate it), and nothing else was given
    expect(await refusal((c) => c.update('m1', 'we_1', { secret: 'whsec_x' }))).toEqual([
      { field: '(body)', code: 'UNKNOWN_FIELD' },
      { field: '(body)', code: 'INVALID_VALUE' },
    ]);
    expect(await refusal((c) => c.update('m1', 'we_1', { enabled: 'no', url: 'ftp://example.com/hooks', eventTypes: [] }))).toEqual([
      { field: 'url', code: 'INVALID_VALUE' },
      { field: 'eventTypes', code: 'INVALID_VALUE' },
      { field: 'enabled', code: 'INVALID_VALUE' },
    ]);
  });

  it('to re-deliver dead letters with a filter it does not know or a time that is not one', async () => {
    expect(await refusal((c) => c.redeliverDeadLetters('m1', 'we_1', { status: 'DELIVERED' }))).toEqual([{ field: '(body)', code: 'UNKNOWN_FIELD' }]);
    expect(await refusal((c) => c.redeliverDeadLetters('m1', 'we_1', { since: 'yesterday', paymentId: '' }))).toEqual([
      { field: 'paymentId', code: 'INVALID_VALUE' },
      { field: 'since', code: 'INVALID_VALUE' },
    ]);
  });

  it('calling a delivery-log filter it does not know UNKNOWN_FIELD, rather than listing every delivery unfiltered', async () => {
    expect(await refusal((c) => c.deliveries('m1', 'we_1', { payment_id: 'pay_1' }))).toEqual([{ field: '(body)', code: 'UNKNOWN_FIELD' }]);
    expect(await refusal((c) => c.deliveries('m1', 'we_1', { status: 'FAILED' }))).toEqual([{ field: 'status', code: 'INVALID_VALUE' }]);
  });
});
