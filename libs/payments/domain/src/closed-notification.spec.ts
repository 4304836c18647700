import type { SagaInput } from './model';
import {
  cancelNeverAnswered,
  GIVEN,
  cancelResult,
  fired,
  inquiry,
  inquiryProcessing,
  inquirySuccess,
  lastView,
  notified,
  notifiedClosed,
  payTimeout,
  refundResult,
  requestPayment,
  requestRefund,
  reviewResolved,
  run,
  whenAfter,
  type Step,
} from './testing/saga-test-kit';

/**
 * notifyPayment with F ORDER_IS_CANCELED says Alipay cancelled the payment: what an inquiry answering CANCELLED says —
 * any money taken went back — and the saga acts on it the same way, wherever that matters: a cancel of ours under way,
 * a payment in review, one the reports made SUCCEEDED, refunds taken from it. F ORDER_IS_CLOSED says closed, cancelled
 * or expired (spec §4.4): for a payment known paid, which cannot expire, the same; for any other, the failure it names.
 */

/** the reports made it SUCCEEDED (CHARGED) with no answer naming Alipay's paymentId: inquiry #16 asks for it */
const chargedWithoutAlipayId = (): Step[] => {
  const steps: Step[] = [requestPayment(), payTimeout()];
  for (let attempt = 1; attempt < 15; attempt++) steps.push(inquiryProcessing(attempt), fired('INQUIRY', attempt + 1));
  return [...cancelNeverAnswered([...steps, inquiryProcessing(15)]), reviewResolved('CHARGED')];
};
/** the reports made it SUCCEEDED; refund R-1 is in flight and R-2 queued behind it */
const chargedWithRefunds: Step[] = [...cancelNeverAnswered(GIVEN.inquiriesExhausted()), reviewResolved('CHARGED'), requestRefund(1, '500'), requestRefund(2, '300')];
/** inquiry #2 still out when #1 answered SUCCESS; refund R-1 then refused ORDER_IS_CANCELED: NEEDS_REVIEW (CLOSED_AT_ALIPAY) */
const refundFoundItClosed: Step[] = [requestPayment(), GIVEN.inquiring[1]!, fired('INQUIRY', 2), inquirySuccess(1), requestRefund(1, '500'), refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED')];
/** as refundFoundItClosed, with R-1 paid out first and R-2 the one refused */
const refundTakenThenClosed: Step[] = [
  requestPayment(), GIVEN.inquiring[1]!, fired('INQUIRY', 2), inquirySuccess(1),
  requestRefund(1, '500'), refundResult('ref_1', 1, 'S', 'SUCCESS'), requestRefund(2, '500'), refundResult('ref_2', 2, 'F', 'ORDER_IS_CANCELED'),
];
/** cancel #1 left unanswered, #2 refused, the check found it paid: the reversal refund is out */
const reversing: Step[] = [...GIVEN.cancelling, fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2)];

interface ClosedRow {
  name: string;
  given: Step[];
  then: string[];
  status: string;
  /** the review kind after it, when NEEDS_REVIEW */
  kind?: string;
  /** the attempt of the inquiry still out, whose CANCELLED answer the notification must match */
  inquiryOut?: number;
}

