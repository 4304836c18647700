import type { SagaInput } from './model';
import { refundViewOf } from './view';
import {
  DEADLINE,
  GIVEN,
  cancelResult,
  cancelS,
  charging,
  checkRows,
  fired,
  inquireRefundResult,
  inquirySuccess,
  lastView,
  notified,
  payResult,
  PAYMENT_ID,
  posCancel,
  refundNotified,
  refundResult,
  requestRefund,
  reviewResolved,
  run,
  type Step,
  transcript,
  whenAfter,
} from './testing/saga-test-kit';

const { succeeded } = GIVEN; // 1250 HKD paid, last published sequence #1
const REFUND_1_SENT = ['publish RefundRequested R-1 PROCESSING SUCCEEDED #2', 'send Refund#1', `timer REFUND_INQUIRY#2 +${DEADLINE}`];
const r1InFlight = [...succeeded, requestRefund(1, '500')];
/** refund 1 answered U, then asked about `n` times with no final answer */
const r1Unknown = (inquiries: number): Step[] => {
  const steps: Step[] = [...r1InFlight, refundResult('ref_1', 1, 'U', 'REFUND_IN_PROCESS')];
  for (let i = 0; i < inquiries; i++) steps.push(fired('REFUND_INQUIRY', 2 + i), inquireRefundResult('ref_1', 2 + i, 'S', 'SUCCESS', 'PROCESSING'));
  return steps;
};

