import {
  DEADLINE,
  GIVEN,
  cancelResult,
  cancelS,
  cancelU,
  checkRows,
  fired,
  inquireRefundResult,
  inquiry,
  inquiryFail,
  inquiryNotFound,
  inquiryProcessing,
  inquirySuccess,
  inquiryU,
  lastView,
  notified,
  payResult,
  payS,
  payTimeout,
  payU,
  posCancel,
  refundResult,
  requestPayment,
  requestRefund,
  reviewResolved,
  run,
  type Step,
} from './testing/saga-test-kit';

const { paySent, inquiring, succeeded, cancelling } = GIVEN;
const PROCESSING_STARTED = ['publish PaymentProcessing PROCESSING #1', 'send InquirePayment#1', `timer INQUIRY#2 +${DEADLINE}`];
const CANCEL_SENT = ['send CancelPayment#1', 'cancel timer INQUIRY', `timer CANCEL_RETRY#2 +${DEADLINE}`];
/** cancel #1 refused by Alipay (after pay U, inquiry #1 out, POS abort): the check is inquiry #2 */
const cancelRefused = [...cancelling, cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')];
/** the reversal refund went out, an earlier cancel then answered S, and the refund answered U and `n` inquiries PROCESSING */
const lateCancelRefundUnknown = (inquiries: number): Step[] => {
  const steps: Step[] = [...cancelRefused, inquirySuccess(2), cancelS(1), refundResult('rev_pay_01JDZ8X3', 1, 'U', 'UNKNOWN_EXCEPTION')];
  for (let i = 0; i < inquiries; i++) steps.push(fired('REFUND_INQUIRY', 2 + i), inquireRefundResult('rev_pay_01JDZ8X3', 2 + i, 'S', 'SUCCESS', 'PROCESSING'));
  return steps;
};
/** cancel #1 left unanswered, #2 refused, the check found it paid: the reversal refund #1 is out */
const reversingAfterRetry: Step[] = [...cancelling, fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2)];
/** cancel #1 left unanswered, #2 found no order: closed, a success reported later is an anomaly */
const closedNotFoundAfterRetry: Step[] = [...cancelling, fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'ORDER_NOT_EXIST')];
const reversalRefundGivenUp = (): Step[] => {
  const steps: Step[] = [...reversingAfterRetry, refundResult('rev_pay_01JDZ8X3', 1, 'U', 'UNKNOWN_EXCEPTION')];
  for (let i = 0; i < 6; i++) steps.push(fired('REFUND_INQUIRY', 2 + i), inquireRefundResult('rev_pay_01JDZ8X3', 2 + i, 'S', 'SUCCESS', 'PROCESSING'));
  return steps;
};
const cancelNeverAnswered = (given: Step[] = cancelling): Step[] => {
  const steps: Step[] = [...given];
  for (let attempt = 1; attempt <= 5; attempt++) steps.push(cancelU(attempt), fired('CANCEL_RETRY', attempt + 1));
  return steps;
};

describe('payment saga: pay', () => {
  checkRows([
    { name: 'RequestPayment → PAY_SENT: PaymentCreated, Pay#0, first inquiry due in 5 s', given: [], when: requestPayment(), then: ['publish PaymentCreated PROCESSING #0', 'send Pay#0', 'timer INQUIRY#1 +5000'], status: 'PAY_SENT' },
    { name: 'pay S → SUCCEEDED', given: paySent, when: payS(), then: ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'pay F → FAILED, no cancel', given: paySent, when: payResult('F', 'USER_BALANCE_NOT_ENOUGH'), then: ['publish PaymentFailed FAILED #1', 'cancel timer INQUIRY'], status: 'FAILED' },
    { name: 'pay U → INQUIRING: PaymentProcessing, inquiry #1 at once', given: paySent, when: payU(), then: PROCESSING_STARTED, status: 'INQUIRING' },
    { name: 'no pay answer within 5 s → INQUIRING, inquiry #1', given: paySent, when: fired('INQUIRY', 1), then: PROCESSING_STARTED, status: 'INQUIRING' },
    { name: 'pay U (HTTP timeout) after the inquiries started → nothing new', given: [...paySent, fired('INQUIRY', 1)], when: payTimeout(), then: [], status: 'INQUIRING' },
    { name: 'pay S after the inquiries started → SUCCEEDED', given: [...paySent, fired('INQUIRY', 1)], when: payS(), then: ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'pay F REPEAT_REQ_INCONSISTENT proves nothing → inquire', given: paySent, when: payResult('F', 'REPEAT_REQ_INCONSISTENT'), then: PROCESSING_STARTED, status: 'INQUIRING' },
    { name: 'the same RequestPayment again → nothing', given: paySent, when: requestPayment(), then: [], status: 'PAY_SENT' },
    { name: 'another RequestPayment under the same paymentId → IDEMPOTENCY_CONFLICT', given: paySent, when: requestPayment({ amount: { currency: 'HKD', value: '999' } }), then: ['reject IDEMPOTENCY_CONFLICT'], status: 'PAY_SENT' },
  ]);
});

