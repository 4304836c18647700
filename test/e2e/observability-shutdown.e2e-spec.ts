import { sleep } from '@upm/shared-testing';
import { Platform, startPlatform } from './support/platform';
import { Answer, PosClient } from './support/pos-client';

/** A rolling deploy sends SIGTERM under load: in-flight work drains or resumes, and no answered payment is lost. */
let platform: Platform;
let pos: PosClient;
const hkd = (value: string) => ({ currency: 'HKD', value });

beforeAll(async () => {
  platform = await startPlatform('obs_drain', 3740);
  pos = await platform.onboard('Temple Street Tea');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

interface Sent {
  merchantOrderId: string;
  status?: number;
  paymentId?: string;
  error?: string;
}

describe('SIGTERM during load', () => {
  it('the orchestrator and then the connector stop cleanly mid-load, and every answered payment ends final, charged once', async () => {
    const sent: Sent[] = [];
    const refused: Answer[] = [];
    let loading = true;
    const worker = async (n: number) => {
      while (loading) {
        const entry: Sent = { merchantOrderId: PosClient.orderId(`drain${n}`) };
        sent.push(entry);
        try {
          const answer = await pos.payRetrying({ merchantOrderId: entry.merchantOrderId, amount: hkd(String(100 + sent.length)), paymentCode: PosClient.code('00'), waitSeconds: 2 }, refused, 15);
          entry.status = answer.status;
          entry.paymentId = answer.body.paymentId;
        } catch (error) {
          entry.error = String(error);
        }
      }
    };
    const load = Promise.all([1, 2, 3].map(worker));

    try {
      for (const app of ['payment-orchestrator', 'alipay-connector'] as const) {
        await sleep(1500);
        const service = platform.services.get(app)!;
        const code = await service.stop('SIGTERM');
        expect({ app, code }).toEqual({ app, code: 0 });
        expect(service.logs.some((l) => l.msg === 'stopped')).toBe(true);
        expect(service.logs.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
        await sleep(500);
        await platform.start(app);
      }
      await sleep(1500);
    } finally {
      // the workers end even when an expectation above failed
      loading = false;
      await load;
    }

    const answered = sent.filter((s) => s.paymentId && (s.status === 200 || s.status === 201 || s.status === 202));
    expect(answered.length).toBeGreaterThanOrEqual(10);
    // the gateway stayed up: every request got an answer; while a service was down it may have shed new
    // payments, always as a retryable 503 OVERLOADED, and the same request went through on a retry
    expect(sent.filter((s) => !s.paymentId)).toEqual([]);
    expect(refused.filter((r) => (r.body as { error?: { code?: string } }).error?.code !== 'OVERLOADED' || !r.headers.get('retry-after'))).toEqual([]);

    const outcomes = await Promise.all(answered.map(async (s) => {
      const payment = await pos.final(s.paymentId!, 25);
      const book = await platform.sandboxPayment(s.paymentId!);
      return { paymentId: s.paymentId, status: payment.status, charged: book?.status === 'SUCCESS', pays: book?.calls.pay ?? 0 };
    }));
    const unfinished = outcomes.filter((o) => !['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(o.status));
    expect(unfinished).toEqual([]);
    // charged exactly once: a SUCCEEDED payment is one SUCCESS in Alipay's books, anything else holds no money
    const mismatched = outcomes.filter((o) => (o.status === 'SUCCEEDED') !== o.charged);
    expect(mismatched).toEqual([]);
    // a healthy wallet code: the saga may cancel one whose answer came too late, but the load went through
    expect(outcomes.filter((o) => o.status === 'SUCCEEDED').length).toBeGreaterThanOrEqual(answered.length - 3);
    for (const o of outcomes) expect(o.pays).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
