import type { Money } from '@upm/contracts';
import type { SagaInput } from './model';
import {
  AMOUNT,
  DEADLINE,
  GIVEN,
  cancelResult,
  charging,
  checkRows,
  fired,
  inquiry,
  inquirySuccess,
  lastView,
  notified,
  payS,
  requestRefund,
  reviewResolved,
  run,
} from './testing/saga-test-kit';

const { paySent, inquiring, succeeded, cancelling } = GIVEN;
const LESS: Money = { currency: 'HKD', value: '1150' };
const OTHER_CURRENCY: Money = { currency: 'USD', value: '1250' };
const IN_REVIEW = ['publish PaymentNeedsReview NEEDS_REVIEW #1', 'cancel timer INQUIRY'];
/** the cashier aborted, Alipay refused the cancel: inquiry #2 checks whether it was paid */
const cancelRefused = [...cancelling, cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')];
/** paid as asked, refund R-1 of 500 out */
const refundInFlight = [...succeeded, requestRefund(1, '500')];

describe('payment saga: a success for another amount than asked (paymentAmount) is never SUCCEEDED', () => {
  checkRows([
    { name: 'pay S for the amount asked → SUCCEEDED', given: paySent, when: charging(payS(), AMOUNT), then: ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'pay S for the amount asked, written otherwise ("01250") → SUCCEEDED', given: paySent, when: charging(payS(), { currency: 'HKD', value: '01250' }), then: ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'pay S without an amount → SUCCEEDED, as before', given: paySent, when: payS(), then: ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'pay S for less → NEEDS_REVIEW', given: paySent, when: charging(payS(), LESS), then: IN_REVIEW },
    { name: 'pay S in another currency → NEEDS_REVIEW', given: paySent, when: charging(payS(), OTHER_CURRENCY), then: IN_REVIEW },
    { name: 'notification S for less before the pay answer → NEEDS_REVIEW', given: paySent, when: charging(notified(), LESS), then: IN_REVIEW },
    { name: 'notification S without an amount (Alipay\'s was unreadable) → SUCCEEDED, as a pay S without one', given: paySent, when: { ...notified(), data: { ...notified().data, amount: undefined } } as SagaInput, then: ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY'], status: 'SUCCEEDED' },
    { name: 'inquiry SUCCESS for less → NEEDS_REVIEW', given: inquiring, when: charging(inquirySuccess(1), LESS), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer INQUIRY'] },
    { name: 'inquiry PROCESSING naming another amount → still only pending: the next inquiry', given: inquiring, when: charging(inquiry(1, 'S', 'SUCCESS', 'PROCESSING'), LESS), then: ['timer INQUIRY#2 +3000'], status: 'INQUIRING' },
    { name: 'in review, then pay S for the amount asked → nothing: the answers contradict each other', given: [...paySent, charging(notified(), LESS)], when: charging(payS(), AMOUNT), then: [] },
    { name: 'in review, then the same notification again → nothing', given: [...paySent, charging(notified(), LESS)], when: charging(notified(), LESS), then: [] },
  ], 'NEEDS_REVIEW');
});

describe('payment saga: Alipay names another amount after the payment SUCCEEDED', () => {
  checkRows([
    { name: 'a notification for the amount asked → nothing', given: succeeded, when: notified(), then: [], status: 'SUCCEEDED' },
    { name: 'a notification for less → NEEDS_REVIEW', given: succeeded, when: charging(notified(), LESS), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2'], status: 'NEEDS_REVIEW' },
    { name: 'a refund in flight → NEEDS_REVIEW, its inquiry timer kept', given: refundInFlight, when: charging(notified(), LESS), then: ['publish PaymentNeedsReview NEEDS_REVIEW #3'], status: 'NEEDS_REVIEW' },
    {
      name: 'the refund in flight is still asked about in review',
      given: [...refundInFlight, charging(notified(), LESS)],
      when: fired('REFUND_INQUIRY', 2),
      then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`],
      status: 'NEEDS_REVIEW',
    },
    { name: 'then a refund → PAYMENT_NOT_REFUNDABLE', given: [...succeeded, charging(notified(), LESS)], when: requestRefund(2, '100'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'NEEDS_REVIEW' },
    {
      name: 'a refund in flight, then the reports show the charge cancelled → NEEDS_REVIEW (the shopper may be paid back twice), its inquiry timer kept',
      given: [...refundInFlight, charging(notified(), LESS)],
      when: reviewResolved('REVERSED'),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #4'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'a refund in flight, then the reports charge the amount asked → SUCCEEDED, its inquiry timer kept',
      given: [...refundInFlight, charging(notified(), LESS)],
      when: reviewResolved('CHARGED'),
      then: ['publish PaymentSucceeded SUCCEEDED #4'],
      status: 'SUCCEEDED',
    },
    {
      name: 'the refund in flight is still asked about once the reports settled the review',
      given: [...refundInFlight, charging(notified(), LESS), reviewResolved('CHARGED')],
      when: fired('REFUND_INQUIRY', 2),
      then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`],
      status: 'SUCCEEDED',
    },
  ]);
});

describe('payment saga: a refused cancel, and Alipay says it was paid another amount', () => {
  checkRows([
    { name: 'the check finds it paid as asked → the reversal refund of the full amount', given: cancelRefused, when: charging(inquirySuccess(2), AMOUNT), then: ['publish RefundRequested rev_pay_01JDZ8X3 PROCESSING PROCESSING #2', 'send Refund#1', 'cancel timer INQUIRY', `timer REFUND_INQUIRY#2 +${DEADLINE}`], status: 'REFUNDING_REVERSAL' },
    { name: 'the check finds it paid less → NEEDS_REVIEW, no refund of the amount asked', given: cancelRefused, when: charging(inquirySuccess(2), LESS), then: ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer INQUIRY'], status: 'NEEDS_REVIEW' },
    {
      name: 'paid less while cancelling, then the check finds it paid without an amount → NEEDS_REVIEW: the earlier answer named what was charged',
      given: [...cancelling, charging(notified(), LESS), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')],
      when: inquirySuccess(2),
      then: ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer INQUIRY'],
      status: 'NEEDS_REVIEW',
    },
    {
      name: 'paid as asked while cancelling, then the check finds it paid without an amount → the reversal refund of the full amount',
      given: [...cancelling, charging(notified(), AMOUNT), cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED')],
      when: inquirySuccess(2),
      then: ['publish RefundRequested rev_pay_01JDZ8X3 PROCESSING PROCESSING #2', 'send Refund#1', 'cancel timer INQUIRY', `timer REFUND_INQUIRY#2 +${DEADLINE}`],
      status: 'REFUNDING_REVERSAL',
    },
  ]);
});

it('the review says AMOUNT_MISMATCH and names both amounts, so that an operator knows what to give back', () => {
  const result = run([...paySent, charging(payS(), LESS)]);
  const published = result.steps.at(-1)!.outputs.find((output) => output.kind === 'PublishPaymentEvent');
  expect(published).toMatchObject({ event: { type: 'PaymentNeedsReview', data: { kind: 'AMOUNT_MISMATCH' } } });
  const view = lastView(result);
  expect(view).toMatchObject({ status: 'NEEDS_REVIEW', amount: AMOUNT, failure: { code: 'AMOUNT_MISMATCH' } });
  expect(view.failure?.message).toContain('paid 1150 HKD');
  expect(view.failure?.message).toContain('not the 1250 HKD asked');
});