describe('payment saga: inquiries', () => {
  checkRows([
    { name: 'S PROCESSING → next inquiry after the interval', given: inquiring, when: inquiryProcessing(1), then: ['timer INQUIRY#2 +3000'], status: 'INQUIRING' },
    { name: 'interval elapsed → inquiry #2', given: [...inquiring, inquiryProcessing(1)], when: fired('INQUIRY', 2), then: ['send InquirePayment#2', `timer INQUIRY#3 +${DEADLINE}`], status: 'INQUIRING' },
    { name: 'inquiry never answered → inquiry #2 at the deadline anyway', given: inquiring, when: fired('INQUIRY', 2), then: ['send InquirePayment#2', `timer INQUIRY#3 +${DEADLINE}`], status: 'INQUIRING' },
    { name: 'S SUCCESS → SUCCEEDED', given: inquiring, when: inquirySuccess(1), then: ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'S FAIL → FAILED', given: inquiring, when: inquiryFail(1), then: ['publish PaymentFailed FAILED #2', 'cancel timer INQUIRY'], status: 'FAILED' },
    { name: 'S CANCELLED (closed by Alipay, not by us) → FAILED', given: inquiring, when: inquiry(1, 'S', 'SUCCESS', 'CANCELLED', { paymentResultCode: 'ORDER_IS_CLOSED' }), then: ['publish PaymentFailed FAILED #2', 'cancel timer INQUIRY'], status: 'FAILED' },
    { name: 'F ORDER_NOT_EXIST → keep inquiring', given: inquiring, when: inquiryNotFound(1), then: ['timer INQUIRY#2 +3000'], status: 'INQUIRING' },
    { name: 'U → keep inquiring', given: inquiring, when: inquiryU(1), then: ['timer INQUIRY#2 +3000'], status: 'INQUIRING' },
    { name: 'F other (inquiry refused) → cancel', given: inquiring, when: inquiry(1, 'F', 'ACCESS_DENIED'), then: CANCEL_SENT, status: 'CANCELLING' },
    { name: 'last inquiry still PROCESSING → cancel #1 at once', given: GIVEN.inquiriesExhausted().slice(0, -1), when: inquiryProcessing(15), then: CANCEL_SENT, status: 'CANCELLING' },
    { name: 'last inquiry never answered → cancel #1', given: GIVEN.inquiriesExhausted().slice(0, -1), when: fired('INQUIRY', 16), then: CANCEL_SENT, status: 'CANCELLING' },
  ]);
});

describe('payment saga: notifications', () => {
  checkRows([
    { name: 'S before the pay answer → SUCCEEDED', given: paySent, when: notified(), then: ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'S while inquiring → SUCCEEDED', given: inquiring, when: notified(), then: ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'F while inquiring → FAILED', given: inquiring, when: notified('F'), then: ['publish PaymentFailed FAILED #2', 'cancel timer INQUIRY'], status: 'FAILED' },
    { name: 'S again after SUCCEEDED → nothing', given: [...succeeded, notified()], when: notified(), then: [], status: 'SUCCEEDED' },
    { name: 'pay S after the notification made it SUCCEEDED → nothing', given: [...paySent, notified()], when: payS(), then: [], status: 'SUCCEEDED' },
    { name: 'a late inquiry SUCCESS after SUCCEEDED → nothing', given: [...inquiring, notified()], when: inquirySuccess(1), then: [], status: 'SUCCEEDED' },
  ]);
});

