/**
 * What the notification integration specs share: options to build the services with, the services as the module
 * builds them, payment events for the consumer, a merchant's endpoint on 127.0.0.1, and the worker's metrics as
 * numbers. Each spec keeps its own database (freshDatabase) and says in place what it sets apart from these.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DataSource } from 'typeorm';
import { createEnvelope, Envelope, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import type { Metrics } from '@upm/shared-observability';
import { LoopbackServer, testLogger } from '@upm/shared-testing';
import type { NotificationOptions } from '../notification.options';
import { SecretBox } from '../webhooks/secret-box';
import type { WebhookPayload } from '../webhooks/webhook-deliveries.consumer';
import { WebhookEndpointsService } from '../webhooks/webhook-endpoints.service';
import { WebhookWorker } from '../webhooks/webhook.worker';

export const HOUR = 3_600_000;

/**
 * Options for a test: retries from 10 s on over an hour, a pool of 10 with 4 per endpoint, 5 s per request,
 * signing secrets stored readable, and endpoints on 127.0.0.1 allowed (the receivers listen there).
 */
export function testOptions(overrides: Partial<NotificationOptions> = {}): NotificationOptions {
  return {
    adminToken: 'test-admin-token',
    retry: { baseDelayMs: 10_000, maxDelayMs: HOUR, horizonMs: HOUR },
    requestTimeoutMs: 5000,
    workerConcurrency: 10,
    perEndpointConcurrency: 4,
    pollIntervalMs: 50,
    secretOverlapMs: 60_000,
    secretKeys: [],
    allowPrivateAddresses: true,
    logRetentionDays: 30,
    ...overrides,
  };
}

/** The endpoints service as the module builds it, sealing secrets with `keys` (none: stored readable). */
export function endpointsService(dataSource: DataSource, options: NotificationOptions, keys: Buffer[] = []): WebhookEndpointsService {
  return new WebhookEndpointsService(dataSource, options, new SecretBox(keys), testLogger('notification'));
}

/** A worker as the module builds it, counting into `metrics` (one registry a spec reads back). */
export function webhookWorker(dataSource: DataSource, options: NotificationOptions, metrics: Metrics): WebhookWorker {
  return new WebhookWorker(dataSource, options, testLogger('notification'), new SecretBox([]), metrics);
}

type PaymentEventType = 'PaymentCreated' | 'PaymentProcessing' | 'PaymentSucceeded';

/** A payment event of the contract's example, for this merchant and payment; `sequence` is the example's unless given. */
export function paymentEvent(type: PaymentEventType, merchantId: string, paymentId: string, sequence?: number): Envelope<{ payment: Record<string, unknown> }, PaymentEventType> {
  const example = MESSAGE_EXAMPLES[TOPICS.paymentEvents.name][type] as { payment: Record<string, unknown> };
  const payment = { ...example.payment, merchantId, paymentId, ...(sequence === undefined ? {} : { sequence }) };
  return createEnvelope({ type, key: paymentId, data: { ...example, payment }, producer: 'payment-orchestrator' });
}

/** The sum of the metric's values whose labels include `labels` (0 before anything was counted). */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const values = (await metric.get()).values.filter((v) => Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value));
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** The metric's values by one of its labels, as counted so far. */
export async function metricValuesBy(metrics: Metrics, name: string, label: string): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return {};
  return Object.fromEntries((await metric.get()).values.map((v) => [String(v.labels[label]), v.value]));
}

export interface ReceivedRequest {
  eventId: string;
  /** the `Upm-Delivery-Attempt` header */
  attempt: number;
  payload: WebhookPayload;
}

/** An answer that never comes: the request hangs until the sender gives up. */
export const hang = (): Promise<number> => new Promise<number>(() => undefined);

/**
 * A merchant's endpoint on 127.0.0.1: records every request, answers the status `respond` gives for it (once its
 * promise settles; never, with `hang`), keeps the event ids it answered 2xx, and counts the requests open at once.
 */
export class WebhookReceiver extends LoopbackServer {
  readonly requests: ReceivedRequest[] = [];
  /** event ids answered with a 2xx, in the order answered */
  readonly delivered: string[] = [];
  respond: (request: ReceivedRequest) => number | Promise<number> = () => 200;
  open = 0;
  mostOpen = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** The payloads received, in order. */
  get payloads(): WebhookPayload[] {
    return this.requests.map((r) => r.payload);
  }

  protected onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.open += 1;
    this.mostOpen = Math.max(this.mostOpen, this.open);
    res.on('close', () => (this.open -= 1));
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      const request: ReceivedRequest = { eventId: String(req.headers['upm-event-id']), attempt: Number(req.headers['upm-delivery-attempt']), payload: JSON.parse(body) as WebhookPayload };
      this.requests.push(request);
      void Promise.resolve(this.respond(request)).then((status) => {
        if (status >= 200 && status < 300) this.delivered.push(request.eventId);
        res.writeHead(status).end();
      });
    });
  }
}
