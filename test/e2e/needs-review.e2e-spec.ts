import { createEnvelope, TOPICS, type PaymentReviewResolvedV1 } from '@upm/contracts';
import { businessDayOf, shiftDay } from '@upm/settlement';
import { eventually, testKafka } from '@upm/shared-testing';
import { PaymentResource, PosClient } from './support/pos-client';
import { scrape } from './support/prometheus-text';
import { settlementSuite } from './support/settlement';

/**
 * A payment the saga could not settle ends NEEDS_REVIEW; settlement re-checks it against Alipay's next report
 * files and publishes PaymentReviewResolved; the orchestrator then closes it as the reports prove, and the POS,
 * the ledger and the runbook's refund all follow. Real services, the sandbox's own report files.
 */
jest.setTimeout(300_000);

// the shopper enters the PIN of scenario 90 25 s after the pay (250 s of sandbox time at SANDBOX_TIME_FACTOR 10):
// long after the saga has given up asking, its cancel was refused and its checks found nothing final
const { running, api, sandboxReports, deliver, ingest, transactions } = settlementSuite('review', 3800, { SANDBOX_PIN_DELAY_MS: '250000' });

interface SettlementPayment {
  status: string;
  sequence: number;
  reviewResolution: string | null;
}

describe('a payment in NEEDS_REVIEW, settled by Alipay\'s report files', () => {
  let pos: PosClient;
  let charged: PaymentResource;
  let uncharged: PaymentResource;
  const hkd = (value: string) => ({ currency: 'HKD', value });
  const resolutions = async (outcome: string) => (await scrape(running.platform.services.get('payment-orchestrator')!.url)).sum('upm_payments_review_resolutions_total', { outcome });
  const settlementView = async (paymentId: string) => (await api<SettlementPayment>('GET', `/v1/settlement/payments/${paymentId}`)).body;
  /** settlement has applied the payment's latest event */
  const settlementCaughtUp = (payment: PaymentResource) =>
    eventually(async () => ((await settlementView(payment.paymentId)).sequence === payment.sequence ? true : undefined), 30_000, 200);
  const inReview = async (tag: string, value: string, scenario: string): Promise<PaymentResource> => {
    const { body } = await pos.pay({ merchantOrderId: PosClient.orderId(tag), amount: hkd(value), paymentCode: PosClient.code(scenario), waitSeconds: 20 });
    return eventually(async () => ((p) => (p.status === 'PROCESSING' ? undefined : p))(await pos.final(body.paymentId)), 90_000, 10);
  };
  const deliverTransactionFiles = async (day: string) => {
    for (const file of (await sandboxReports(day)).filter((f) => f.kind === 'transactionItems')) await deliver(file.path);
  };

  it('ends in review, and a refund is refused while it is', async () => {
    pos = await running.platform.onboard('Review Noodles');
    // 90: the saga gives up, Alipay refuses the cancel, and the shopper confirms after the checks ran out
    charged = await inReview('charged', '1250', '90');
    // 89: Alipay answers neither the pay nor any cancel
    uncharged = await inReview('uncharged', '600', '89');
    expect([charged.status, charged.failure?.code, uncharged.status, uncharged.failure?.code]).toEqual(['NEEDS_REVIEW', 'CANCEL_REFUSED', 'NEEDS_REVIEW', 'CANCEL_UNKNOWN']);
    const refused = await pos.refund(charged.paymentId, { refundRequestId: PosClient.orderId('early'), amount: hkd('1250') });
    expect(refused).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_REFUNDABLE' } } });
    // Alipay took the money of the first one only
    await eventually(async () => ((await running.platform.sandboxPayment(charged.paymentId))?.status === 'SUCCESS' ? true : undefined), 60_000, 500);
    expect((await running.platform.sandboxPayment(uncharged.paymentId))?.status).toBe('PROCESSING');
    charged = (await pos.get(charged.paymentId)).body;
    expect(charged.status).toBe('NEEDS_REVIEW');
    await settlementCaughtUp(charged);
    await settlementCaughtUp(uncharged);
  });

  it('CHARGED by the report → SUCCEEDED for the POS, booked once in the ledger, and refundable in full', async () => {
    for (const day of new Set([businessDayOf(charged.createdAt), businessDayOf(uncharged.createdAt)])) await deliverTransactionFiles(day);
    expect((await ingest()).filter((f) => f.status !== 'INGESTED')).toEqual([]);
    expect(await settlementView(charged.paymentId)).toMatchObject({ reviewResolution: 'CHARGED' });

    const succeeded = await eventually(async () => ((p) => (p.status === 'SUCCEEDED' ? p : undefined))((await pos.get(charged.paymentId)).body), 30_000, 200);
    expect(succeeded).toMatchObject({ sequence: charged.sequence + 1, amount: hkd('1250') });
    expect(succeeded.failure).toBeUndefined();

    // settlement booked the charge from the report; the PaymentSucceeded that follows its resolution books nothing more
    await settlementCaughtUp(succeeded);
    expect(await settlementView(charged.paymentId)).toMatchObject({ status: 'SUCCEEDED', reviewResolution: 'CHARGED' });
    const booked = (await transactions()).filter((t) => t.paymentId === charged.paymentId);
    expect(booked.map((t) => `${t.kind} ${t.amount.value} ${t.reconciliation}`)).toEqual(['PAYMENT 1250 MATCHED']);
    expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);

    // the runbook's step, on a later day than the file just read (a day's file comes after its day: a refund dated
    // on a day whose file is in and does not list it is missing from it): refund the full amount through the POS
    // API, and Alipay pays the shopper back
    await fetch(`${running.platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 86_400_000 }) });
    const refund = await pos.refund(charged.paymentId, { refundRequestId: PosClient.orderId('review'), amount: hkd('1250'), waitSeconds: 20 });
    expect(refund).toMatchObject({ status: 201, body: { status: 'SUCCEEDED', amount: hkd('1250') } });
    expect(await running.platform.sandboxPayment(charged.paymentId)).toMatchObject({ status: 'SUCCESS', refundedAmount: hkd('1250') });
    const refunded = await eventually(async () => ((p) => (p.refundedAmount.value === '1250' ? p : undefined))((await pos.get(charged.paymentId)).body), 30_000, 200);
    await settlementCaughtUp(refunded);
    const after = (await transactions()).filter((t) => t.paymentId === charged.paymentId);
    expect(after.map((t) => `${t.kind} ${t.amount.value}`).sort()).toEqual(['PAYMENT 1250', 'REFUND 1250']);
    expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);
  });

  it('a resolution for a payment no longer in review changes nothing', async () => {
    const before = (await pos.get(charged.paymentId)).body;
    const ignored = await resolutions('ignored');
    const late: PaymentReviewResolvedV1 = {
      paymentId: charged.paymentId, merchantId: pos.ids.merchantId, resolution: 'NOT_CHARGED', amount: hkd('0'),
      evidence: 'a resolution delivered after the payment left review', reportFile: 'late.csv',
    };
    const envelope = createEnvelope({ type: 'PaymentReviewResolved', key: charged.paymentId, data: late, producer: 'settlement' });
    const producer = testKafka('review-producer').producer();
    await producer.connect();
    await producer.send({ topic: `${running.platform.prefix}${TOPICS.settlementEvents.name}`, messages: [{ key: envelope.key, value: JSON.stringify(envelope) }] });
    await producer.disconnect();
    await eventually(async () => ((await resolutions('ignored')) > ignored ? true : undefined), 20_000, 200);
    expect((await pos.get(charged.paymentId)).body).toMatchObject({ status: 'SUCCEEDED', sequence: before.sequence, refundedAmount: hkd('1250') });
  });

  it('NOT_CHARGED by the reports of its day and the next → FAILED with NOT_CHARGED_PER_REPORT, nothing in the ledger', async () => {
    await deliverTransactionFiles(shiftDay(businessDayOf(uncharged.createdAt), 1));
    expect((await ingest()).filter((f) => f.status !== 'DUPLICATE').map((f) => `${f.kind} ${f.status}`)).toEqual(['transactionItems INGESTED']);
    expect(await settlementView(uncharged.paymentId)).toMatchObject({ reviewResolution: 'NOT_CHARGED' });

    const failed = await eventually(async () => ((p) => (p.status === 'FAILED' ? p : undefined))((await pos.get(uncharged.paymentId)).body), 30_000, 200);
    expect(failed).toMatchObject({ sequence: uncharged.sequence + 1, failure: { code: 'NOT_CHARGED_PER_REPORT' } });
    await settlementCaughtUp(failed);
    expect((await transactions()).filter((t) => t.paymentId === uncharged.paymentId)).toEqual([]);
    expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);
    expect(await resolutions('applied')).toBe(2);
  });
});
