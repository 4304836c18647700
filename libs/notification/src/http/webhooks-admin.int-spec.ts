import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import { ADMIN_TOKEN, AdminTokenGuard, RuntimeModule } from '@upm/shared-runtime';
import { freshDatabase } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from '../database';
import { NOTIFICATION_OPTIONS } from '../notification.options';
import { testOptions } from '../testing/webhook-test-kit';
import { SecretBox } from '../webhooks/secret-box';
import { WebhookEndpointsService } from '../webhooks/webhook-endpoints.service';
import { WebhookWorker } from '../webhooks/webhook.worker';
import { WebhooksAdminController } from './webhooks-admin.controller';

/** The webhooks admin API served by its real controller and PostgreSQL, to an operator over HTTP. */
const ADMIN = 'webhooks-admin-token';
const options = testOptions({ adminToken: ADMIN, workerConcurrency: 1, perEndpointConcurrency: 1, pollIntervalMs: 60_000 });
let dataSource: DataSource;
let app: NestExpressApplication;
let baseUrl: string;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_webhooks_admin', NOTIFICATION_DATABASE));

  @Module({
    imports: [RuntimeModule.forRoot({ service: 'notification', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    controllers: [WebhooksAdminController],
    providers: [
      { provide: DataSource, useValue: dataSource }, { provide: NOTIFICATION_OPTIONS, useValue: options }, { provide: ADMIN_TOKEN, useValue: ADMIN },
      { provide: SecretBox, useValue: new SecretBox([]) }, { provide: WebhookWorker, useValue: { wake: () => undefined } }, AdminTokenGuard, WebhookEndpointsService,
    ],
  })
  class WebhooksAdminModule {}

  app = await NestFactory.create<NestExpressApplication>(WebhooksAdminModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
  await dataSource.destroy();
});

type Answer = { status: number; body: { error?: { code: string; details?: Array<{ field: string; code: string }> } } & Record<string, unknown> };

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: response.status === 204 ? {} : ((await response.json()) as Answer['body']) };
}

describe('a body that is not JSON', () => {
  it('is refused with 415 UNSUPPORTED_MEDIA_TYPE, not read as a form nor as a body without fields, and makes nothing', async () => {
    const send = async (contentType: string, body: string) => {
      const response = await fetch(`${baseUrl}/v1/admin/merchants/mer_form/webhooks`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': contentType }, body });
      return { status: response.status, body: (await response.json()) as Answer['body'] };
    };
    const form = 'url=http%3A%2F%2F127.0.0.1%3A9%2Fhooks&eventTypes[]=*';
    for (const [contentType, body] of [['application/x-www-form-urlencoded', form], ['text/plain', JSON.stringify({ url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] })]]) {
      expect(await send(contentType, body)).toEqual({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('application/json') } } });
    }
    expect(await dataSource.query("SELECT id FROM webhook_endpoints WHERE merchant_id = 'mer_form'")).toEqual([]);
  });
});

