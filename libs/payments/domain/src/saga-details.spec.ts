import { DEFAULT_SAGA_CONFIG, sagaConfigProblems } from './config';
import { evolve, initialState } from './evolve';
import { paymentRequestIdOf, reversalRefundIdOf } from './ids';
import type { SagaEvent, SagaOutput } from './model';
import { publicStatus, viewOf } from './view';
import {
  GIVEN,
  T0,
  cancelResult,
  cancelS,
  inquiryNotFound,
  inquirySuccess,
  lastView,
  notified,
  payS,
  payU,
  posCancel,
  requestPayment,
  run,
  whenAfter,
} from './testing/saga-test-kit';

const published = (outputs: readonly SagaOutput[]) => outputs.flatMap((o) => (o.kind === 'PublishPaymentEvent' ? [o.event] : []));

describe('saga details: what the runner writes', () => {
  it('Pay#0 carries the scanned code and the merchant context; the state never keeps the code', () => {
    const { step, state } = whenAfter([], requestPayment());
    expect(step.outputs[1]).toEqual({
      kind: 'SendAlipayCommand',
      command: {
        type: 'Pay',
        data: {
          paymentId: 'pay_01JDZ8X3',
          paymentRequestId: 'pay_01JDZ8X3',
          attempt: 0,
          amount: { currency: 'HKD', value: '1250' },
          paymentCode: '281012020000000000000000',
          merchantOrderId: 'POS-0001-20261127-000123',
          description: '2 x coffee',
          merchant: expect.objectContaining({ merchantId: 'mer_7KQ2', storeId: 'sto_A001', terminalId: 'ter_A001_01' }),
          terminalRequestTime: new Date(T0).toISOString(),
        },
      },
    });
    expect(JSON.stringify(state)).not.toContain('281012020000000000000000');
  });

  it('PaymentCreated carries the full view at sequence 0', () => {
    const { step } = whenAfter([], requestPayment());
    expect(published(step.outputs)).toEqual([
      {
        type: 'PaymentCreated',
        data: {
          payment: {
            paymentId: 'pay_01JDZ8X3',
            merchantOrderId: 'POS-0001-20261127-000123',
            merchantId: 'mer_7KQ2',
            storeId: 'sto_A001',
            terminalId: 'ter_A001_01',
            amount: { currency: 'HKD', value: '1250' },
            status: 'PROCESSING',
            alipay: { paymentRequestId: 'pay_01JDZ8X3' },
            refundedAmount: { currency: 'HKD', value: '0' },
            sequence: 0,
            createdAt: new Date(T0).toISOString(),
            updatedAt: new Date(T0).toISOString(),
          },
        },
      },
    ]);
  });

  it('PaymentSucceeded carries Alipay’s paymentId, time and wallet, and the time of the change', () => {
    const { step } = whenAfter(GIVEN.paySent, { input: payS(), atMs: 1_500 });
    expect(published(step.outputs)[0]?.data.payment).toMatchObject({
      status: 'SUCCEEDED',
      alipay: { paymentRequestId: 'pay_01JDZ8X3', paymentId: '202611271940108001001881I0204295953', paymentTime: '2026-11-27T12:06:02+08:00', walletBrandName: 'ALIPAYHK' },
      sequence: 1,
      updatedAt: new Date(T0 + 1_500).toISOString(),
    });
  });

  it('PaymentProcessing already names Alipay’s paymentId when the U answer had one', () => {
    const { step } = whenAfter(GIVEN.paySent, payU());
    expect(published(step.outputs)[0]?.data.payment.alipay).toEqual({ paymentRequestId: 'pay_01JDZ8X3', paymentId: '202611271940108001001881I0204295953' });
  });

  it('a cashier abort ends CANCELLED without a failure; a saga-initiated cancel says why', () => {
    expect(lastView(run([...GIVEN.cancelling, cancelS(1)])).failure).toBeUndefined();
    expect(lastView(run([...GIVEN.inquiriesExhausted(), cancelS(1)])).failure).toEqual({ code: 'PAYMENT_NOT_CONFIRMED', message: 'Alipay gave no final answer to 15 inquiries' });
  });

  it('voiding a paid sale keeps it SUCCEEDED for the POS until the cancel went through', () => {
    const voiding = run([...GIVEN.succeeded, posCancel()]);
    if (voiding.state.status === 'NEW') throw new Error('unreachable');
    expect(publicStatus(voiding.state)).toBe('SUCCEEDED');
    const { step } = whenAfter([...GIVEN.succeeded, posCancel()], cancelS(1));
    expect(published(step.outputs)[0]).toMatchObject({ type: 'PaymentCancelled', data: { payment: { status: 'CANCELLED', refundedAmount: { value: '0' } } } });
  });

  it('NEEDS_REVIEW shows its reason in the view too, for GET /v1/payments/{id}', () => {
    const result = run([...GIVEN.inquiriesExhausted(inquiryNotFound), cancelResult(1, 'F', 'ORDER_NOT_EXIST'), notified()]);
    expect(lastView(result)).toMatchObject({ status: 'NEEDS_REVIEW', failure: { code: 'LATE_SUCCESS', message: expect.stringContaining('refund the shopper') } });
  });

  it('a payment paid but refused a cancel without Alipay’s paymentId goes to review instead of refunding', () => {
    const noId = { type: 'InquiryResult' as const, data: { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', attempt: 2, outcome: 'S' as const, resultCode: 'SUCCESS', paymentStatus: 'SUCCESS' as const } };
    const paySent = [requestPayment(), { type: 'PayResult' as const, data: { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', attempt: 0, outcome: 'U' as const, resultCode: 'UNKNOWN_EXCEPTION' } }];
    const { outputs, state } = whenAfter([...paySent, posCancel(), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')], noId);
    expect(outputs).toEqual(['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer INQUIRY']);
    expect(state.status === 'NEEDS_REVIEW' && state.review.kind).toBe('REVERSAL_REFUND');
  });

  it('no published event ever flips a cancelled-upon payment to SUCCEEDED', () => {
    const result = run([...GIVEN.cancelling, payS(), inquirySuccess(1), notified(), notified(), cancelS(1)]);
    const types = result.steps.flatMap((s) => published(s.outputs).map((e) => e.type));
    expect(types).toEqual(['PaymentCreated', 'PaymentProcessing', 'PaymentCancelled']);
  });
});

describe('saga details: evolve', () => {
  it('starts NEW and ignores anything but PaymentCreated there', () => {
    const ignored: SagaEvent = { type: 'PaymentSucceeded', byReport: false, at: new Date(T0).toISOString() };
    expect(evolve(initialState(), ignored)).toEqual({ status: 'NEW' });
  });

  it('folding the events handle() returned gives the state it returned', () => {
    const result = run([requestPayment(), payU(), posCancel(), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2)]);
    const replayed = result.steps.flatMap((s) => s.events).reduce(evolve, initialState());
    expect(replayed).toEqual(result.state);
  });

  it('viewOf is what the last event published', () => {
    const result = run([requestPayment(), payU(), notified()]);
    if (result.state.status === 'NEW') throw new Error('unreachable');
    expect(viewOf(result.state)).toEqual(lastView(result));
  });
});

describe('saga details: ids and configuration', () => {
  it('derives ids deterministically, within 64 safe characters', () => {
    expect(paymentRequestIdOf('pay_01JDZ8X3')).toBe('pay_01JDZ8X3');
    expect(reversalRefundIdOf('pay_01JDZ8X3')).toBe('rev_pay_01JDZ8X3');
    const long = 'p'.repeat(64);
    const id = reversalRefundIdOf(long);
    expect(id).toHaveLength(64);
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(reversalRefundIdOf(long)).toBe(id);
    expect(reversalRefundIdOf('p'.repeat(63) + 'q')).not.toBe(id);
  });

  it('defaults follow CONTRACTS §3 and validate; a bad value is named', () => {
    expect(DEFAULT_SAGA_CONFIG).toMatchObject({ httpTimeoutMs: 8000, firstInquiryDelayMs: 5000, inquiryIntervalMs: 3000, maxInquiries: 15, cancelRetryDelaysMs: [2000, 3000, 3000, 5000, 5000] });
    expect(sagaConfigProblems(DEFAULT_SAGA_CONFIG)).toEqual([]);
    expect(sagaConfigProblems({ ...DEFAULT_SAGA_CONFIG, maxInquiries: 0, cancelRetryDelaysMs: [2000, -1], refundInquiryDelaysMs: [] })).toEqual([
      'maxInquiries must be a positive integer, got 0',
      'cancelRetryDelaysMs[1] must be a positive integer, got -1',
      'refundInquiryDelaysMs must list at least one delay',
    ]);
  });
});
