import { eventually, sleep } from '@upm/shared-testing';
import { Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';
import { scrape, Scrape } from './support/prometheus-text';

/** The counters an SRE alerts on move by exactly what one payment does. */
let platform: Platform;
let pos: PosClient;
const hkd = (value: string) => ({ currency: 'HKD', value });
const apps = ['terminal-gateway', 'payment-orchestrator', 'alipay-connector'] as const;
type App = (typeof apps)[number];

const scrapeAll = async (): Promise<Record<App, Scrape>> => {
  const [gateway, orchestrator, connector] = await Promise.all(apps.map((app) => scrape(platform.services.get(app)!.url)));
  return { 'terminal-gateway': gateway, 'payment-orchestrator': orchestrator, 'alipay-connector': connector };
};

beforeAll(async () => {
  platform = await startPlatform('obs_metrics', 3720);
  pos = await platform.onboard('Kowloon Bakery');
  // one payment first, so that every series below already exists and the next one is measured alone
  const warmup = await pos.pay({ merchantOrderId: PosClient.orderId('warm'), amount: hkd('100'), paymentCode: PosClient.code('00') });
  expect(warmup.body.status).toBe('SUCCEEDED');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('metrics of one successful payment', () => {
  it('move the payment, AMS, HTTP, outbox and consumer counters by exactly one payment', async () => {
    // the warm-up's asynchronous notifyPayment has been applied once the results consumer stops moving
    await eventually(async () => ((await scrape(platform.services.get('payment-orchestrator')!.url)).sum('kafka_messages_processed_total', { topic: 'alipay.v1.results' }) >= 2 ? true : undefined), 15_000, 200);
    await sleep(1000);
    const before = await scrapeAll();

    const created = await pos.pay({ merchantOrderId: PosClient.orderId('metrics'), amount: hkd('250'), paymentCode: PosClient.code('00') });
    expect(created.body.status).toBe('SUCCEEDED');
    // the sandbox's notifyPayment follows the answer: wait for it to reach the orchestrator, then for quiet
    await eventually(async () => {
      const now = await scrape(platform.services.get('payment-orchestrator')!.url);
      return now.sum('kafka_messages_processed_total', { topic: 'alipay.v1.results' }) - before['payment-orchestrator'].sum('kafka_messages_processed_total', { topic: 'alipay.v1.results' }) >= 2 ? true : undefined;
    }, 15_000, 200);
    await sleep(1000);
    const after = await scrapeAll();
    const delta = (app: App, name: string, labels?: Record<string, string>) => after[app].sum(name, labels) - before[app].sum(name, labels);

    // gateway: one POST /v1/payments answered 201, one command out, the read model applies the two payment events
    expect(delta('terminal-gateway', 'http_requests_total', { method: 'POST', route: '/v1/payments' })).toBe(1);
    expect(delta('terminal-gateway', 'http_requests_total', { method: 'POST', route: '/v1/payments', status: '201' })).toBe(1);
    expect(delta('terminal-gateway', 'outbox_published_total', { topic: 'payments.v1.commands' })).toBe(1);
    expect(delta('terminal-gateway', 'outbox_published_total')).toBe(1);
    expect(delta('terminal-gateway', 'kafka_messages_processed_total', { topic: 'payments.v1.events', result: 'applied' })).toBe(2);

    // orchestrator: one final SUCCEEDED, one pay command, two events; one command and two results consumed
    expect(delta('payment-orchestrator', 'upm_payments_final_total', { status: 'SUCCEEDED' })).toBe(1);
    expect(delta('payment-orchestrator', 'upm_payments_final_total')).toBe(1);
    expect(delta('payment-orchestrator', 'upm_payments_needs_review_total')).toBe(0);
    expect(delta('payment-orchestrator', 'outbox_published_total', { topic: 'alipay.v1.commands' })).toBe(1);
    expect(delta('payment-orchestrator', 'outbox_published_total', { topic: 'payments.v1.events' })).toBe(2);
    expect(delta('payment-orchestrator', 'outbox_published_total')).toBe(3);
    expect(delta('payment-orchestrator', 'kafka_messages_processed_total', { topic: 'payments.v1.commands', result: 'applied' })).toBe(1);
    expect(delta('payment-orchestrator', 'kafka_messages_processed_total', { topic: 'alipay.v1.results', result: 'applied' })).toBe(2);
    expect(delta('payment-orchestrator', 'upm_saga_step_seconds_count', { status: 'SUCCEEDED' })).toBe(1);

    // connector: one AMS pay answered S, no other AMS call; the pay result and the notification go out
    expect(delta('alipay-connector', 'upm_alipay_requests_total', { endpoint: 'pay', outcome: 'S' })).toBe(1);
    expect(delta('alipay-connector', 'upm_alipay_requests_total')).toBe(1);
    expect(delta('alipay-connector', 'upm_alipay_request_seconds_count', { endpoint: 'pay', outcome: 'S' })).toBe(1);
    expect(delta('alipay-connector', 'outbox_published_total', { topic: 'alipay.v1.results' })).toBe(2);
    expect(delta('alipay-connector', 'outbox_published_total')).toBe(2);
    expect(delta('alipay-connector', 'kafka_messages_processed_total', { topic: 'alipay.v1.commands', result: 'applied' })).toBe(1);

    // nothing failed anywhere
    for (const app of apps) expect(delta(app, 'kafka_messages_failed_total')).toBe(0);
  }, 60_000);

  it('report consumer lag per owned partition, back to zero once everything is consumed, and an empty outbox', async () => {
    const expected: Record<App, Array<{ group: string; topic: string }>> = {
      'terminal-gateway': [{ group: 'terminal-gateway.read-model', topic: 'payments.v1.events' }],
      'payment-orchestrator': [{ group: 'payment-orchestrator.commands', topic: 'payments.v1.commands' }, { group: 'payment-orchestrator.results', topic: 'alipay.v1.results' }],
      'alipay-connector': [{ group: 'alipay-connector.commands', topic: 'alipay.v1.commands' }],
    };
    // the lag is read at most every 5 s, so a scrape may show the value from a moment ago
    const metrics = await eventually(async () => {
      const all = await scrapeAll();
      const settled = apps.every((app) => all[app].series('kafka_consumer_lag_messages').length > 0 && all[app].sum('kafka_consumer_lag_messages') === 0);
      return settled ? all : undefined;
    }, 20_000, 500);
    for (const app of apps) {
      const series = metrics[app].series('kafka_consumer_lag_messages');
      for (const { group, topic } of expected[app]) {
        const partitions = series.filter((s) => s.labels.group === group && s.labels.topic === topic);
        expect(partitions.length).toBeGreaterThan(0);
        for (const s of partitions) expect(s.labels.partition).toMatch(/^\d+$/);
      }
      // one member per group here: each partition of a topic is reported once
      const keys = series.map((s) => `${s.labels.group}/${s.labels.topic}/${s.labels.partition}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(metrics[app].sum('outbox_backlog_messages')).toBe(0);
      expect(metrics[app].sum('outbox_oldest_age_seconds')).toBe(0);
      // the inbox pruner runs in every service that consumes (nothing is old enough to prune yet)
      expect(metrics[app].series('kafka_inbox_pruned_total').map((s) => s.value)).toEqual([0]);
    }
  }, 60_000);
});
