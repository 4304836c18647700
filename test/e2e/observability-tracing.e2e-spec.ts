import { eventually } from '@upm/shared-testing';
import { OtlpReceiver, ReceivedSpan, SpanKind } from './support/otlp-receiver';
import { Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';

/** One payment is one trace: POS request → gateway → Kafka → orchestrator → Kafka → connector → AMS (sandbox). */
let platform: Platform;
let pos: PosClient;
const receiver = new OtlpReceiver();
const hkd = (value: string) => ({ currency: 'HKD', value });

beforeAll(async () => {
  const endpoint = await receiver.start(3799);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' };
  platform = await startPlatform('obs_trace', 3700, {
    'alipay-sandbox': otel, 'payment-orchestrator': otel, 'alipay-connector': otel, 'terminal-gateway': otel,
  });
  pos = await platform.onboard('Lantern Noodles');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await receiver.stop();
});

describe('a payment is one trace', () => {
  it('crosses gateway, Kafka, orchestrator, Kafka, connector and the sandbox with one trace id, including Postgres and Redis', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('trace'), amount: hkd('420'), paymentCode: PosClient.code('00') });
    expect(created.body.status).toBe('SUCCEEDED');
    const { paymentId } = created.body;

    const accepted = platform.services.get('terminal-gateway')!.logs.filter((l) => l.paymentId === paymentId && l.msg === 'payment accepted');
    expect(accepted).toHaveLength(1);
    const traceId = String(accepted[0].traceId);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const isAmsPay = (s: ReceivedSpan) => s.service === 'alipay-sandbox' && s.kind === SpanKind.SERVER && String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? s.name).includes('/payments/pay');
    const spans = await eventually(async () => {
      const found = receiver.trace(traceId);
      // the POS request's span ends last: it answers once the result is back
      const done = found.some(isAmsPay)
        && found.some((s) => s.service === 'payment-orchestrator' && s.name === 'alipay.v1.results process' && s.attributes['upm.message.type'] === 'PayResult')
        && found.some((s) => s.service === 'terminal-gateway' && s.kind === SpanKind.SERVER && !s.parentSpanId);
      return done ? found : undefined;
    }, 20_000, 200);

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const chain: ReceivedSpan[] = [];
      for (let parent = span.parentSpanId && byId.get(span.parentSpanId); parent; parent = parent.parentSpanId && byId.get(parent.parentSpanId)) chain.push(parent);
      return chain;
    };

    // the POS request is the root
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots).toHaveLength(1);
    expect(roots[0]).toMatchObject({ service: 'terminal-gateway', kind: SpanKind.SERVER });
    expect(String(roots[0].attributes['http.route'] ?? roots[0].name)).toContain('/v1/payments');
    // every span's parent was exported too: nothing in the chain is missing
    for (const span of spans) if (span.parentSpanId) expect(byId.has(span.parentSpanId)).toBe(true);

    // the gateway's work in that request reaches Postgres and Redis
    const gatewayDb = spans.filter((s) => s.service === 'terminal-gateway' && s.kind === SpanKind.CLIENT && s.attributes['db.system.name'] === 'postgresql');
    const gatewayRedis = spans.filter((s) => s.service === 'terminal-gateway' && s.kind === SpanKind.CLIENT && s.attributes['db.system.name'] === 'redis');
    expect(gatewayDb.length).toBeGreaterThan(0);
    expect(gatewayRedis.length).toBeGreaterThan(0);

    // orchestrator consumes the command under the gateway's request
    const orchestratorCommand = spans.find((s) => s.service === 'payment-orchestrator' && s.kind === SpanKind.CONSUMER && s.name === 'payments.v1.commands process');
    expect(orchestratorCommand).toBeDefined();
    expect(ancestors(orchestratorCommand!)).toContain(roots[0]);
    expect(spans.some((s) => s.service === 'payment-orchestrator' && s.attributes['db.system.name'] === 'postgresql' && ancestors(s).includes(orchestratorCommand!))).toBe(true);

    // connector consumes the AMS command under the orchestrator's handling: the call in one step, recording its answer in the next
    const connectorStep = (step: 'prepare' | 'process') =>
      spans.find((s) => s.service === 'alipay-connector' && s.kind === SpanKind.CONSUMER && s.name === `alipay.v1.commands ${step}`);
    const connectorCall = connectorStep('prepare');
    const connectorCommand = connectorStep('process');
    expect(connectorCall).toBeDefined();
    expect(connectorCommand).toBeDefined();
    expect(ancestors(connectorCall!)).toContain(orchestratorCommand);
    expect(ancestors(connectorCommand!)).toContain(orchestratorCommand);

    // the AMS call leaves the connector as an HTTP client span and is served by the sandbox as its child
    const amsServer = spans.filter(isAmsPay);
    expect(amsServer).toHaveLength(1);
    const amsClient = byId.get(amsServer[0].parentSpanId!)!;
    expect(amsClient).toMatchObject({ service: 'alipay-connector', kind: SpanKind.CLIENT });
    expect(ancestors(amsClient)).toContain(connectorCall);

    // the result comes back to the orchestrator in the same trace: the pay answer the connector recorded, and
    // Alipay's notification of the same payment (sent while serving the pay call), whichever of the two came first
    const orchestratorResult = (type: string) =>
      spans.find((s) => s.service === 'payment-orchestrator' && s.name === 'alipay.v1.results process' && s.attributes['upm.message.type'] === type);
    expect(orchestratorResult('PayResult')).toBeDefined();
    expect(ancestors(orchestratorResult('PayResult')!)).toContain(connectorCommand);
    const notified = orchestratorResult('PaymentNotified');
    if (notified) expect(ancestors(notified)).toContain(amsServer[0]);

    // every log line written while handling the payment carries the trace id
    for (const app of ['terminal-gateway', 'payment-orchestrator', 'alipay-connector'] as const) {
      const lines = platform.services.get(app)!.logs.filter((l) => l.paymentId === paymentId);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatchObject({ traceId, spanId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    }
  }, 60_000);
});