describe('refunds: acceptance', () => {
  checkRows([
    { name: 'partial refund of a SUCCEEDED payment → RefundRequested, Refund#1', given: succeeded, when: requestRefund(1, '500'), then: REFUND_1_SENT },
    { name: 'more than paid at once → REFUND_EXCEEDS_PAID', given: succeeded, when: requestRefund(1, '1251'), then: ['reject REFUND_EXCEEDS_PAID'] },
    { name: 'exactly the paid amount → accepted', given: succeeded, when: requestRefund(1, '1250'), then: ['publish RefundRequested R-1 PROCESSING SUCCEEDED #2', 'send Refund#1', `timer REFUND_INQUIRY#2 +${DEADLINE}`] },
    { name: 'a second refund while one is in flight → queued, no command', given: r1InFlight, when: requestRefund(2, '700'), then: ['publish RefundRequested R-2 PROCESSING SUCCEEDED #3'] },
    { name: 'in flight counts: 500 + 800 > 1250 → REFUND_EXCEEDS_PAID', given: r1InFlight, when: requestRefund(2, '800'), then: ['reject REFUND_EXCEEDS_PAID'] },
    { name: 'one given up as unknown counts: 500 unknown + 751 > 1250 → REFUND_EXCEEDS_PAID', given: r1Unknown(6), when: requestRefund(2, '751'), then: ['reject REFUND_EXCEEDS_PAID'] },
    { name: 'one given up as unknown leaves the rest: 500 unknown + 750 → sent', given: r1Unknown(6), when: requestRefund(2, '750'), then: ['publish RefundRequested R-2 PROCESSING SUCCEEDED #4', 'send Refund#8', `timer REFUND_INQUIRY#9 +${DEADLINE}`] },
    { name: 'queued counts too', given: [...r1InFlight, requestRefund(2, '700')], when: requestRefund(3, '100'), then: ['reject REFUND_EXCEEDS_PAID'] },
    { name: 'succeeded counts: 500 done + 751 > 1250 → REFUND_EXCEEDS_PAID', given: [...r1InFlight, refundResult('ref_1', 1, 'S', 'SUCCESS')], when: requestRefund(2, '751'), then: ['reject REFUND_EXCEEDS_PAID'] },
    { name: 'a failed refund releases its amount', given: [...r1InFlight, refundResult('ref_1', 1, 'F', 'REFUND_NOT_SUPPORTED')], when: requestRefund(2, '1250'), then: ['publish RefundRequested R-2 PROCESSING SUCCEEDED #4', 'send Refund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`] },
    { name: 'same refundRequestId and amount again → same refund, nothing new', given: r1InFlight, when: requestRefund(1, '500'), then: [] },
    { name: 'same refundRequestId after it succeeded → nothing new', given: [...r1InFlight, refundResult('ref_1', 1, 'S', 'SUCCESS')], when: requestRefund(1, '500'), then: [] },
    { name: 'same refundRequestId, another amount → IDEMPOTENCY_CONFLICT', given: r1InFlight, when: requestRefund(1, '400'), then: ['reject IDEMPOTENCY_CONFLICT'] },
    { name: 'same refundId under another refundRequestId → IDEMPOTENCY_CONFLICT', given: r1InFlight, when: requestRefund(2, '100', { refundId: 'ref_1' }), then: ['reject IDEMPOTENCY_CONFLICT'] },
    { name: 'another currency → REFUND_CURRENCY_MISMATCH', given: succeeded, when: requestRefund(1, '500', { currency: 'USD' }), then: ['reject REFUND_CURRENCY_MISMATCH'] },
    { name: 'zero → REFUND_AMOUNT_INVALID', given: succeeded, when: requestRefund(1, '0'), then: ['reject REFUND_AMOUNT_INVALID'] },
    { name: 'payment still PROCESSING → PAYMENT_NOT_REFUNDABLE', given: GIVEN.inquiring, when: requestRefund(1, '500'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'INQUIRING' },
    { name: 'payment FAILED → PAYMENT_NOT_REFUNDABLE', given: [...GIVEN.paySent, payResult('F', 'RISK_REJECT')], when: requestRefund(1, '500'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'FAILED' },
    { name: 'payment CANCELLED → PAYMENT_NOT_REFUNDABLE', given: [...GIVEN.cancelling, cancelS(1)], when: requestRefund(1, '500'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'CANCELLED' },
    { name: 'payment being voided → PAYMENT_NOT_REFUNDABLE', given: [...succeeded, posCancel()], when: requestRefund(1, '500'), then: ['reject PAYMENT_NOT_REFUNDABLE'], status: 'CANCELLING' },
    { name: 'unknown payment → PAYMENT_NOT_FOUND', given: [], when: requestRefund(1, '500'), then: ['reject PAYMENT_NOT_FOUND'], status: 'NEW' },
  ], 'SUCCEEDED');
});

describe('refunds: answers', () => {
  checkRows([
    { name: 'Refund S → RefundSucceeded, refundedAmount up', given: r1InFlight, when: refundResult('ref_1', 1, 'S', 'SUCCESS'), then: ['publish RefundSucceeded R-1 SUCCEEDED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'Refund F → RefundFailed', given: r1InFlight, when: refundResult('ref_1', 1, 'F', 'REFUND_WINDOW_EXCEED'), then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'first refund done → the queued one is sent', given: [...r1InFlight, requestRefund(2, '700')], when: refundResult('ref_1', 1, 'S', 'SUCCESS'), then: ['publish RefundSucceeded R-1 SUCCEEDED SUCCEEDED #4', 'send Refund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`] },
    {
      name: 'Refund F REPEAT_REQ_INCONSISTENT proves nothing (the first request may have gone through) → inquireRefund, amount kept reserved',
      given: r1InFlight, when: refundResult('ref_1', 1, 'F', 'REPEAT_REQ_INCONSISTENT'), then: ['timer REFUND_INQUIRY#2 +2000'],
    },
    { name: 'Refund U → inquireRefund after the first back-off delay', given: r1InFlight, when: refundResult('ref_1', 1, 'U', 'REFUND_IN_PROCESS'), then: ['timer REFUND_INQUIRY#2 +2000'] },
    { name: 'back-off elapsed → InquireRefund#2', given: r1Unknown(0), when: fired('REFUND_INQUIRY', 2), then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`] },
    { name: 'Refund never answered → InquireRefund at the deadline', given: r1InFlight, when: fired('REFUND_INQUIRY', 2), then: ['send InquireRefund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`] },
    { name: 'inquiry PROCESSING → the next, longer delay', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: inquireRefundResult('ref_1', 2, 'S', 'SUCCESS', 'PROCESSING'), then: ['timer REFUND_INQUIRY#3 +5000'] },
    { name: 'inquiry SUCCESS → RefundSucceeded', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: inquireRefundResult('ref_1', 2, 'S', 'SUCCESS', 'SUCCESS'), then: ['publish RefundSucceeded R-1 SUCCEEDED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'inquiry FAIL → RefundFailed', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: inquireRefundResult('ref_1', 2, 'S', 'SUCCESS', 'FAIL'), then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'inquiry ORDER_NOT_EXIST → the Refund never arrived: re-send it, same ids', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: inquireRefundResult('ref_1', 2, 'F', 'ORDER_NOT_EXIST'), then: ['send Refund#3', `timer REFUND_INQUIRY#4 +${DEADLINE}`] },
    { name: 'still PROCESSING after every inquiry → flagged for review, the payment stays SUCCEEDED', given: r1Unknown(5).concat(fired('REFUND_INQUIRY', 7)), when: inquireRefundResult('ref_1', 7, 'S', 'SUCCESS', 'PROCESSING'), then: ['publish PaymentNeedsReview R-1 PROCESSING SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'a stale U (older attempt) → nothing', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: refundResult('ref_1', 1, 'U', 'UNKNOWN_EXCEPTION'), then: [] },
    { name: 'a stale S (older attempt) still settles it', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: refundResult('ref_1', 1, 'S', 'SUCCESS'), then: ['publish RefundSucceeded R-1 SUCCEEDED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'notifyRefund S → RefundSucceeded', given: r1Unknown(0), when: refundNotified('R-1', 'S', '500'), then: ['publish RefundSucceeded R-1 SUCCEEDED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'duplicate answers after success → nothing', given: [...r1InFlight, refundResult('ref_1', 1, 'S', 'SUCCESS')], when: refundNotified('R-1', 'S', '500'), then: [] },
    { name: 'an answer for a refund we do not know → nothing', given: r1InFlight, when: refundResult('ref_9', 1, 'S', 'SUCCESS'), then: [] },
    { name: 'an old refund timer → ignored', given: r1Unknown(0), when: fired('REFUND_INQUIRY', 1), then: [] },
  ], 'SUCCEEDED');
});

describe('refunds: sequences', () => {
  it('partial and multiple: 500 + 750 = everything paid, then nothing more', () => {
    const result = run([...succeeded, requestRefund(1, '500'), requestRefund(2, '750'), refundResult('ref_1', 1, 'S', 'SUCCESS'), refundResult('ref_2', 2, 'S', 'SUCCESS')]);
    expect(lastView(result)).toMatchObject({ status: 'SUCCEEDED', refundedAmount: { currency: 'HKD', value: '1250' }, sequence: 5 });
    const after = whenAfter([...succeeded, requestRefund(1, '500'), requestRefund(2, '750'), refundResult('ref_1', 1, 'S', 'SUCCESS'), refundResult('ref_2', 2, 'S', 'SUCCESS')], requestRefund(3, '1'));
    expect(after.outputs).toEqual(['reject REFUND_EXCEEDS_PAID']);
  });

  it('a refund answered U that goes through after all never lets the refunds exceed what was paid', () => {
    const result = run([...r1Unknown(1), requestRefund(2, '750'), requestRefund(3, '1'), refundNotified('R-1', 'S', '500'), refundResult('ref_2', 3, 'S', 'SUCCESS')]);
    expect(transcript(result)[r1Unknown(1).length + 1]).toEqual(['reject REFUND_EXCEEDS_PAID']);
    expect(lastView(result)).toMatchObject({ status: 'SUCCEEDED', refundedAmount: { currency: 'HKD', value: '1250' } });
  });

  it('a refund flagged for review keeps its amount reserved, lets the queue go on, and settles when Alipay finally answers', () => {
    const flagged = [...r1Unknown(6), requestRefund(2, '700')];
    expect(run(r1Unknown(6)).state.status).toBe('SUCCEEDED');
    expect(whenAfter(flagged, requestRefund(3, '51')).outputs).toEqual(['reject REFUND_EXCEEDS_PAID']); // 500 unknown + 700 queued + 51 > 1250

    const r2Sent = whenAfter(r1Unknown(6), requestRefund(2, '700'));
    expect(r2Sent.outputs).toEqual(['publish RefundRequested R-2 PROCESSING SUCCEEDED #4', 'send Refund#8', `timer REFUND_INQUIRY#9 +${DEADLINE}`]);
    if (r2Sent.state.status === 'NEW') throw new Error('unreachable');
    expect(r2Sent.state.refunds.map((r) => [r.refundRequestId, r.status])).toEqual([
      ['R-1', 'UNKNOWN'],
      ['R-2', 'IN_FLIGHT'],
    ]);
    expect(refundViewOf(r2Sent.state, r2Sent.state.refunds[0]!).status).toBe('PROCESSING');

    const settled = whenAfter([...r1Unknown(6), requestRefund(2, '700')], refundNotified('R-1', 'S', '500'));
    expect(settled.outputs).toEqual(['publish RefundSucceeded R-1 SUCCEEDED SUCCEEDED #5']); // R-2 is still in flight: no new command
  });

  it('settles the refund a notification names by our refund id, even when a merchant reused that id as its own', () => {
    const reused: SagaInput = { type: 'RequestRefund', data: { paymentId: PAYMENT_ID, refundId: 'ref_2', refundRequestId: 'ref_1', amount: { currency: 'HKD', value: '700' }, requestedAt: new Date(0).toISOString() } };
    const failed = whenAfter([...r1Unknown(6), reused], refundNotified('ref_1', 'F', '700', 'ref_2'));
    if (failed.state.status === 'NEW') throw new Error('unreachable');
    expect(failed.state.refunds.map((r) => [r.refundId, r.status])).toEqual([
      ['ref_1', 'UNKNOWN'],
      ['ref_2', 'FAILED'],
    ]);
  });

  it('the review flag carries an actionable reason', () => {
    const { step } = whenAfter(r1Unknown(5).concat(fired('REFUND_INQUIRY', 7)), inquireRefundResult('ref_1', 7, 'S', 'SUCCESS', 'PROCESSING'));
    expect(step.outputs[0]).toMatchObject({
      kind: 'PublishPaymentEvent',
      event: { type: 'PaymentNeedsReview', data: { payment: { status: 'SUCCEEDED' }, kind: 'REFUND', reason: expect.stringContaining('refund R-1 of 500 HKD minor units is still unknown after 6 inquiries') } },
    });
  });

  describe('a review about a refund (kind REFUND) names that refund, as RefundRequested/Succeeded/Failed do', () => {
    const reversal = 'rev_pay_01JDZ8X3';
    /** cancel #1 refused, the check found it paid: the reversal refund #1 is out */
    const reversing: Step[] = [...GIVEN.cancelling, cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2)];
    const askedSixTimes = (given: Step[], refundId: string, firstAttempt: number): Step[] => {
      const steps: Step[] = [...given, refundResult(refundId, firstAttempt, 'U', 'REFUND_IN_PROCESS')];
      for (let i = 0; i < 6; i++) steps.push(fired('REFUND_INQUIRY', firstAttempt + 1 + i), inquireRefundResult(refundId, firstAttempt + 1 + i, 'S', 'SUCCESS', 'PROCESSING'));
      return steps;
    };
    const cases: Array<{ name: string; steps: Step[]; refund: Record<string, unknown>; status: string }> = [
      { name: 'a merchant refund still unknown after every inquiry', steps: r1Unknown(6), refund: { refundId: 'ref_1', refundRequestId: 'R-1', origin: 'MERCHANT' }, status: 'SUCCEEDED' },
      {
        name: 'the automatic refund of a payment a late cancel closed, still unknown after every inquiry',
        steps: askedSixTimes([...reversing, cancelS(1)], reversal, 1),
        refund: { refundId: reversal, refundRequestId: reversal, origin: 'CANCEL_FALLBACK' },
        status: 'CANCELLED',
      },
      {
        name: 'the automatic refund given up on, then a late cancel S closes the payment',
        steps: [...askedSixTimes([...GIVEN.cancelling, fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2)], reversal, 1), cancelS(1)],
        refund: { refundId: reversal, refundRequestId: reversal, origin: 'CANCEL_FALLBACK' },
        status: 'CANCELLED',
      },
    ];

    it.each(cases)('$name', ({ steps, refund, status }) => {
      const last = run(steps).steps.at(-1)!;
      const reviews = last.outputs.flatMap((o) => (o.kind === 'PublishPaymentEvent' && o.event.type === 'PaymentNeedsReview' ? [o.event.data] : []));
      expect(reviews).toHaveLength(1);
      expect(reviews[0]).toMatchObject({ kind: 'REFUND', payment: { status }, refund: { ...refund, paymentId: PAYMENT_ID, amount: { currency: 'HKD' }, status: 'PROCESSING' } });
    });

    it('a review of the payment itself names no refund', () => {
      const last = run([...reversing, refundResult(reversal, 1, 'F', 'REFUND_NOT_SUPPORTED')]).steps.at(-1)!;
      const review = last.outputs.find((o) => o.kind === 'PublishPaymentEvent' && o.event.type === 'PaymentNeedsReview');
      expect(review).toMatchObject({ event: { data: { kind: 'REVERSAL_REFUND' } } });
      expect(review?.kind === 'PublishPaymentEvent' && review.event.data).not.toHaveProperty('refund');
    });
  });

  it('RefundSucceeded carries the refund view and the new refundedAmount', () => {
    const { step } = whenAfter(r1InFlight, refundResult('ref_1', 1, 'S', 'SUCCESS'));
    expect(step.outputs[0]).toEqual({
      kind: 'PublishPaymentEvent',
      event: {
        type: 'RefundSucceeded',
        data: {
          payment: expect.objectContaining({ status: 'SUCCEEDED', refundedAmount: { currency: 'HKD', value: '500' }, sequence: 3 }),
          refund: {
            paymentId: 'pay_01JDZ8X3',
            refundId: 'ref_1',
            refundRequestId: 'R-1',
            amount: { currency: 'HKD', value: '500' },
            status: 'SUCCEEDED',
            alipayRefundId: 'alipay_ref_1',
            refundTime: '2026-11-27T13:00:00+08:00',
            origin: 'MERCHANT',
          },
        },
      },
    });
  });

  it('the Refund command names Alipay’s payment and our ids', () => {
    const { step } = whenAfter(succeeded, requestRefund(1, '500'));
    expect(step.outputs[1]).toEqual({
      kind: 'SendAlipayCommand',
      command: {
        type: 'Refund',
        data: {
          paymentId: 'pay_01JDZ8X3',
          paymentRequestId: 'pay_01JDZ8X3',
          attempt: 1,
          refundId: 'ref_1',
          refundRequestId: 'R-1',
          alipayPaymentId: '202611271940108001001881I0204295953',
          amount: { currency: 'HKD', value: '500' },
        },
      },
    });
  });
});

/** refund 1 refused because the payment itself is closed: ORDER_IS_CANCELED (spec §7) */
const closedAtAlipay = [...r1InFlight, refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED')];
/** paid, not cancellable (CANCEL_WINDOW_EXCEED), the inquiry said SUCCESS: the reversal refund is in flight */
const reversing: Step[] = [...GIVEN.cancelling, fired('CANCEL_RETRY', 2), cancelResult(2, 'F', 'CANCEL_WINDOW_EXCEED'), inquirySuccess(2)];

describe('refunds: Alipay answers that the payment itself is closed', () => {
  checkRows([
    {
      name: 'Refund F ORDER_IS_CANCELED of a SUCCEEDED payment → RefundFailed, NEEDS_REVIEW, nothing sent',
      given: r1InFlight,
      when: refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED'),
      then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'publish PaymentNeedsReview NEEDS_REVIEW #4', 'cancel timer REFUND_INQUIRY'],
    },
    {
      name: 'Refund F ORDER_IS_CLOSED of a SUCCEEDED payment → the same',
      given: r1InFlight,
      when: refundResult('ref_1', 1, 'F', 'ORDER_IS_CLOSED'),
      then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'publish PaymentNeedsReview NEEDS_REVIEW #4', 'cancel timer REFUND_INQUIRY'],
    },
    {
      name: 'a refund queued behind it is never sent: RefundFailed',
      given: [...r1InFlight, requestRefund(2, '700')],
      when: refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED'),
      then: ['publish RefundFailed R-1 FAILED SUCCEEDED #4', 'publish PaymentNeedsReview NEEDS_REVIEW #5', 'publish RefundFailed R-2 FAILED NEEDS_REVIEW #6', 'cancel timer REFUND_INQUIRY'],
    },
    {
      name: 'a refund given up on, answered ORDER_IS_CLOSED at last → NEEDS_REVIEW',
      given: r1Unknown(6),
      when: refundResult('ref_1', 1, 'F', 'ORDER_IS_CLOSED'),
      then: ['publish RefundFailed R-1 FAILED SUCCEEDED #4', 'publish PaymentNeedsReview NEEDS_REVIEW #5'],
    },
    {
      name: 'the automatic full refund of a payment not cancellable, F ORDER_IS_CANCELED → NEEDS_REVIEW',
      given: reversing,
      when: refundResult('rev_pay_01JDZ8X3', 1, 'F', 'ORDER_IS_CANCELED'),
      then: ['publish RefundFailed rev_pay_01JDZ8X3 FAILED PROCESSING #3', 'publish PaymentNeedsReview NEEDS_REVIEW #4', 'cancel timer REFUND_INQUIRY'],
    },
    { name: 'in review: a new refund → PAYMENT_NOT_REFUNDABLE', given: closedAtAlipay, when: requestRefund(2, '100'), then: ['reject PAYMENT_NOT_REFUNDABLE'] },
    { name: 'in review: the cashier\'s void → nothing sent', given: closedAtAlipay, when: posCancel(), then: [] },
    { name: 'in review: the reports show it REVERSED → CANCELLED', given: closedAtAlipay, when: reviewResolved('REVERSED'), then: ['publish PaymentCancelled CANCELLED #5'], status: 'CANCELLED' },
    { name: 'in review: the reports show it CHARGED → stays with the person (a cancel may be filed later)', given: closedAtAlipay, when: reviewResolved('CHARGED'), then: [] },
    { name: 'in review: the reports show it NOT_CHARGED → stays with the person (Alipay had said paid)', given: closedAtAlipay, when: reviewResolved('NOT_CHARGED'), then: [] },
  ], 'NEEDS_REVIEW');

  checkRows([
    { name: 'Refund F REFUND_AMOUNT_EXCEED → only a failed refund', given: r1InFlight, when: refundResult('ref_1', 1, 'F', 'REFUND_AMOUNT_EXCEED'), then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'Refund F ORDER_STATUS_INVALID (meaning unconfirmed for a refund) → only a failed refund', given: r1InFlight, when: refundResult('ref_1', 1, 'F', 'ORDER_STATUS_INVALID'), then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
    { name: 'inquiryRefund FAIL names no payment status → only a failed refund', given: [...r1Unknown(0), fired('REFUND_INQUIRY', 2)], when: inquireRefundResult('ref_1', 2, 'S', 'SUCCESS', 'FAIL'), then: ['publish RefundFailed R-1 FAILED SUCCEEDED #3', 'cancel timer REFUND_INQUIRY'] },
  ], 'SUCCEEDED');

  it('the review says why and what to check, and the queued refund says why it was not sent', () => {
    const result = run([...r1InFlight, requestRefund(2, '700'), refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED')]);
    expect(lastView(result)).toMatchObject({ status: 'NEEDS_REVIEW', refundedAmount: { currency: 'HKD', value: '0' }, failure: { code: 'CLOSED_AT_ALIPAY' } });
    expect(lastView(result).failure?.message).toContain('Alipay refused refund R-1 because payment pay_01JDZ8X3 is closed (ORDER_IS_CANCELED)');
    if (result.state.status === 'NEW') throw new Error('unreachable');
    expect(result.state.refunds.map((r) => [r.refundRequestId, r.status, r.failure?.code])).toEqual([
      ['R-1', 'FAILED', 'ORDER_IS_CANCELED'],
      ['R-2', 'FAILED', 'PAYMENT_CLOSED'],
    ]);
  });

  it('the automatic full refund refused as closed asks the person to check before refunding, not to refund by hand', () => {
    const view = lastView(run([...reversing, refundResult('rev_pay_01JDZ8X3', 1, 'F', 'ORDER_IS_CANCELED')]));
    expect(view).toMatchObject({ status: 'NEEDS_REVIEW', failure: { code: 'CLOSED_AT_ALIPAY' } });
    expect(view.failure?.message).toContain('a cancel may have given the money back after all');
  });
});

/** R-1 in flight and R-2 queued when Alipay reports the payment paid for another amount: NEEDS_REVIEW (AMOUNT_MISMATCH) */
const mismatchWithRefunds: Step[] = [...r1InFlight, requestRefund(2, '700'), charging(notified(), { currency: 'HKD', value: '1300' })];
/** the automatic full refund answered U and never settled: NEEDS_REVIEW (REVERSAL_REFUND), the refund UNKNOWN */
const reversalUnknown: Step[] = [...reversing, refundResult('rev_pay_01JDZ8X3', 1, 'U', 'REFUND_IN_PROCESS')];
for (let attempt = 2; attempt <= 7; attempt++) {
  reversalUnknown.push(fired('REFUND_INQUIRY', attempt), inquireRefundResult('rev_pay_01JDZ8X3', attempt, 'S', 'SUCCESS', 'PROCESSING'));
}

describe('refunds: Alipay answers that the payment itself is closed while the payment is in another review', () => {
  checkRows([
    {
      name: 'AMOUNT_MISMATCH: Refund F ORDER_IS_CANCELED → RefundFailed, CLOSED_AT_ALIPAY, the queued refund is not sent',
      given: mismatchWithRefunds,
      when: refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED'),
      then: ['publish RefundFailed R-1 FAILED NEEDS_REVIEW #5', 'publish PaymentNeedsReview NEEDS_REVIEW #6', 'publish RefundFailed R-2 FAILED NEEDS_REVIEW #7', 'cancel timer REFUND_INQUIRY'],
    },
    {
      name: 'REVERSAL_REFUND: the automatic refund given up on, answered ORDER_IS_CLOSED at last → CLOSED_AT_ALIPAY',
      given: reversalUnknown,
      when: refundResult('rev_pay_01JDZ8X3', 1, 'F', 'ORDER_IS_CLOSED'),
      then: ['publish RefundFailed rev_pay_01JDZ8X3 FAILED NEEDS_REVIEW #4', 'publish PaymentNeedsReview NEEDS_REVIEW #5'],
    },
    { name: 'AMOUNT_MISMATCH: another refusal stays a failed refund, and the queued refund goes', given: mismatchWithRefunds, when: refundResult('ref_1', 1, 'F', 'REFUND_WINDOW_EXCEED'), then: ['publish RefundFailed R-1 FAILED NEEDS_REVIEW #5', 'send Refund#2', `timer REFUND_INQUIRY#3 +${DEADLINE}`] },
    {
      name: 'CLOSED_AT_ALIPAY already: a refund given up on, refused as closed at last → only a failed refund',
      given: [...r1Unknown(6), requestRefund(2, '700'), refundResult('ref_2', 8, 'F', 'ORDER_IS_CANCELED')],
      when: refundResult('ref_1', 1, 'F', 'ORDER_IS_CLOSED'),
      then: ['publish RefundFailed R-1 FAILED NEEDS_REVIEW #7'],
    },
  ], 'NEEDS_REVIEW');

  it('the review becomes CLOSED_AT_ALIPAY, says what Alipay answered and keeps what the earlier review said', () => {
    const result = run([...mismatchWithRefunds, refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED')]);
    const view = lastView(result);
    expect(view).toMatchObject({ status: 'NEEDS_REVIEW', failure: { code: 'CLOSED_AT_ALIPAY' } });
    expect(view.failure?.message).toContain('Alipay refused refund R-1 because payment pay_01JDZ8X3 is closed (ORDER_IS_CANCELED)');
    expect(view.failure?.message).toContain('in review (AMOUNT_MISMATCH');
    expect(view.failure?.message).toContain('paid 1300 HKD');
    if (result.state.status === 'NEW') throw new Error('unreachable');
    expect(result.state.refunds.map((r) => [r.refundRequestId, r.status, r.failure?.code])).toEqual([
      ['R-1', 'FAILED', 'ORDER_IS_CANCELED'],
      ['R-2', 'FAILED', 'PAYMENT_CLOSED'],
    ]);
    // A report showing only the charge no longer makes it refundable: Alipay's own answer says it is closed.
    expect(whenAfter([...mismatchWithRefunds, refundResult('ref_1', 1, 'F', 'ORDER_IS_CANCELED')], reviewResolved('CHARGED')).outputs).toEqual([]);
  });

  it('the automatic refund refused as closed in review no longer asks the person to refund by hand', () => {
    const view = lastView(run([...reversalUnknown, refundResult('rev_pay_01JDZ8X3', 1, 'F', 'ORDER_IS_CLOSED')]));
    expect(view).toMatchObject({ status: 'NEEDS_REVIEW', failure: { code: 'CLOSED_AT_ALIPAY' } });
    expect(view.failure?.message).toContain('a cancel may have given the money back after all');
  });
});
