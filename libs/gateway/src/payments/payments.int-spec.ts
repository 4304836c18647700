import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { createEnvelope, PaymentStatus, PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { RedisLocks } from '@upm/shared-redis';
import { freshDatabase, sleep, testLogger } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import type { TerminalContext } from '../registry/registry.service';
import { PaymentUpdates } from './payment-updates';
import { PaymentsService } from './payments.service';

/** The POS side of payments against the real PostgreSQL and Redis: what the gateway accepts, refuses and sends on. */
let dataSource: DataSource;
let redis: Redis;
let payments: PaymentsService;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_payments', GATEWAY_DATABASE));
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
  // connected, as the service's is before it listens: until then payments and refunds are refused
  await redis.ping();
  payments = new PaymentsService(dataSource, new RedisLocks(redis, `test:${Date.now()}:lock:`), redis, new PaymentUpdates(redis), testLogger());
});

afterAll(async () => {
  await redis.quit();
  await dataSource.destroy();
});

const terminal: TerminalContext = {
  terminalId: 'ter_ps_1', keyId: 'key_ps_1', storeId: 'sto_ps', storeName: 'Store', storeMcc: '5411', merchantId: 'mer_ps', merchantName: 'Merchant', merchantMcc: '5411',
};
let orders = 0;

