import { NOT_CHARGED_PER_REPORT } from './review-flow';
import {
  cancelNeverAnswered,
  ALIPAY_PAYMENT_ID,
  DEADLINE,
  GIVEN,
  cancelResult,
  cancelS,
  checkRows,
  fired,
  inquireRefundResult,
  inquiry,
  inquiryFail,
  inquiryNotFound,
  inquiryProcessing,
  inquirySuccess,
  lastView,
  notified,
  payResult,
  payS,
  payTimeout,
  payU,
  posCancel,
  refundResult,
  requestRefund,
  requestPayment,
  reviewResolved,
  run,
  type Step,
} from './testing/saga-test-kit';

/** sandbox scenario 89: every inquiry PROCESSING, the saga gives up and cancels, no cancel is ever answered */
const unconfirmed = cancelNeverAnswered(GIVEN.inquiriesExhausted(inquiryProcessing));
/** the cashier aborted, no cancel is ever answered */
const aborted = cancelNeverAnswered(GIVEN.cancelling);
/** the cashier aborted, Alipay then said the money was taken, no cancel is ever answered */
const abortedAfterSuccess = cancelNeverAnswered([...GIVEN.cancelling, notified()]);
/** closed on a cancel's ORDER_NOT_EXIST, then Alipay reported a success nobody reversed */
const lateSuccess: Step[] = [...GIVEN.inquiriesExhausted(inquiryNotFound), cancelResult(1, 'F', 'ORDER_NOT_EXIST'), notified()];
/** the cashier aborted, the cancel found no order (CANCELLED), then Alipay reported a success nobody reversed */
const lateSuccessAfterCancel: Step[] = [...GIVEN.cancelling, cancelResult(1, 'F', 'ORDER_NOT_EXIST'), notified()];
/** paid, not cancellable, and the reversal refund still unknown after every inquiry */
const reversalRefundGivenUp = (): Step[] => {
  const steps: Step[] = [...GIVEN.cancelling, fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2), refundResult('rev_pay_01JDZ8X3', 1, 'U', 'UNKNOWN_EXCEPTION')];
  for (let i = 0; i < 6; i++) steps.push(fired('REFUND_INQUIRY', 2 + i), inquireRefundResult('rev_pay_01JDZ8X3', 2 + i, 'S', 'SUCCESS', 'PROCESSING'));
  return steps;
};