describe('input no database can hold', () => {
  // PostgreSQL stores neither a NUL character nor half of a surrogate pair, in text or in jsonb
  const unstorable = ['a\u0000b', 'a\ud800b'];

  it('refuses it in a description with 400 and the field, and creates or changes nothing', async () => {
    const created = await call('POST', '/v1/admin/merchants/mer_nul/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] });
    expect(created.status).toBe(201);
    const endpointId = String(created.body.endpointId);
    for (const description of unstorable) {
      const create = await call('POST', '/v1/admin/merchants/mer_nul/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'], description });
      expect(create).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: 'description', code: 'INVALID_VALUE' }] } } });
      const update = await call('PATCH', `/v1/admin/merchants/mer_nul/webhooks/${endpointId}`, { description });
      expect(update).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: 'description', code: 'INVALID_VALUE' }] } } });
    }
    expect(await dataSource.query("SELECT id, description FROM webhook_endpoints WHERE merchant_id = 'mer_nul'")).toEqual([{ id: endpointId, description: null }]);
  });

  it('refuses it in a URL with 400 and the field, and creates or changes nothing', async () => {
    const created = await call('POST', '/v1/admin/merchants/mer_nul_url/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] });
    const endpointId = String(created.body.endpointId);
    for (const url of ['http://127.0.0.1:9/a\u0000b', 'http://127.0.0.1:9/a\ud800b']) {
      const create = await call('POST', '/v1/admin/merchants/mer_nul_url/webhooks', { url, eventTypes: ['*'] });
      expect(create).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: 'url', code: 'INVALID_VALUE' }] } } });
      const update = await call('PATCH', `/v1/admin/merchants/mer_nul_url/webhooks/${endpointId}`, { url });
      expect(update).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: 'url', code: 'INVALID_VALUE' }] } } });
    }
    expect(await dataSource.query("SELECT id, url FROM webhook_endpoints WHERE merchant_id = 'mer_nul_url'")).toEqual([{ id: endpointId, url: 'http://127.0.0.1:9/hooks' }]);
  });

  it('answers 400 to a merchant id no merchant can have, on every route as on the one that creates an endpoint', async () => {
    const created = await call('POST', '/v1/admin/merchants/mer_nul_merchant/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] });
    const endpointId = String(created.body.endpointId);
    for (const [method, path, body] of [
      ['POST', '/v1/admin/merchants/mer%00x/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] }],
      ['GET', '/v1/admin/merchants/mer%00x/webhooks'],
      ['GET', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}`],
      ['PATCH', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}`, { enabled: false }],
      ['DELETE', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}`],
      ['POST', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}/rotate-secret`, {}],
      ['GET', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}/deliveries`],
      ['POST', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}/deliveries/redeliver`, {}],
      ['GET', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}/deliveries/whd_1`],
      ['POST', `/v1/admin/merchants/mer%00x/webhooks/${endpointId}/deliveries/whd_1/redeliver`],
    ] as Array<[string, string, unknown?]>) {
      const answer = await call(method, path, body);
      expect([method, path, answer.status, answer.body.error?.code]).toEqual([method, path, 400, 'VALIDATION_FAILED']);
    }
  });

  it('answers 404 to a path id no endpoint or delivery can have, and 400 to such a filter', async () => {
    const created = await call('POST', '/v1/admin/merchants/mer_nul_ids/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['*'] });
    const endpoint = `/v1/admin/merchants/mer_nul_ids/webhooks/${String(created.body.endpointId)}`;
    for (const [method, path] of [
      ['GET', '/v1/admin/merchants/mer_nul_ids/webhooks/whe%00x'],
      ['PATCH', '/v1/admin/merchants/mer_nul_ids/webhooks/whe%00x'],
      ['POST', '/v1/admin/merchants/mer_nul_ids/webhooks/whe%00x/rotate-secret'],
      ['GET', '/v1/admin/merchants/mer_nul_ids/webhooks/whe%00x/deliveries'],
      ['POST', '/v1/admin/merchants/mer_nul_ids/webhooks/whe%00x/deliveries/redeliver'],
      ['DELETE', '/v1/admin/merchants/mer_nul_ids/webhooks/whe%00x'],
      ['GET', `${endpoint}/deliveries/whd%00x`],
      ['POST', `${endpoint}/deliveries/whd%00x/redeliver`],
    ]) {
      const body = method === 'PATCH' ? { enabled: true } : undefined;
      expect([method, path, (await call(method, path, body)).status]).toEqual([method, path, 404]);
    }
    for (const query of ['paymentId=pay%00x', 'before=whd%00x']) {
      const answer = await call('GET', `${endpoint}/deliveries?${query}`);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: query.split('=')[0], code: 'INVALID_VALUE' }] } } });
    }
    const redeliver = await call('POST', `${endpoint}/deliveries/redeliver`, { paymentId: 'pay\u0000x' });
    expect(redeliver).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: 'paymentId', code: 'INVALID_VALUE' }] } } });
    // a year 0 is an ISO 8601 time that PostgreSQL has no timestamp for
    const since = await call('POST', `${endpoint}/deliveries/redeliver`, { since: '0000-01-01T00:00:00Z' });
    expect(since).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED', details: [{ field: 'since', code: 'INVALID_VALUE' }] } } });
    expect(await call('POST', `${endpoint}/deliveries/redeliver`, { since: '0001-01-01T00:00:00Z' })).toEqual({ status: 202, body: { redelivered: 0 } });
  });
});