async function newPayment(): Promise<PaymentViewV1> {
  const body = { merchantOrderId: `order-ps-${orders++}`, amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000090' };
  return (await payments.create(terminal, body)).payment;
}

/** The orchestrator's view of the payment after its `sequence`-th event. */
const viewOf = (payment: PaymentViewV1, status: PaymentStatus, sequence: number, refunded = '0'): PaymentViewV1 => ({
  ...payment, status, sequence, refundedAmount: { currency: 'HKD', value: refunded }, alipay: { paymentRequestId: payment.paymentId },
});

async function apply(type: string, payment: PaymentViewV1, refund?: RefundViewV1): Promise<void> {
  const envelope = createEnvelope({ type, key: payment.paymentId, data: refund ? { payment, refund } : { payment }, producer: 'payment-orchestrator', correlationId: payment.paymentId });
  await dataSource.transaction((manager) => payments.applyEvent(manager, envelope));
}

async function cancelCommands(paymentId: string): Promise<number> {
  const [{ count }] = await dataSource.query("SELECT count(*)::int AS count FROM outbox WHERE key = $1 AND type = 'CancelPayment'", [paymentId]);
  return count;
}

describe('cancel', () => {
  it('passes on a cashier\'s repeated abort while the payment Alipay would not cancel is being refunded back, as the cancel it is', async () => {
    const payment = await newPayment();
    await apply('PaymentCreated', viewOf(payment, 'PROCESSING', 0));
    await apply('PaymentProcessing', viewOf(payment, 'PROCESSING', 1));
    // the POS aborted; Alipay answered CANCEL_WINDOW_EXCEED and the payment turned out paid: the saga refunds it in full
    const reversal: RefundViewV1 = {
      paymentId: payment.paymentId, refundId: `rev_${payment.paymentId}`, refundRequestId: `rev_${payment.paymentId}`, amount: payment.amount, status: 'PROCESSING', origin: 'CANCEL_FALLBACK',
    };
    await apply('RefundRequested', viewOf(payment, 'PROCESSING', 2), reversal);

    const answered = await payments.cancel(terminal, payment.paymentId);
    expect(answered.payment).toMatchObject({ paymentId: payment.paymentId, status: 'PROCESSING' });
    expect(await cancelCommands(payment.paymentId)).toBe(1);

    // the reversal went through twice over (cancelled as well): an operator owns it, and the POS is not told to refund
    await apply('RefundSucceeded', viewOf(payment, 'NEEDS_REVIEW', 3, '1250'), { ...reversal, status: 'SUCCEEDED' });
    expect((await payments.cancel(terminal, payment.paymentId)).payment).toMatchObject({ status: 'NEEDS_REVIEW' });
  });

  it('refuses to void a sale the merchant has refunded part of', async () => {
    const payment = await newPayment();
    await apply('PaymentCreated', viewOf(payment, 'PROCESSING', 0));
    await apply('PaymentSucceeded', viewOf(payment, 'SUCCEEDED', 1));
    await payments.refund(terminal, payment.paymentId, { refundRequestId: 'R-1', amount: { currency: 'HKD', value: '250' } });

    await expect(payments.cancel(terminal, payment.paymentId)).rejects.toMatchObject({ status: 422, code: 'PAYMENT_NOT_CANCELLABLE' });
    expect(await cancelCommands(payment.paymentId)).toBe(0);
  });
});

describe('a void and a refund of one payment at once', () => {
  it('never sends the void after a refund it did not see, which the orchestrator would drop while the POS waits for it', async () => {
    const payment = await newPayment();
    await apply('PaymentCreated', viewOf(payment, 'PROCESSING', 0));
    await apply('PaymentSucceeded', viewOf(payment, 'SUCCEEDED', 1));
    // the refund of another till is accepted just after the void found the payment without refunds
    const service = payments as unknown as { hasMerchantRefunds: (...args: unknown[]) => Promise<boolean> };
    const check = service.hasMerchantRefunds;
    let refunding: Promise<unknown> | undefined;
    const spy = jest.spyOn(service, 'hasMerchantRefunds').mockImplementation(async (...args: unknown[]) => {
      const found = await check.apply(payments, args);
      refunding ??= payments.refund(terminal, payment.paymentId, { refundRequestId: 'R-void', amount: { currency: 'HKD', value: '250' } });
      await sleep(300);
      return found;
    });
    try {
      await payments.cancel(terminal, payment.paymentId);
      await refunding;
    } finally {
      spy.mockRestore();
    }

    // the orchestrator takes one payment's commands in this order: the void first, and the refund it then refuses
    const commands: Array<{ type: string }> = await dataSource.query('SELECT type FROM outbox WHERE key = $1 ORDER BY seq', [payment.paymentId]);
    expect(commands.map((c) => c.type)).toEqual(['RequestPayment', 'CancelPayment', 'RequestRefund']);
  });
});

describe('idempotency without the Redis lock', () => {
  /** a lock that excludes no one, as when Redis failed over or a holder's lease ran out: the database alone must decide */
  const lost = { withLock: (_name: string, _options: unknown, work: () => Promise<unknown>) => work() } as unknown as RedisLocks;
  const unlocked = () => new PaymentsService(dataSource, lost, redis, new PaymentUpdates(redis), testLogger());

  it('answers concurrent duplicates of a refund with the one refund, and sends it on once', async () => {
    const payment = await newPayment();
    await apply('PaymentCreated', viewOf(payment, 'PROCESSING', 0));
    await apply('PaymentSucceeded', viewOf(payment, 'SUCCEEDED', 1));
    const service = unlocked();
    for (const refundRequestId of ['R-race-1', 'R-race-2', 'R-race-3']) {
      const body = { refundRequestId, amount: { currency: 'HKD', value: '250' } };
      const answers = await Promise.all(Array.from({ length: 10 }, () => service.refund(terminal, payment.paymentId, body)));
      expect(new Set(answers.map((a) => a.refund.refundId)).size).toBe(1);
      expect(answers.filter((a) => a.created)).toHaveLength(1);
      await expect(service.refund(terminal, payment.paymentId, { ...body, amount: { currency: 'HKD', value: '251' } })).rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    }
    const [{ count }] = await dataSource.query("SELECT count(*)::int AS count FROM outbox WHERE key = $1 AND type = 'RequestRefund'", [payment.paymentId]);
    expect(count).toBe(3);
  });

  it('answers concurrent duplicates of a payment with the one payment, and sends it on once', async () => {
    const service = unlocked();
    const body = { merchantOrderId: `order-ps-race-${orders++}`, amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000000' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => service.create(terminal, body)));
    expect(new Set(answers.map((a) => a.payment.paymentId)).size).toBe(1);
    expect(answers.filter((a) => a.created)).toHaveLength(1);
    const [{ count }] = await dataSource.query("SELECT count(*)::int AS count FROM outbox WHERE key = $1 AND type = 'RequestPayment'", [answers[0].payment.paymentId]);
    expect(count).toBe(1);
  });
});

describe('a payment or refund the read model inserted from an event (the gateway\'s own row lost, e.g. restored from a backup)', () => {
  /** a payment this gateway never recorded a request for: its row comes from the orchestrator's events alone */
  async function restoredPayment(merchantOrderId: string): Promise<PaymentViewV1> {
    const payment: PaymentViewV1 = {
      paymentId: `pay_rs_${orders++}`, merchantOrderId, merchantId: terminal.merchantId, storeId: terminal.storeId, terminalId: terminal.terminalId,
      amount: { currency: 'HKD', value: '1250' }, status: 'PROCESSING', refundedAmount: { currency: 'HKD', value: '0' }, sequence: 0,
      createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z',
    };
    await apply('PaymentCreated', viewOf(payment, 'PROCESSING', 0));
    await apply('PaymentSucceeded', viewOf(payment, 'SUCCEEDED', 1));
    return viewOf(payment, 'SUCCEEDED', 1);
  }
  const commands = async (type: string): Promise<number> => {
    const [{ count }] = await dataSource.query('SELECT count(*)::int AS count FROM outbox WHERE type = $1', [type]);
    return count;
  };

  it('refuses a payment request under its order id as an idempotency conflict, whatever its body, and sends nothing: its request cannot be compared', async () => {
    const payment = await restoredPayment(`order-rs-${orders++}`);
    const before = await commands('RequestPayment');
    // the view holds neither the payment code nor the description: a retry cannot be told from a new sale under a reused order id
    for (const body of [
      { merchantOrderId: payment.merchantOrderId, amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000000' },
      { merchantOrderId: payment.merchantOrderId, amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000011', description: '2 x coffee' },
      { merchantOrderId: payment.merchantOrderId, amount: { currency: 'HKD', value: '1251' }, paymentCode: '281012020000000000000000' },
      { merchantOrderId: payment.merchantOrderId, amount: { currency: 'MOP', value: '1250' }, paymentCode: '281012020000000000000000' },
    ]) {
      await expect(payments.create(terminal, body)).rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT', message: expect.stringContaining('GET /v1/payments?merchantOrderId=') });
    }
    expect(await commands('RequestPayment')).toBe(before);
    expect(await dataSource.query('SELECT payment_id FROM payments WHERE merchant_order_id = $1', [payment.merchantOrderId])).toEqual([{ payment_id: payment.paymentId }]);
    expect(await payments.findByOrder(terminal, payment.merchantOrderId)).toMatchObject({ paymentId: payment.paymentId, status: 'SUCCEEDED' });
  });

  it('answers a retry of a refund with the same amount with the stored refund, whatever its reason, and refuses another amount', async () => {
    const payment = await restoredPayment(`order-rs-${orders++}`);
    const refund: RefundViewV1 = {
      paymentId: payment.paymentId, refundId: `ref_rs_${orders++}`, refundRequestId: `R-rs-${orders++}`, amount: { currency: 'HKD', value: '250' }, status: 'SUCCEEDED', origin: 'MERCHANT',
    };
    await apply('RefundSucceeded', viewOf(payment, 'SUCCEEDED', 2, '250'), refund);
    const before = await commands('RequestRefund');

    for (const reason of [undefined, 'damaged']) {
      const answer = await payments.refund(terminal, payment.paymentId, { refundRequestId: refund.refundRequestId, amount: { currency: 'HKD', value: '250' }, reason });
      expect(answer).toEqual({ refund: expect.objectContaining({ refundId: refund.refundId, status: 'SUCCEEDED' }), created: false });
    }
    await expect(payments.refund(terminal, payment.paymentId, { refundRequestId: refund.refundRequestId, amount: { currency: 'HKD', value: '251' } }))
      .rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
    expect(await commands('RequestRefund')).toBe(before);
  });

  it('never answers a refund of the merchant\'s with the refund the saga made to reverse a sale, though it has the same refundRequestId and amount', async () => {
    const payment = await restoredPayment(`order-rs-${orders++}`);
    const reversal: RefundViewV1 = {
      paymentId: payment.paymentId, refundId: `rev_${payment.paymentId}`, refundRequestId: `rev_${payment.paymentId}`, amount: payment.amount, status: 'PROCESSING', origin: 'CANCEL_FALLBACK',
    };
    await apply('RefundRequested', viewOf(payment, 'SUCCEEDED', 2), reversal);

    await expect(payments.refund(terminal, payment.paymentId, { refundRequestId: reversal.refundRequestId, amount: payment.amount }))
      .rejects.toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
  });
});