describe('payment saga: a review settled by Alipay\'s reports (PaymentReviewResolved)', () => {
  checkRows([
    { name: 'CHARGED → SUCCEEDED', given: unconfirmed, when: reviewResolved('CHARGED'), then: ['publish PaymentSucceeded SUCCEEDED #3'], status: 'SUCCEEDED' },
    { name: 'REVERSED → CANCELLED', given: unconfirmed, when: reviewResolved('REVERSED'), then: ['publish PaymentCancelled CANCELLED #3'], status: 'CANCELLED' },
    { name: 'NOT_CHARGED, the saga gave up on the payment → FAILED', given: unconfirmed, when: reviewResolved('NOT_CHARGED'), then: ['publish PaymentFailed FAILED #3'], status: 'FAILED' },
    { name: 'NOT_CHARGED, the cashier asked for the cancel → CANCELLED', given: aborted, when: reviewResolved('NOT_CHARGED'), then: ['publish PaymentCancelled CANCELLED #3'], status: 'CANCELLED' },
    { name: 'CHARGED, a success reported after the close → SUCCEEDED', given: lateSuccess, when: reviewResolved('CHARGED'), then: ['publish PaymentSucceeded SUCCEEDED #4'], status: 'SUCCEEDED' },
    {
      name: 'CHARGED, a success reported after the cashier\'s cancel → NEEDS_REVIEW (CHARGED_AFTER_CANCEL): the sale was called off',
      given: lateSuccessAfterCancel,
      when: reviewResolved('CHARGED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'REVERSED, the reversal refund still unknown → CANCELLED, flagged: the shopper may be paid back twice',
      given: reversalRefundGivenUp(),
      when: reviewResolved('REVERSED'),
      then: ['publish PaymentCancelled CANCELLED #4', 'publish PaymentNeedsReview rev_pay_01JDZ8X3 PROCESSING CANCELLED #5'],
      status: 'CANCELLED',
    },
    { name: 'CHARGED, the reversal refund still unknown → SUCCEEDED', given: reversalRefundGivenUp(), when: reviewResolved('CHARGED'), then: ['publish PaymentSucceeded SUCCEEDED #4'], status: 'SUCCEEDED' },
    {
      // the reversal refund may still pay the shopper back; the runner answers the refusal with PaymentCancelRefused
      name: 'SUCCEEDED by CHARGED, the reversal refund still unknown: the cashier\'s void → PAYMENT_NOT_CANCELLABLE',
      given: [...reversalRefundGivenUp(), reviewResolved('CHARGED')],
      when: posCancel(),
      then: ['reject PAYMENT_NOT_CANCELLABLE'],
      status: 'SUCCEEDED',
    },
  ]);
});

describe('payment saga: a resolution that contradicts the saga stays with the person', () => {
  checkRows([
    { name: 'CHARGED another amount than asked → nothing', given: unconfirmed, when: reviewResolved('CHARGED', { currency: 'HKD', value: '1150' }), then: [], status: 'NEEDS_REVIEW' },
    { name: 'CHARGED in another currency → nothing', given: unconfirmed, when: reviewResolved('CHARGED', { currency: 'USD', value: '1250' }), then: [], status: 'NEEDS_REVIEW' },
    { name: 'NOT_CHARGED after Alipay said the money was taken → nothing', given: abortedAfterSuccess, when: reviewResolved('NOT_CHARGED'), then: [], status: 'NEEDS_REVIEW' },
    { name: 'NOT_CHARGED after a success reported past the close → nothing', given: lateSuccess, when: reviewResolved('NOT_CHARGED'), then: [], status: 'NEEDS_REVIEW' },
  ]);
});

describe('payment saga: a resolution for a payment not in review changes nothing', () => {
  checkRows([
    { name: 'unknown payment', given: [], when: reviewResolved('CHARGED'), then: [], status: 'NEW' },
    { name: 'still being worked out by the saga', given: GIVEN.inquiring, when: reviewResolved('NOT_CHARGED'), then: [], status: 'INQUIRING' },
    { name: 'SUCCEEDED by the saga, then REVERSED', given: GIVEN.succeeded, when: reviewResolved('REVERSED'), then: [], status: 'SUCCEEDED' },
    { name: 'FAILED by the saga', given: [...GIVEN.paySent, payResult('F', 'RISK_REJECT')], when: reviewResolved('CHARGED'), then: [], status: 'FAILED' },
    { name: 'the same resolution delivered again', given: [...unconfirmed, reviewResolved('CHARGED')], when: reviewResolved('CHARGED'), then: [], status: 'SUCCEEDED' },
    { name: 'CANCELLED by the saga (cancel S), then CHARGED', given: [...GIVEN.cancelling, cancelS(1)], when: reviewResolved('CHARGED'), then: [], status: 'CANCELLED' },
  ]);
});

/** the saga gave up on the payment and the reports closed it FAILED (NOT_CHARGED_PER_REPORT), four events published (#0–#3) */
const failedPerReport: Step[] = [...unconfirmed, reviewResolved('NOT_CHARGED')];
/** the cashier aborted and the reports closed it CANCELLED (not charged) */
const cancelledPerReport: Step[] = [...aborted, reviewResolved('NOT_CHARGED')];

describe('payment saga: a later file lists the charge of a payment the reports closed not charged (NOT_CHARGED → CHARGED)', () => {
  checkRows([
    { name: 'FAILED, charged the amount asked → SUCCEEDED', given: failedPerReport, when: reviewResolved('CHARGED'), then: ['publish PaymentSucceeded SUCCEEDED #4'], status: 'SUCCEEDED' },
    { name: 'FAILED, charged another amount → NEEDS_REVIEW', given: failedPerReport, when: reviewResolved('CHARGED', { currency: 'HKD', value: '1150' }), then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'], status: 'NEEDS_REVIEW' },
    { name: 'FAILED, charged in another currency → NEEDS_REVIEW', given: failedPerReport, when: reviewResolved('CHARGED', { currency: 'USD', value: '1250' }), then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'], status: 'NEEDS_REVIEW' },
    { name: 'CANCELLED by the cashier, then charged → NEEDS_REVIEW: the sale was called off', given: cancelledPerReport, when: reviewResolved('CHARGED'), then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'], status: 'NEEDS_REVIEW' },
    { name: 'FAILED, then REVERSED (charged and cancelled) → nothing: no money moved', given: failedPerReport, when: reviewResolved('REVERSED'), then: [], status: 'FAILED' },
    { name: 'FAILED, the same NOT_CHARGED again → nothing', given: failedPerReport, when: reviewResolved('NOT_CHARGED'), then: [], status: 'FAILED' },
    { name: 'SUCCEEDED by the late charge, then REVERSED → CANCELLED, as a cancel would', given: [...failedPerReport, reviewResolved('CHARGED')], when: reviewResolved('REVERSED'), then: ['publish PaymentCancelled CANCELLED #5'], status: 'CANCELLED' },
    {
      name: 'SUCCEEDED by the late charge: the merchant\'s full refund goes to Alipay',
      given: [...failedPerReport, reviewResolved('CHARGED')],
      when: requestRefund(1, '1250'),
      then: ['publish RefundRequested R-1 PROCESSING SUCCEEDED #5', 'send Refund#1', `timer REFUND_INQUIRY#2 +${DEADLINE}`],
      status: 'SUCCEEDED',
    },
    { name: 'SUCCEEDED by the late charge: the cashier\'s void goes to Alipay', given: [...failedPerReport, reviewResolved('CHARGED')], when: posCancel(), then: ['send CancelPayment#7', `timer CANCEL_RETRY#8 +${DEADLINE}`], status: 'CANCELLING' },
    { name: 'in review after the cancel, CHARGED again → nothing: the POS called the sale off', given: [...cancelledPerReport, reviewResolved('CHARGED')], when: reviewResolved('CHARGED'), then: [], status: 'NEEDS_REVIEW' },
    { name: 'in review after the cancel, then REVERSED (the cancel filed later) → CANCELLED', given: [...cancelledPerReport, reviewResolved('CHARGED')], when: reviewResolved('REVERSED'), then: ['publish PaymentCancelled CANCELLED #5'], status: 'CANCELLED' },
    { name: 'in review after the cancel, then NOT_CHARGED → nothing: the reports proved the charge', given: [...cancelledPerReport, reviewResolved('CHARGED')], when: reviewResolved('NOT_CHARGED'), then: [], status: 'NEEDS_REVIEW' },
    { name: 'late success after the cashier\'s cancel, charged: CHARGED again → nothing', given: [...lateSuccessAfterCancel, reviewResolved('CHARGED')], when: reviewResolved('CHARGED'), then: [], status: 'NEEDS_REVIEW' },
    { name: 'late success after the cashier\'s cancel, charged: then REVERSED → CANCELLED', given: [...lateSuccessAfterCancel, reviewResolved('CHARGED')], when: reviewResolved('REVERSED'), then: ['publish PaymentCancelled CANCELLED #5'], status: 'CANCELLED' },
    { name: 'late success after the cashier\'s cancel, charged: a refund → PAYMENT_NOT_REFUNDABLE', given: [...lateSuccessAfterCancel, reviewResolved('CHARGED')], when: requestRefund(1, '1250'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'NEEDS_REVIEW' },
  ]);

  it('the reviews say why: CHARGED_AFTER_CANCEL after the cashier\'s cancel, AMOUNT_MISMATCH for another amount, each with the amount charged', () => {
    const afterCancel = lastView(run([...cancelledPerReport, reviewResolved('CHARGED')]));
    expect(afterCancel.failure?.code).toBe('CHARGED_AFTER_CANCEL');
    expect(afterCancel.failure?.message).toContain('charged 1250 HKD');
    const lateAfterCancel = lastView(run([...lateSuccessAfterCancel, reviewResolved('CHARGED')]));
    expect(lateAfterCancel.failure?.code).toBe('CHARGED_AFTER_CANCEL');
    expect(lateAfterCancel.failure?.message).toContain('charged 1250 HKD');
    const otherAmount = lastView(run([...failedPerReport, reviewResolved('CHARGED', { currency: 'HKD', value: '1150' })]));
    expect(otherAmount.failure?.code).toBe('AMOUNT_MISMATCH');
    expect(otherAmount.failure?.message).toContain('charged 1150 HKD (minor units), not the 1250 HKD asked');
  });
});

/** the reports settled the review CHARGED, and refund R-1 of the full amount went out */
const chargedThenRefunded: Step[] = [...unconfirmed, reviewResolved('CHARGED'), requestRefund(1, '1250')];

describe('payment saga: a later file shows a charge the reports settled cancelled after all (CHARGED → REVERSED)', () => {
  checkRows([
    { name: 'no refund taken → CANCELLED, as a cancel would', given: [...unconfirmed, reviewResolved('CHARGED')], when: reviewResolved('REVERSED'), then: ['publish PaymentCancelled CANCELLED #4'], status: 'CANCELLED' },
    {
      name: 'its only refund failed → CANCELLED',
      given: [...chargedThenRefunded, refundResult('ref_1', 1, 'F', 'REFUND_NOT_SUPPORTED')],
      when: reviewResolved('REVERSED'),
      then: ['publish PaymentCancelled CANCELLED #6'],
      status: 'CANCELLED',
    },
    {
      name: 'a refund went through → NEEDS_REVIEW: the shopper may have been paid back twice',
      given: [...chargedThenRefunded, refundResult('ref_1', 1, 'S', 'SUCCESS')],
      when: reviewResolved('REVERSED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #6'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'a refund still in flight → NEEDS_REVIEW, its inquiry timer kept', given: chargedThenRefunded, when: reviewResolved('REVERSED'), then: ['publish PaymentNeedsReview NEEDS_REVIEW #5'], status: 'NEEDS_REVIEW' },
    {
      name: 'the refund in flight answers after the review began → settled, still NEEDS_REVIEW',
      given: [...chargedThenRefunded, reviewResolved('REVERSED')],
      when: refundResult('ref_1', 1, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded R-1 SUCCEEDED NEEDS_REVIEW #6', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'REVERSED delivered again after the cancel → nothing', given: [...unconfirmed, reviewResolved('CHARGED'), reviewResolved('REVERSED')], when: reviewResolved('REVERSED'), then: [], status: 'CANCELLED' },
    {
      name: 'REVERSED delivered again in the review it opened → nothing: the person decides',
      given: [...chargedThenRefunded, refundResult('ref_1', 1, 'S', 'SUCCESS'), reviewResolved('REVERSED')],
      when: reviewResolved('REVERSED'),
      then: [],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'in the review it opened, an earlier cancel answers S → nothing: the refunds taken still need the person',
      given: [...chargedThenRefunded, reviewResolved('REVERSED')],
      when: cancelS(6),
      then: [],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'in the review it opened, after an earlier cancel answered S, the refund in flight is still asked about',
      given: [...chargedThenRefunded, reviewResolved('REVERSED'), cancelS(6)],
      when: fired('REFUND_INQUIRY', 2),
      then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'in the review it opened, the refund in flight never reached Alipay → not sent again: the cancel returned the money',
      given: [...chargedThenRefunded, reviewResolved('REVERSED'), fired('REFUND_INQUIRY', 2)],
      when: inquireRefundResult('ref_1', 2, 'F', 'ORDER_NOT_EXIST'),
      then: ['publish RefundFailed R-1 FAILED NEEDS_REVIEW #6', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'in the review it opened, the refund in flight settles → the one queued behind it is not sent: the cancel returned the money',
      given: [...unconfirmed, reviewResolved('CHARGED'), requestRefund(1, '500'), requestRefund(2, '700'), reviewResolved('REVERSED')],
      when: refundResult('ref_1', 1, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded R-1 SUCCEEDED NEEDS_REVIEW #7', 'publish RefundFailed R-2 FAILED NEEDS_REVIEW #8', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'cancelled after the late REVERSED: a refund → PAYMENT_NOT_REFUNDABLE', given: [...unconfirmed, reviewResolved('CHARGED'), reviewResolved('REVERSED')], when: requestRefund(1, '1250'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'CANCELLED' },
  ]);

  it('the review names the refunds taken and the kind REVERSED_AFTER_REFUND', () => {
    const view = lastView(run([...chargedThenRefunded, refundResult('ref_1', 1, 'S', 'SUCCESS'), reviewResolved('REVERSED')]));
    expect(view).toMatchObject({ status: 'NEEDS_REVIEW', refundedAmount: { currency: 'HKD', value: '1250' }, failure: { code: 'REVERSED_AFTER_REFUND' } });
    expect(view.failure?.message).toContain('R-1');
  });
});

describe('payment saga: a cancel left unknown answers S after the reports settled the review CHARGED', () => {
  checkRows([
    { name: 'no refund taken → CANCELLED, as the later file would show', given: [...unconfirmed, reviewResolved('CHARGED')], when: cancelS(6), then: ['publish PaymentCancelled CANCELLED #4'], status: 'CANCELLED' },
    { name: 'a refund in flight → NEEDS_REVIEW: the shopper may be paid back twice', given: chargedThenRefunded, when: cancelS(6), then: ['publish PaymentNeedsReview NEEDS_REVIEW #5'], status: 'NEEDS_REVIEW' },
    {
      name: 'a refund in flight: it is still asked about in review',
      given: [...chargedThenRefunded, cancelS(6)],
      when: fired('REFUND_INQUIRY', 2),
      then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`],
      status: 'NEEDS_REVIEW',
    },
    { name: 'then the later file shows it cancelled → nothing more', given: [...chargedThenRefunded, cancelS(6)], when: reviewResolved('REVERSED'), then: [], status: 'NEEDS_REVIEW' },
  ]);

  it('the review names the refunds taken and the cancel that returned the money', () => {
    const view = lastView(run([...chargedThenRefunded, cancelS(6)]));
    expect(view).toMatchObject({ status: 'NEEDS_REVIEW', failure: { code: 'REVERSED_AFTER_REFUND' } });
    expect(view.failure?.message).toContain('R-1');
    expect(view.failure?.message).toContain('cancel');
  });
});

/** the pay timed out and no answer ever named Alipay's paymentId; the saga gave up and its cancels went unanswered */
const unconfirmedWithoutAlipayId = (): Step[] => {
  const steps: Step[] = [requestPayment(), payTimeout()];
  for (let attempt = 1; attempt < 15; attempt++) steps.push(inquiryProcessing(attempt), fired('INQUIRY', attempt + 1));
  return cancelNeverAnswered([...steps, inquiryProcessing(15)]);
};

describe('payment saga: the reports charge a payment whose Alipay paymentId no answer named', () => {
  checkRows([
    {
      name: 'CHARGED → SUCCEEDED, and Alipay is asked for the paymentId a refund needs',
      given: unconfirmedWithoutAlipayId(),
      when: reviewResolved('CHARGED'),
      then: ['publish PaymentSucceeded SUCCEEDED #3', 'send InquirePayment#16'],
      status: 'SUCCEEDED',
    },
    {
      name: 'the inquiry names it → the full refund the runbook asks for goes to Alipay',
      given: [...unconfirmedWithoutAlipayId(), reviewResolved('CHARGED'), inquirySuccess(16)],
      when: requestRefund(1, '1250'),
      then: ['publish RefundRequested R-1 PROCESSING SUCCEEDED #4', 'send Refund#1', `timer REFUND_INQUIRY#2 +${DEADLINE}`],
      status: 'SUCCEEDED',
    },
    { name: 'CHARGED with the paymentId known → no inquiry', given: unconfirmed, when: reviewResolved('CHARGED'), then: ['publish PaymentSucceeded SUCCEEDED #3'], status: 'SUCCEEDED' },
    {
      name: 'NOT_CHARGED, then a later file lists the charge → SUCCEEDED, and Alipay is asked for the paymentId',
      given: [...unconfirmedWithoutAlipayId(), reviewResolved('NOT_CHARGED')],
      when: reviewResolved('CHARGED'),
      then: ['publish PaymentSucceeded SUCCEEDED #4', 'send InquirePayment#16'],
      status: 'SUCCEEDED',
    },
  ]);
});

/** SUCCEEDED by the reports, the inquiry for Alipay's paymentId (#16) out */
const chargedWithoutAlipayId = (): Step[] => [...unconfirmedWithoutAlipayId(), reviewResolved('CHARGED')];
/** the inquiry #16 answer: Alipay holds the payment CANCELLED (one of the unanswered cancels went through) */
const inquiryCancelled = inquiry(16, 'S', 'SUCCESS', 'CANCELLED', { alipayPaymentId: ALIPAY_PAYMENT_ID });

describe('payment saga: Alipay answers not paid a payment the reports made SUCCEEDED', () => {
  checkRows([
    { name: 'the inquiry answers CANCELLED → CANCELLED: the cancel gave the money back', given: chargedWithoutAlipayId(), when: inquiryCancelled, then: ['publish PaymentCancelled CANCELLED #4'], status: 'CANCELLED' },
    { name: 'then a refund → PAYMENT_NOT_REFUNDABLE, nothing sent to Alipay', given: [...chargedWithoutAlipayId(), inquiryCancelled], when: requestRefund(1, '1250'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'CANCELLED' },
    {
      name: 'the inquiry answers FAIL → NEEDS_REVIEW (CLOSED_AT_ALIPAY): Alipay contradicts the report',
      given: chargedWithoutAlipayId(),
      when: inquiryFail(16, 'ORDER_IS_CLOSED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'a refund in flight, one queued, then a notification says not paid → NEEDS_REVIEW',
      given: [...unconfirmed, reviewResolved('CHARGED'), requestRefund(1, '500'), requestRefund(2, '300')],
      when: notified('F'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #6'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'then the refund in flight is answered → settled, and the queued one is never sent',
      given: [...unconfirmed, reviewResolved('CHARGED'), requestRefund(1, '500'), requestRefund(2, '300'), notified('F')],
      when: refundResult('ref_1', 1, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded R-1 SUCCEEDED NEEDS_REVIEW #7', 'publish RefundFailed R-2 FAILED NEEDS_REVIEW #8', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'SUCCEEDED from Alipay\'s own answer, then a stale "not paid" → nothing (its S is final)', given: GIVEN.succeeded, when: notified('F'), then: [], status: 'SUCCEEDED' },
    {
      name: 'SUCCEEDED by the reports, then a late answer to an inquiry sent before them says not paid → nothing: the report is newer',
      given: [...unconfirmed, reviewResolved('CHARGED')],
      when: inquiryFail(15, 'ORDER_IS_CLOSED'),
      then: [],
      status: 'SUCCEEDED',
    },
  ]);

  it('the review says which answer contradicts the report', () => {
    const view = lastView(run([...chargedWithoutAlipayId(), inquiryFail(16, 'ORDER_IS_CLOSED')]));
    expect(view).toMatchObject({ status: 'NEEDS_REVIEW', failure: { code: 'CLOSED_AT_ALIPAY' } });
    expect(view.failure?.message).toContain('Alipay answers payment pay_01JDZ8X3 not paid (ORDER_IS_CLOSED), though the reports showed it charged');
  });
});

/** inquiry #2 out when inquiry #1 answered SUCCESS; then refund R-1 refused ORDER_IS_CANCELED: NEEDS_REVIEW (CLOSED_AT_ALIPAY) */
const closedWithInquiryOut: Step[] = [requestPayment(), payU(), fired('INQUIRY', 2), inquirySuccess(1), requestRefund(1, '500'), refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED')];

describe('payment saga: Alipay answers CANCELLED a payment in review', () => {
  checkRows([
    {
      name: 'the cashier\'s cancel left unknown after a success, a late inquiry answers CANCELLED → CANCELLED: the cancel gave the money back',
      given: abortedAfterSuccess,
      when: inquiry(1, 'S', 'SUCCESS', 'CANCELLED'),
      then: ['publish PaymentCancelled CANCELLED #3'],
      status: 'CANCELLED',
    },
    { name: 'then a lagging report shows only the charge → nothing: it is not made refundable', given: [...abortedAfterSuccess, inquiry(1, 'S', 'SUCCESS', 'CANCELLED')], when: reviewResolved('CHARGED'), then: [], status: 'CANCELLED' },
    {
      name: 'in review because a refund found the payment closed, a late inquiry answers CANCELLED → CANCELLED',
      given: closedWithInquiryOut,
      when: inquiry(2, 'S', 'SUCCESS', 'CANCELLED'),
      then: ['publish PaymentCancelled CANCELLED #6'],
      status: 'CANCELLED',
    },
    {
      name: 'in review with a refund taken, a late inquiry answers CANCELLED → NEEDS_REVIEW (REVERSED_AFTER_REFUND)',
      given: [requestPayment(), payU(), fired('INQUIRY', 2), inquirySuccess(1), requestRefund(1, '500'), refundResult('ref_1', 1, 'S', 'SUCCESS'), requestRefund(2, '500'), refundResult('ref_2', 2, 'F', 'ORDER_IS_CANCELED')],
      when: inquiry(2, 'S', 'SUCCESS', 'CANCELLED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #8'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'in review, a late inquiry answers FAIL → nothing: only CANCELLED says the money went back', given: closedWithInquiryOut, when: inquiryFail(2), then: [], status: 'NEEDS_REVIEW' },
  ]);
});

describe('payment saga: after the reports settled a review', () => {
  checkRows([
    { name: 'a refund in review → PAYMENT_NOT_REFUNDABLE', given: unconfirmed, when: requestRefund(1, '1250'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'NEEDS_REVIEW' },
    {
      name: 'CHARGED: the full refund the runbook asks for goes to Alipay',
      given: [...unconfirmed, reviewResolved('CHARGED')],
      when: requestRefund(1, '1250'),
      then: ['publish RefundRequested R-1 PROCESSING SUCCEEDED #4', 'send Refund#1', `timer REFUND_INQUIRY#2 +${DEADLINE}`],
      status: 'SUCCEEDED',
    },
    {
      name: 'CHARGED, then voided: a cancel finding no order contradicts the charge → inquire, not closed unpaid',
      given: [...unconfirmed, reviewResolved('CHARGED'), posCancel()],
      when: cancelResult(7, 'F', 'ORDER_NOT_EXIST'),
      then: ['send InquirePayment#16', 'cancel timer CANCEL_RETRY', `timer INQUIRY#17 +${DEADLINE}`],
      status: 'REVERSAL_CHECK',
    },
    { name: 'NOT_CHARGED, then Alipay reports a success → nobody reversed it: NEEDS_REVIEW', given: [...unconfirmed, reviewResolved('NOT_CHARGED')], when: notified(), then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'], status: 'NEEDS_REVIEW' },
    { name: 'REVERSED, then Alipay reports a success → the cancel gave it back: nothing', given: [...unconfirmed, reviewResolved('REVERSED')], when: payS(), then: [], status: 'CANCELLED' },
  ]);

  it('a FAILED payment says why: NOT_CHARGED_PER_REPORT with the report\'s evidence', () => {
    expect(lastView(run([...unconfirmed, reviewResolved('NOT_CHARGED')])).failure).toEqual({
      code: NOT_CHARGED_PER_REPORT,
      message: "Alipay's reports list no charge: from the transaction reports of 2026-11-27 and 2026-11-28",
    });
  });

  it('a SUCCEEDED payment shows no failure any more, and keeps the Alipay facts the inquiries learned', () => {
    const view = lastView(run([...unconfirmed, reviewResolved('CHARGED')]));
    expect(view).toMatchObject({ status: 'SUCCEEDED', alipay: { paymentRequestId: 'pay_01JDZ8X3', paymentId: '202611271940108001001881I0204295953' } });
    expect(view).not.toHaveProperty('failure');
  });
});