describe('payment saga: cancel', () => {
  checkRows([
    { name: 'POS cancel while PAY_SENT → CANCELLING, cancel #1', given: paySent, when: posCancel(), then: CANCEL_SENT, status: 'CANCELLING' },
    { name: 'POS cancel while INQUIRING → CANCELLING, cancel #1', given: inquiring, when: posCancel(), then: CANCEL_SENT, status: 'CANCELLING' },
    { name: 'cancel S → CANCELLED', given: cancelling, when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'cancel U → retry after the first delay', given: cancelling, when: cancelU(1), then: ['timer CANCEL_RETRY#2 +2000'], status: 'CANCELLING' },
    { name: 'retry delay elapsed → cancel #2', given: [...cancelling, cancelU(1)], when: fired('CANCEL_RETRY', 2), then: ['send CancelPayment#2', `timer CANCEL_RETRY#3 +${DEADLINE}`], status: 'CANCELLING' },
    { name: 'cancel never answered → cancel #2 at the deadline', given: cancelling, when: fired('CANCEL_RETRY', 2), then: ['send CancelPayment#2', `timer CANCEL_RETRY#3 +${DEADLINE}`], status: 'CANCELLING' },
    { name: 'cancel #6 still U → NEEDS_REVIEW', given: cancelNeverAnswered(), when: cancelU(6), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer CANCEL_RETRY'], status: 'NEEDS_REVIEW' },
    { name: 'cancel #6 never answered → NEEDS_REVIEW', given: cancelNeverAnswered(), when: fired('CANCEL_RETRY', 7), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer CANCEL_RETRY'], status: 'NEEDS_REVIEW' },
    { name: 'a late cancel S resolves the review → CANCELLED', given: [...cancelNeverAnswered(), cancelU(6)], when: cancelS(4), then: ['publish PaymentCancelled CANCELLED #3'], status: 'CANCELLED' },
    { name: 'cancel unknown for good, then Alipay says not paid and nothing said paid → the review is settled: CANCELLED', given: [...cancelNeverAnswered(), cancelU(6)], when: notified('F'), then: ['publish PaymentCancelled CANCELLED #3'], status: 'CANCELLED' },
    {
      name: 'the same after the inquiries ran out (reason UNCONFIRMED) → FAILED with Alipay\'s reason',
      given: [...cancelNeverAnswered(GIVEN.inquiriesExhausted()), cancelU(6)], when: inquiryFail(15, 'ORDER_IS_CLOSED'), then: ['publish PaymentFailed FAILED #3'], status: 'FAILED',
    },
    { name: 'cancel unknown for good, a success reported in review, then a failure → contradiction: stays NEEDS_REVIEW', given: [...cancelNeverAnswered(), cancelU(6), notified()], when: notified('F'), then: [], status: 'NEEDS_REVIEW' },
    { name: 'cancel unknown for good after a success was reported, then a failure → contradiction: stays NEEDS_REVIEW', given: [...cancelNeverAnswered([...cancelling, payS()]), cancelU(6)], when: notified('F'), then: [], status: 'NEEDS_REVIEW' },
    {
      name: 'the reversal refund failed → review; then an earlier cancel answers S → CANCELLED: the cancel gave the money back, no manual refund',
      given: [...reversingAfterRetry, refundResult('rev_pay_01JDZ8X3', 1, 'F', 'REFUND_NOT_SUPPORTED')], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #5'], status: 'CANCELLED',
    },
    {
      name: 'the reversal refund given up on → review; then an earlier cancel answers S → CANCELLED, flagged: the refund may have paid back too',
      given: reversalRefundGivenUp(), when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #4', 'publish PaymentNeedsReview rev_pay_01JDZ8X3 PROCESSING CANCELLED #5'], status: 'CANCELLED',
    },
    {
      name: 'closed on no order, a success reported → review; then an earlier cancel answers S → CANCELLED: the cancel gave it back',
      given: [...closedNotFoundAfterRetry, notified()], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #4'], status: 'CANCELLED',
    },
    { name: 'closed on no order, then an earlier cancel answers S, then a success is reported → the cancel gave it back: no review', given: [...closedNotFoundAfterRetry, cancelS(1)], when: notified(), then: [], status: 'CANCELLED' },
    {
      name: 'refused, then in review as a contradiction, then an earlier cancel answers S after all → CANCELLED',
      given: [...cancelling, payS(), fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'ORDER_STATUS_INVALID'), inquiryFail(2)], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #3'], status: 'CANCELLED',
    },
    { name: 'cancel F ORDER_NOT_EXIST (POS abort) → CANCELLED', given: cancelling, when: cancelResult(1, 'F', 'ORDER_NOT_EXIST'), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'cancel F ORDER_NOT_EXIST before any pay answer → proves nothing, retry', given: [...paySent, posCancel()], when: cancelResult(1, 'F', 'ORDER_NOT_EXIST'), then: ['timer CANCEL_RETRY#2 +2000'], status: 'CANCELLING' },
    { name: 'cancel F ORDER_NOT_EXIST after inquiries ran out → FAILED', given: GIVEN.inquiriesExhausted(inquiryNotFound), when: cancelResult(1, 'F', 'ORDER_NOT_EXIST'), then: ['publish PaymentFailed FAILED #2', 'cancel timer CANCEL_RETRY'], status: 'FAILED' },
    { name: 'cancel F CANCEL_WINDOW_EXCEED → inquire first', given: cancelling, when: cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED'), then: ['send InquirePayment#2', 'cancel timer CANCEL_RETRY', `timer INQUIRY#3 +${DEADLINE}`], status: 'REVERSAL_CHECK' },
    { name: 'cancel F PROCESS_FAIL (any other refusal) → inquire first', given: cancelling, when: cancelResult(1, 'F', 'PROCESS_FAIL'), then: ['send InquirePayment#2', 'cancel timer CANCEL_RETRY', `timer INQUIRY#3 +${DEADLINE}`], status: 'REVERSAL_CHECK' },
    {
      name: 'refused, and the inquiry says paid → full refund (CANCEL_FALLBACK)',
      given: cancelRefused,
      when: inquirySuccess(2),
      then: ['publish RefundRequested rev_pay_01JDZ8X3 PROCESSING PROCESSING #2', 'send Refund#1', 'cancel timer INQUIRY', `timer REFUND_INQUIRY#2 +${DEADLINE}`],
      status: 'REFUNDING_REVERSAL',
    },
    {
      name: 'reversal refund S → CANCELLED',
      given: [...cancelRefused, inquirySuccess(2)],
      when: { input: { type: 'RefundResult', data: { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', attempt: 1, outcome: 'S', resultCode: 'SUCCESS', refundId: 'rev_pay_01JDZ8X3', refundRequestId: 'rev_pay_01JDZ8X3' } }, atMs: 60_000 },
      then: ['publish RefundSucceeded rev_pay_01JDZ8X3 SUCCEEDED PROCESSING #3', 'publish PaymentCancelled CANCELLED #4', 'cancel timer REFUND_INQUIRY'],
      status: 'CANCELLED',
    },
    {
      name: 'reversal refund F → NEEDS_REVIEW',
      given: [...cancelRefused, inquirySuccess(2)],
      when: { input: { type: 'RefundResult', data: { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', attempt: 1, outcome: 'F', resultCode: 'REFUND_WINDOW_EXCEED', refundId: 'rev_pay_01JDZ8X3', refundRequestId: 'rev_pay_01JDZ8X3' } }, atMs: 60_000 },
      then: ['publish RefundFailed rev_pay_01JDZ8X3 FAILED PROCESSING #3', 'publish PaymentNeedsReview NEEDS_REVIEW #4', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'an earlier cancel answers S while the reversal refund is out → CANCELLED',
      given: [...cancelRefused, inquirySuccess(2)],
      when: cancelS(1),
      then: ['publish PaymentCancelled CANCELLED #3'],
      status: 'CANCELLED',
    },
    {
      name: 'a late inquiry answers CANCELLED while the reversal refund is out → CANCELLED, as a cancel S would',
      given: reversingAfterRetry,
      when: inquiry(1, 'S', 'SUCCESS', 'CANCELLED'),
      then: ['publish PaymentCancelled CANCELLED #3'],
      status: 'CANCELLED',
    },
    {
      name: 'cancelled by that answer, and the reversal refund S too → the shopper was paid back twice: NEEDS_REVIEW',
      given: [...reversingAfterRetry, inquiry(1, 'S', 'SUCCESS', 'CANCELLED')],
      when: refundResult('rev_pay_01JDZ8X3', 1, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded rev_pay_01JDZ8X3 SUCCEEDED CANCELLED #4', 'publish PaymentNeedsReview NEEDS_REVIEW #5', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'paid back twice (cancelled, then the reversal refund S), then a REVERSED report → still NEEDS_REVIEW: the report confirms the cancel, not that the refund came back',
      given: [...reversingAfterRetry, inquiry(1, 'S', 'SUCCESS', 'CANCELLED'), refundResult('rev_pay_01JDZ8X3', 1, 'S', 'SUCCESS')],
      when: reviewResolved('REVERSED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #6'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'paid back twice, then another inquiry answers CANCELLED → still NEEDS_REVIEW',
      given: [...reversingAfterRetry, inquiry(1, 'S', 'SUCCESS', 'CANCELLED'), refundResult('rev_pay_01JDZ8X3', 1, 'S', 'SUCCESS')],
      when: inquiry(1, 'S', 'SUCCESS', 'CANCELLED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #6'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'cancelled by the late cancel S, the reversal refund unanswered → it is inquired',
      given: [...cancelRefused, inquirySuccess(2), cancelS(1)],
      when: fired('REFUND_INQUIRY', 2),
      then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`],
      status: 'CANCELLED',
    },
    {
      name: 'cancelled by the late cancel S, the reversal refund F (already cancelled) → nothing more, refund timer cleared',
      given: [...cancelRefused, inquirySuccess(2), cancelS(1)],
      when: refundResult('rev_pay_01JDZ8X3', 1, 'F', 'ORDER_IS_CANCELED'),
      then: ['publish RefundFailed rev_pay_01JDZ8X3 FAILED CANCELLED #4', 'cancel timer REFUND_INQUIRY'],
      status: 'CANCELLED',
    },
    {
      name: 'cancelled by the late cancel S, and the reversal refund S too → the shopper was paid back twice: NEEDS_REVIEW',
      given: [...cancelRefused, inquirySuccess(2), cancelS(1)],
      when: refundResult('rev_pay_01JDZ8X3', 1, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded rev_pay_01JDZ8X3 SUCCEEDED CANCELLED #4', 'publish PaymentNeedsReview NEEDS_REVIEW #5', 'cancel timer REFUND_INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'cancelled by the late cancel S, the reversal refund never reached Alipay → it is not sent now: the cancel returned the money',
      given: [...cancelRefused, inquirySuccess(2), cancelS(1), refundResult('rev_pay_01JDZ8X3', 1, 'U', 'UNKNOWN_EXCEPTION'), fired('REFUND_INQUIRY', 2)],
      when: inquireRefundResult('rev_pay_01JDZ8X3', 2, 'F', 'ORDER_NOT_EXIST'),
      then: ['publish RefundFailed rev_pay_01JDZ8X3 FAILED CANCELLED #4', 'cancel timer REFUND_INQUIRY'],
      status: 'CANCELLED',
    },
    {
      name: 'cancelled by the late cancel S, the reversal refund still unknown after every inquiry → flagged for review: it may have paid the shopper back twice',
      given: lateCancelRefundUnknown(5).concat(fired('REFUND_INQUIRY', 7)),
      when: inquireRefundResult('rev_pay_01JDZ8X3', 7, 'S', 'SUCCESS', 'PROCESSING'),
      then: ['publish PaymentNeedsReview rev_pay_01JDZ8X3 PROCESSING CANCELLED #4', 'cancel timer REFUND_INQUIRY'],
      status: 'CANCELLED',
    },
    {
      name: 'cancelled by the late cancel S, the reversal refund given up on, then it turns out it went through → NEEDS_REVIEW',
      given: lateCancelRefundUnknown(6),
      when: refundResult('rev_pay_01JDZ8X3', 1, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded rev_pay_01JDZ8X3 SUCCEEDED CANCELLED #5', 'publish PaymentNeedsReview NEEDS_REVIEW #6'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'refused, and the inquiry says not paid (POS abort) → CANCELLED', given: cancelRefused, when: inquiryFail(2), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer INQUIRY'], status: 'CANCELLED' },
    { name: 'refused and closed not paid, then a success is reported → nothing reversed it: NEEDS_REVIEW', given: [...cancelRefused, inquiryFail(2)], when: notified(), then: ['publish PaymentNeedsReview NEEDS_REVIEW #3'], status: 'NEEDS_REVIEW' },
    { name: 'a success was reported, the cancel refused, then the inquiry says not paid → contradiction: NEEDS_REVIEW', given: [...cancelling, payS(), cancelResult(1, 'F', 'ORDER_STATUS_INVALID')], when: inquiryFail(2), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer INQUIRY'], status: 'NEEDS_REVIEW' },
    {
      name: 'a success was reported, the cancel refused, then the inquiry says CANCELLED → an earlier cancel went through and gave it back: CANCELLED',
      given: [...cancelling, payS(), fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'ORDER_STATUS_INVALID')], when: inquiry(2, 'S', 'SUCCESS', 'CANCELLED'), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer INQUIRY'], status: 'CANCELLED',
    },
    {
      name: 'a void refused after its first try went unanswered, then the inquiry says CANCELLED → the void went through: CANCELLED',
      given: [...succeeded, posCancel(), cancelU(1), fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED')], when: inquiry(1, 'S', 'SUCCESS', 'CANCELLED'), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer INQUIRY'], status: 'CANCELLED',
    },
    { name: 'refused, inquiry PROCESSING → keep checking', given: cancelRefused, when: inquiryProcessing(2), then: ['timer INQUIRY#3 +3000'], status: 'REVERSAL_CHECK' },
    { name: 'POS cancel on SUCCEEDED (void) → CANCELLING, still SUCCEEDED for the POS', given: succeeded, when: posCancel(), then: ['send CancelPayment#1', `timer CANCEL_RETRY#2 +${DEADLINE}`], status: 'CANCELLING' },
    { name: 'void: cancel S → CANCELLED', given: [...succeeded, posCancel()], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'void: cancel F ORDER_NOT_EXIST contradicts a known success → inquire', given: [...succeeded, posCancel()], when: cancelResult(1, 'F', 'ORDER_NOT_EXIST'), then: ['send InquirePayment#1', 'cancel timer CANCEL_RETRY', `timer INQUIRY#2 +${DEADLINE}`], status: 'REVERSAL_CHECK' },
    { name: 'void after a refund → PAYMENT_NOT_CANCELLABLE', given: [...succeeded, requestRefund(1, '100')], when: posCancel(), then: ['reject PAYMENT_NOT_CANCELLABLE'], status: 'SUCCEEDED' },
    { name: 'POS cancel again while cancelling → nothing', given: cancelling, when: posCancel(), then: [], status: 'CANCELLING' },
    { name: 'POS cancel on FAILED → nothing (already not charged)', given: [...paySent, payResult('F', 'RISK_REJECT')], when: posCancel(), then: [], status: 'FAILED' },
    { name: 'POS cancel on CANCELLED → nothing', given: [...cancelling, cancelS(1)], when: posCancel('OPERATOR'), then: [], status: 'CANCELLED' },
    { name: 'POS cancel on NEEDS_REVIEW → nothing (an operator owns it)', given: [...cancelNeverAnswered(), cancelU(6)], when: posCancel(), then: [], status: 'NEEDS_REVIEW' },
    { name: 'cancel of an unknown payment → PAYMENT_NOT_FOUND', given: [], when: posCancel(), then: ['reject PAYMENT_NOT_FOUND'], status: 'NEW' },
  ]);
});

/** paid; refunds both refused by Alipay: nothing went back */
const refundsRefused: Step[] = [
  ...succeeded,
  requestRefund(1, '500'),
  refundResult('ref_1', 1, 'F', 'REFUND_WINDOW_EXCEED'),
  requestRefund(2, '100'),
  refundResult('ref_2', 2, 'F', 'RISK_REJECT'),
];
/** refund R-1 answered U and still PROCESSING after every inquiry: given up on, its amount kept reserved */
const refundGivenUp = (): Step[] => {
  const steps: Step[] = [...succeeded, requestRefund(1, '500'), refundResult('ref_1', 1, 'U', 'UNKNOWN_EXCEPTION')];
  for (let i = 0; i < 6; i++) steps.push(fired('REFUND_INQUIRY', 2 + i), inquireRefundResult('ref_1', 2 + i, 'S', 'SUCCESS', 'PROCESSING'));
  return steps;
};

describe('payment saga: a void (cancel of a SUCCEEDED payment) after refunds', () => {
  checkRows([
    { name: 'every refund refused by Alipay → the void goes ahead: CANCELLING, cancel #1', given: refundsRefused, when: posCancel(), then: ['send CancelPayment#1', `timer CANCEL_RETRY#2 +${DEADLINE}`], status: 'CANCELLING' },
    { name: 'a refund refused, another still in flight → PAYMENT_NOT_CANCELLABLE', given: [...refundsRefused, requestRefund(3, '100')], when: posCancel(), then: ['reject PAYMENT_NOT_CANCELLABLE'], status: 'SUCCEEDED' },
    { name: 'a refund refused, another succeeded → PAYMENT_NOT_CANCELLABLE', given: [...refundsRefused, requestRefund(3, '100'), refundResult('ref_3', 3, 'S', 'SUCCESS')], when: posCancel(), then: ['reject PAYMENT_NOT_CANCELLABLE'], status: 'SUCCEEDED' },
    { name: 'a refund given up on (may have paid out) → PAYMENT_NOT_CANCELLABLE', given: refundGivenUp(), when: posCancel(), then: ['reject PAYMENT_NOT_CANCELLABLE'], status: 'SUCCEEDED' },
    { name: 'voiding after refused refunds: a new refund → PAYMENT_NOT_REFUNDABLE', given: [...refundsRefused, posCancel()], when: requestRefund(3, '100'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'CANCELLING' },
    { name: 'voiding after refused refunds: a refused one sent again → the same refund, nothing new', given: [...refundsRefused, posCancel()], when: requestRefund(1, '500'), then: [], status: 'CANCELLING' },
    { name: 'voiding after refused refunds: cancel S → CANCELLED', given: [...refundsRefused, posCancel()], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #6', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'voided after refused refunds: a new refund → PAYMENT_NOT_REFUNDABLE', given: [...refundsRefused, posCancel(), cancelS(1)], when: requestRefund(3, '100'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'CANCELLED' },
    {
      name: 'void refused by Alipay after refused refunds, the check finds it paid → the reversal refund of the full amount',
      given: [...refundsRefused, posCancel(), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')],
      when: inquirySuccess(1),
      then: ['publish RefundRequested rev_pay_01JDZ8X3 PROCESSING SUCCEEDED #6', 'send Refund#3', 'cancel timer INQUIRY', `timer REFUND_INQUIRY#4 +${DEADLINE}`],
      status: 'REFUNDING_REVERSAL',
    },
  ]);

  it('the voided payment shows nothing refunded: the refused refunds gave nothing back', () => {
    const view = lastView(run([...refundsRefused, posCancel(), cancelS(1)]));
    expect(view).toMatchObject({ status: 'CANCELLED', refundedAmount: { currency: 'HKD', value: '0' } });
  });
});

describe('payment saga: cancel wins', () => {
  checkRows([
    { name: 'late pay S while cancelling → no success', given: [...paySent, posCancel()], when: payS(), then: [], status: 'CANCELLING' },
    { name: 'inquiry SUCCESS while cancelling → no success', given: cancelling, when: inquirySuccess(1), then: [], status: 'CANCELLING' },
    { name: 'notification S while cancelling → no success', given: cancelling, when: notified(), then: [], status: 'CANCELLING' },
    { name: 'pay F while cancelling → nothing was charged: CANCELLED, no cancel left to wait for', given: [...paySent, posCancel()], when: payResult('F', 'RISK_REJECT'), then: ['publish PaymentCancelled CANCELLED #1', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'pay F after a success while cancelling → the cancel still decides', given: [...paySent, posCancel(), notified()], when: payResult('F', 'RISK_REJECT'), then: [], status: 'CANCELLING' },
    { name: 'closed on a pay F while cancelling, then a success is reported → NEEDS_REVIEW', given: [...paySent, posCancel(), payResult('F', 'RISK_REJECT')], when: notified(), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2'], status: 'NEEDS_REVIEW' },
    { name: 'inquiry timer left from before the cancel → ignored', given: cancelling, when: fired('INQUIRY', 2), then: [], status: 'CANCELLING' },
    {
      name: 'after a late success, an inquiry answers CANCELLED → CANCELLED: the cancel went through, no more cancels sent',
      given: [...cancelling, notified()],
      when: inquiry(1, 'S', 'SUCCESS', 'CANCELLED'),
      then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'],
      status: 'CANCELLED',
    },
    { name: 'after a late success, an inquiry answers FAIL → nothing: the cancel decides', given: [...cancelling, notified()], when: inquiryFail(1), then: [], status: 'CANCELLING' },
    { name: 'after a late success the cancel still decides → CANCELLED', given: [...cancelling, notified(), inquirySuccess(1)], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'cancel F ORDER_NOT_EXIST after a success was reported → not trusted: inquire', given: [...cancelling, notified()], when: cancelResult(1, 'F', 'ORDER_NOT_EXIST'), then: ['send InquirePayment#2', 'cancel timer CANCEL_RETRY', `timer INQUIRY#3 +${DEADLINE}`], status: 'REVERSAL_CHECK' },
  ]);
});

/**
 * The reversal refund failed (review), the reports then settled the payment CHARGED, and the cashier voided it the next
 * day: Alipay refused the cancel again and the check found it paid, so a second reversal refund goes out.
 */
const reversedAgain: Step[] = [
  ...cancelRefused, inquirySuccess(2), refundResult('rev_pay_01JDZ8X3', 1, 'F', 'REFUND_NOT_SUPPORTED'), reviewResolved('CHARGED'), posCancel(), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED'),
];

describe('payment saga: a second reversal refund of the same payment', () => {
  checkRows([
    {
      name: 'paid, not cancellable again → a reversal refund of its own, not the failed one again (Alipay would answer its old F)',
      given: reversedAgain,
      when: inquirySuccess(3),
      then: ['publish RefundRequested rev2_pay_01JDZ8X3 PROCESSING SUCCEEDED #6', 'send Refund#2', 'cancel timer INQUIRY', `timer REFUND_INQUIRY#3 +${DEADLINE}`],
      status: 'REFUNDING_REVERSAL',
    },
    {
      name: 'the second reversal refund S → CANCELLED',
      given: [...reversedAgain, inquirySuccess(3)],
      when: refundResult('rev2_pay_01JDZ8X3', 2, 'S', 'SUCCESS'),
      then: ['publish RefundSucceeded rev2_pay_01JDZ8X3 SUCCEEDED SUCCEEDED #7', 'publish PaymentCancelled CANCELLED #8', 'cancel timer REFUND_INQUIRY'],
      status: 'CANCELLED',
    },
  ]);
});

describe('payment saga: stale answers and timers', () => {
  const twoInquiriesOut = [...inquiring, fired('INQUIRY', 2)];
  checkRows([
    { name: 'inquiry #1 PROCESSING after #2 was sent → nothing', given: twoInquiriesOut, when: inquiryProcessing(1), then: [], status: 'INQUIRING' },
    { name: 'inquiry #1 refused after #2 was sent → no cancel', given: twoInquiriesOut, when: inquiry(1, 'F', 'ACCESS_DENIED'), then: [], status: 'INQUIRING' },
    { name: 'inquiry #1 SUCCESS after #2 was sent → a fact is a fact: SUCCEEDED', given: twoInquiriesOut, when: inquirySuccess(1), then: ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'an old timer (attempt already replaced) → ignored', given: inquiring, when: fired('INQUIRY', 1), then: [], status: 'INQUIRING' },
    { name: 'a timer of another name → ignored', given: inquiring, when: fired('CANCEL_RETRY', 2), then: [], status: 'INQUIRING' },
    { name: 'cancel #1 U after #2 was sent → nothing', given: [...cancelling, cancelU(1), fired('CANCEL_RETRY', 2)], when: cancelU(1), then: [], status: 'CANCELLING' },
    { name: 'cancel #1 S after #2 was sent → CANCELLED', given: [...cancelling, cancelU(1), fired('CANCEL_RETRY', 2)], when: cancelS(1), then: ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY'], status: 'CANCELLED' },
    { name: 'a cancel answer nobody asked for → nothing', given: inquiring, when: cancelS(1), then: [], status: 'INQUIRING' },
    { name: 'an answer for another paymentRequestId → nothing', given: inquiring, when: inquiry(1, 'S', 'SUCCESS', 'SUCCESS', { paymentRequestId: 'pay_other' }), then: [], status: 'INQUIRING' },
    { name: 'an answer before the payment exists → nothing', given: [], when: payS(), then: [], status: 'NEW' },
    { name: 'timers after a final status → nothing', given: succeeded, when: fired('INQUIRY', 1), then: [], status: 'SUCCEEDED' },
    { name: 'pay F after FAILED → nothing', given: [...paySent, payResult('F', 'RISK_REJECT')], when: payResult('F', 'RISK_REJECT'), then: [], status: 'FAILED' },
  ]);
});

describe('payment saga: a success reported after the payment was closed', () => {
  checkRows([
    {
      name: 'closed as FAILED on cancel ORDER_NOT_EXIST, then notified S → NEEDS_REVIEW (nobody reversed it)',
      given: [...GIVEN.inquiriesExhausted(inquiryNotFound), cancelResult(1, 'F', 'ORDER_NOT_EXIST')],
      when: notified(),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #3'],
      status: 'NEEDS_REVIEW',
    },
    { name: 'closed by a cancel S, then notified S → nothing (the cancel returns the money)', given: [...cancelling, cancelS(1)], when: notified(), then: [], status: 'CANCELLED' },
    { name: 'pay F, then notified S → nothing (Alipay F is final)', given: [...paySent, payResult('F', 'RISK_REJECT')], when: notified(), then: [], status: 'FAILED' },
  ]);
});