const ROWS: ClosedRow[] = [
  {
    name: 'the cashier\'s cancel under way after Alipay reported the success → CANCELLED: the cancel went through, no more cancels sent',
    given: [...GIVEN.cancelling, notified()],
    then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'],
    status: 'CANCELLED',
    inquiryOut: 1,
  },
  {
    name: 'the void of a SUCCEEDED payment under way → CANCELLED: the void went through',
    given: [...GIVEN.succeeded, GIVEN.cancelling[2]!],
    then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'],
    status: 'CANCELLED',
  },
  {
    name: 'a refused cancel being checked after a reported success → CANCELLED, not a contradiction for a person',
    given: [...GIVEN.cancelling, notified(), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')],
    then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer INQUIRY'],
    status: 'CANCELLED',
    inquiryOut: 2,
  },
  {
    name: 'the reversal refund under way → CANCELLED, the refund still asked about',
    given: reversing,
    then: ['publish PaymentCancelled CANCELLED #3'],
    status: 'CANCELLED',
    inquiryOut: 2,
  },
  {
    name: 'in review, the cashier\'s cancel left unknown after a reported success → CANCELLED: the cancel gave the money back',
    given: cancelNeverAnswered([...GIVEN.cancelling, notified()]),
    then: ['publish PaymentCancelled CANCELLED #3'],
    status: 'CANCELLED',
    inquiryOut: 1,
  },
  {
    name: 'in review because a refund found the payment closed → CANCELLED',
    given: refundFoundItClosed,
    then: ['publish PaymentCancelled CANCELLED #6'],
    status: 'CANCELLED',
    inquiryOut: 2,
  },
  {
    name: 'in review with a refund taken → NEEDS_REVIEW (REVERSED_AFTER_REFUND): the shopper may have been paid back twice',
    given: refundTakenThenClosed,
    then: ['publish PaymentNeedsReview NEEDS_REVIEW #8'],
    status: 'NEEDS_REVIEW',
    kind: 'REVERSED_AFTER_REFUND',
    inquiryOut: 2,
  },
  {
    name: 'SUCCEEDED by the reports → CANCELLED: Alipay outranks a report a day behind, and it is not refundable',
    given: chargedWithoutAlipayId(),
    then: ['publish PaymentCancelled CANCELLED #4'],
    status: 'CANCELLED',
    inquiryOut: 16,
  },
  {
    name: 'SUCCEEDED by the reports with a refund in flight and one queued → NEEDS_REVIEW (REVERSED_AFTER_REFUND), not CLOSED_AT_ALIPAY',
    given: chargedWithRefunds,
    then: ['publish PaymentNeedsReview NEEDS_REVIEW #6'],
    status: 'NEEDS_REVIEW',
    kind: 'REVERSED_AFTER_REFUND',
  },
  // Where "cancelled" changes nothing, it stays as it was.
  { name: 'inquiring → FAILED, as Alipay closed it on its own', given: GIVEN.inquiring, then: ['publish PaymentFailed FAILED #2', 'cancel timer INQUIRY'], status: 'FAILED', inquiryOut: 1 },
  { name: 'a cancel under way, nothing said paid → CANCELLED', given: GIVEN.cancelling, then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED', inquiryOut: 1 },
  { name: 'SUCCEEDED by Alipay\'s own answer → nothing: its S is final', given: GIVEN.succeeded, then: [], status: 'SUCCEEDED' },
];

describe.each(['ORDER_IS_CLOSED', 'ORDER_IS_CANCELED'] as const)('payment saga: notified F %s', (code) => {
  it.each(ROWS)('$name', ({ given, then, status, kind }) => {
    const { outputs, state } = whenAfter(given, notifiedClosed(code));
    expect(outputs).toEqual(then);
    expect(state.status).toBe(status);
    if (kind) expect(state).toMatchObject({ review: { kind } });
  });

  it.each(ROWS.filter((row) => row.inquiryOut !== undefined))('as an inquiry answering CANCELLED: $name', ({ given, inquiryOut }) => {
    const cancelledAnswer: SagaInput = inquiry(inquiryOut!, 'S', 'SUCCESS', 'CANCELLED', { paymentResultCode: code });
    const byNotification = whenAfter(given, notifiedClosed(code));
    const byInquiry = whenAfter(given, cancelledAnswer);
    expect(byNotification.outputs).toEqual(byInquiry.outputs);
    expect(byNotification.state.status).toBe(byInquiry.state.status);
    expect('review' in byNotification.state && byNotification.state.review.kind).toBe('review' in byInquiry.state && byInquiry.state.review.kind);
  });

  it('the queued refund is never sent once the refund in flight is answered', () => {
    const result = run([...chargedWithRefunds, notifiedClosed(code), refundResult('ref_1', 1, 'S', 'SUCCESS')]);
    const r2 = result.state.status === 'NEW' ? undefined : result.state.refunds.find((r) => r.refundRequestId === 'R-2');
    expect(r2).toMatchObject({ status: 'FAILED', failure: { code: 'PAYMENT_CANCELLED' } });
  });

  it('a payment Alipay closed on its own shows Alipay\'s code', () => {
    expect(lastView(run([...GIVEN.inquiring, notifiedClosed(code)])).failure?.code).toBe(code);
  });
});

describe('payment saga: notified F ORDER_IS_CLOSED for a payment not known paid (closed, cancelled or expired)', () => {
  /** the saga gave up inquiring (nothing said paid), Alipay refused its cancel: the check of what it holds is out */
  const refusedUnpaid: Step[] = [...GIVEN.inquiriesExhausted(), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')];

  it('is the failure it names, as any other failure notification: an expiry is not the refused cancel going through', () => {
    const closed = whenAfter(refusedUnpaid, notifiedClosed('ORDER_IS_CLOSED'));
    const plain = whenAfter(refusedUnpaid, notified('F', 'USER_PAYMENT_VERIFICATION_FAILED'));
    expect(closed.outputs).toEqual(plain.outputs);
    expect(closed.state.status).toBe(plain.state.status);
    expect(closed.state).toMatchObject({ lateSuccessIsAnomaly: 'lateSuccessIsAnomaly' in plain.state ? plain.state.lateSuccessIsAnomaly : undefined });
    expect(lastView(run([...refusedUnpaid, notifiedClosed('ORDER_IS_CLOSED')])).failure?.code).toBe('ORDER_IS_CLOSED');
  });
});

describe('payment saga: notified F with a plain failure', () => {
  it('after a reported success in review is still the contradiction a person settles', () => {
    const { outputs, state } = whenAfter(cancelNeverAnswered([...GIVEN.cancelling, notified()]), notified('F', 'USER_PAYMENT_VERIFICATION_FAILED'));
    expect(outputs).toEqual([]);
    expect(state).toMatchObject({ status: 'NEEDS_REVIEW', review: { kind: 'CANCEL_UNKNOWN' } });
  });

  it('on a payment the reports made SUCCEEDED → NEEDS_REVIEW (CLOSED_AT_ALIPAY)', () => {
    const { state } = whenAfter(chargedWithoutAlipayId(), notified('F', 'USER_PAYMENT_VERIFICATION_FAILED'));
    expect(state).toMatchObject({ status: 'NEEDS_REVIEW', review: { kind: 'CLOSED_AT_ALIPAY' } });
  });
});
