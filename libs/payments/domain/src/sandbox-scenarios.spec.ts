/**
 * Every sandbox scenario of CONTRACTS.md §2, as the sequence of answers the connector turns it into.
 * Each beat is a Given/When/Then: given the beats before it, when this input, then exactly these outputs.
 */
import {
  DEADLINE,
  cancelResult,
  cancelS,
  cancelU,
  fired,
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
  pollBeats,
  posCancel,
  requestPayment,
  story,
  type Beat,
  type Run,
} from './testing/saga-test-kit';

const CREATED: Beat = [requestPayment(), ['publish PaymentCreated PROCESSING #0', 'send Pay#0', 'timer INQUIRY#1 +5000']];
const PAY_U: Beat = [payU(), ['publish PaymentProcessing PROCESSING #1', 'send InquirePayment#1', `timer INQUIRY#2 +${DEADLINE}`]];
const NO_ANSWER_IN_5S: Beat = [{ input: fired('INQUIRY', 1), atMs: 5_000 }, ['publish PaymentProcessing PROCESSING #1', 'send InquirePayment#1', `timer INQUIRY#2 +${DEADLINE}`]];
const CANCEL_1: readonly string[] = ['send CancelPayment#1', 'cancel timer INQUIRY', `timer CANCEL_RETRY#2 +${DEADLINE}`];

function sentCommands(result: Run, type: string): number {
  return result.steps.flatMap((s) => s.outputs).filter((o) => o.kind === 'SendAlipayCommand' && o.command.type === type).length;
}
function publishedTypes(result: Run): string[] {
  return result.steps.flatMap((s) => s.outputs.flatMap((o) => (o.kind === 'PublishPaymentEvent' ? [o.event.type] : [])));
}

describe('sandbox scenarios (CONTRACTS §2)', () => {
  it('00–79: pay S → SUCCEEDED; the notification that follows changes nothing', () => {
    const result = story([CREATED, [payS(), ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY']], [notified(), []]]);
    expect(result.state.status).toBe('SUCCEEDED');
    expect(lastView(result)).toMatchObject({ status: 'SUCCEEDED', alipay: { paymentId: expect.any(String), paymentTime: expect.any(String), walletBrandName: 'ALIPAYHK' } });
  });

  it('80: U, PROCESSING while the user enters the PIN, then SUCCESS; the notification after it is a duplicate', () => {
    const result = story([
      CREATED,
      PAY_U,
      ...pollBeats(1, 2, inquiryProcessing),
      [inquirySuccess(3), ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY']],
      [notified(), []],
    ]);
    expect(result.state.status).toBe('SUCCEEDED');
    expect(publishedTypes(result)).toEqual(['PaymentCreated', 'PaymentProcessing', 'PaymentSucceeded']);
  });

  it('81: U, PROCESSING, then the user declines → FAILED', () => {
    const result = story([CREATED, PAY_U, ...pollBeats(1, 2, inquiryProcessing), [inquiryFail(3), ['publish PaymentFailed FAILED #2', 'cancel timer INQUIRY']]]);
    expect(lastView(result)).toMatchObject({ status: 'FAILED', failure: { code: 'USER_PAYMENT_VERIFICATION_FAILED' } });
  });

  it('82: U, PROCESSING for ever → cancel after maxInquiries → cancel S → CANCELLED', () => {
    const result = story([
      CREATED,
      PAY_U,
      ...pollBeats(1, 14, inquiryProcessing),
      [inquiryProcessing(15), CANCEL_1],
      [cancelS(1), ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY']],
    ]);
    expect(sentCommands(result, 'InquirePayment')).toBe(15);
    expect(lastView(result)).toMatchObject({ status: 'CANCELLED', failure: { code: 'PAYMENT_NOT_CONFIRMED' } });
  });

  it('83: pay hangs past the timeout, Alipay did take the money: the inquiry at 5 s says SUCCESS → SUCCEEDED', () => {
    const result = story([
      CREATED,
      NO_ANSWER_IN_5S,
      [{ input: inquirySuccess(1), atMs: 5_300 }, ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY']],
      [{ input: payTimeout(), atMs: 8_000 }, []],
    ]);
    expect(result.state.status).toBe('SUCCEEDED');
  });

  it('83 with the cashier aborting first: the SUCCESS does not win, the cancel refunds it → CANCELLED', () => {
    const result = story([
      CREATED,
      NO_ANSWER_IN_5S,
      [{ input: posCancel(), atMs: 5_100 }, CANCEL_1],
      [{ input: inquirySuccess(1), atMs: 5_300 }, []],
      [{ input: payTimeout(), atMs: 8_000 }, []],
      [cancelS(1), ['publish PaymentCancelled CANCELLED #2', 'cancel timer CANCEL_RETRY']],
    ]);
    expect(publishedTypes(result)).not.toContain('PaymentSucceeded');
    expect(lastView(result).status).toBe('CANCELLED');
  });

  it('84: pay hangs, nothing recorded: ORDER_NOT_EXIST until the inquiries run out, cancel finds no order → FAILED', () => {
    const result = story([
      CREATED,
      NO_ANSWER_IN_5S,
      [{ input: inquiryNotFound(1), atMs: 5_300 }, ['timer INQUIRY#2 +3000']],
      [{ input: payTimeout(), atMs: 8_000 }, []],
      [{ input: fired('INQUIRY', 2), atMs: 8_300 }, ['send InquirePayment#2', `timer INQUIRY#3 +${DEADLINE}`]],
      ...pollBeats(2, 14, inquiryNotFound),
      [inquiryNotFound(15), CANCEL_1],
      [cancelResult(1, 'F', 'ORDER_NOT_EXIST'), ['publish PaymentFailed FAILED #2', 'cancel timer CANCEL_RETRY']],
    ]);
    expect(lastView(result)).toMatchObject({ status: 'FAILED', failure: { code: 'ORDER_NOT_EXIST' } });
  });

  it.each(['USER_BALANCE_NOT_ENOUGH', 'RISK_REJECT', 'EXPIRED_CODE', 'INVALID_PAYMENT_CODE'])('85/86/87: pay F %s → FAILED with that code, no cancel', (code) => {
    const result = story([CREATED, [payResult('F', code), ['publish PaymentFailed FAILED #1', 'cancel timer INQUIRY']]]);
    expect(lastView(result).failure?.code).toBe(code);
    expect(sentCommands(result, 'CancelPayment')).toBe(0);
  });

  it('88: pay answers HTTP 500 unsigned (U), the payment succeeded: the inquiry says SUCCESS → SUCCEEDED', () => {
    const result = story([
      CREATED,
      [payResult('U', 'UNKNOWN_EXCEPTION'), ['publish PaymentProcessing PROCESSING #1', 'send InquirePayment#1', `timer INQUIRY#2 +${DEADLINE}`]],
      [inquirySuccess(1), ['publish PaymentSucceeded SUCCEEDED #2', 'cancel timer INQUIRY']],
    ]);
    expect(result.state.status).toBe('SUCCEEDED');
  });

  it('89: U for ever and cancel U for ever → NEEDS_REVIEW after exactly 1 + len(cancelRetryDelays) cancels', () => {
    const delays = [2000, 3000, 3000, 5000, 5000];
    const cancelBeats: Beat[] = delays.flatMap((delay, i): Beat[] => [
      [cancelU(i + 1), [`timer CANCEL_RETRY#${i + 2} +${delay}`]],
      [fired('CANCEL_RETRY', i + 2), [`send CancelPayment#${i + 2}`, `timer CANCEL_RETRY#${i + 3} +${DEADLINE}`]],
    ]);
    const result = story([
      CREATED,
      PAY_U,
      ...pollBeats(1, 14, inquiryProcessing),
      [inquiryProcessing(15), CANCEL_1],
      ...cancelBeats,
      [cancelU(6), ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer CANCEL_RETRY']],
    ]);
    expect(sentCommands(result, 'CancelPayment')).toBe(1 + delays.length);
    const needsReview = result.steps.at(-1)!.outputs[0]!;
    expect(needsReview).toMatchObject({ kind: 'PublishPaymentEvent', event: { type: 'PaymentNeedsReview', data: { reason: expect.stringMatching(/cancel of payment pay_01JDZ8X3 still unknown after 6 attempts/) } } });
  });

  it('90: U, cancel F CANCEL_WINDOW_EXCEED, the inquiry says SUCCESS → full refund → CANCELLED', () => {
    const result = story([
      CREATED,
      PAY_U,
      ...pollBeats(1, 14, inquiryProcessing),
      [inquiryProcessing(15), CANCEL_1],
      [cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED'), ['send InquirePayment#16', 'cancel timer CANCEL_RETRY', `timer INQUIRY#17 +${DEADLINE}`]],
      [inquirySuccess(16), ['publish RefundRequested rev_pay_01JDZ8X3 PROCESSING PROCESSING #2', 'send Refund#1', 'cancel timer INQUIRY', `timer REFUND_INQUIRY#2 +${DEADLINE}`]],
      [
        { input: { type: 'RefundResult', data: { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', attempt: 1, outcome: 'S', resultCode: 'SUCCESS', refundId: 'rev_pay_01JDZ8X3', refundRequestId: 'rev_pay_01JDZ8X3', alipayRefundId: 'alipay_rev' } }, atMs: 120_000 },
        ['publish RefundSucceeded rev_pay_01JDZ8X3 SUCCEEDED PROCESSING #3', 'publish PaymentCancelled CANCELLED #4', 'cancel timer REFUND_INQUIRY'],
      ],
      [notified(), []],
    ]);
    expect(lastView(result)).toMatchObject({ status: 'CANCELLED', refundedAmount: { currency: 'HKD', value: '1250' } });
    const refund = result.steps.flatMap((s) => s.outputs).find((o) => o.kind === 'SendAlipayCommand' && o.command.type === 'Refund');
    expect(refund).toMatchObject({ command: { data: { refundRequestId: 'rev_pay_01JDZ8X3', amount: { currency: 'HKD', value: '1250' }, alipayPaymentId: '202611271940108001001881I0204295953' } } });
  });

  it('90 where the inquiry says it was never paid → closed without a refund', () => {
    const result = story([
      CREATED,
      PAY_U,
      [posCancel(), CANCEL_1],
      [cancelResult(1, 'F', 'CANCEL_WINDOW_EXCEED'), ['send InquirePayment#2', 'cancel timer CANCEL_RETRY', `timer INQUIRY#3 +${DEADLINE}`]],
      [inquiryFail(2, 'ORDER_IS_CLOSED'), ['publish PaymentCancelled CANCELLED #2', 'cancel timer INQUIRY']],
    ]);
    expect(sentCommands(result, 'Refund')).toBe(0);
  });

  it('91: the notification arrives before the pay answer → SUCCEEDED once', () => {
    const result = story([CREATED, [notified(), ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY']], [payS(), []]]);
    expect(publishedTypes(result)).toEqual(['PaymentCreated', 'PaymentSucceeded']);
  });

  it('92: the notification is delivered three times → one PaymentSucceeded', () => {
    const result = story([CREATED, [payS(), ['publish PaymentSucceeded SUCCEEDED #1', 'cancel timer INQUIRY']], [notified(), []], [notified(), []], [notified(), []]]);
    expect(publishedTypes(result)).toEqual(['PaymentCreated', 'PaymentSucceeded']);
    expect(result.state.status).toBe('SUCCEEDED');
  });

  it('shorter timings come from configuration only (SAGA_MAX_INQUIRIES=2, SAGA_CANCEL_RETRY_DELAYS_MS=100)', () => {
    const config = { httpTimeoutMs: 1000, resultGraceMs: 0, firstInquiryDelayMs: 500, inquiryIntervalMs: 200, maxInquiries: 2, cancelRetryDelaysMs: [100], refundInquiryDelaysMs: [100] };
    const result = story(
      [
        [requestPayment(), ['publish PaymentCreated PROCESSING #0', 'send Pay#0', 'timer INQUIRY#1 +500']],
        [payU(), ['publish PaymentProcessing PROCESSING #1', 'send InquirePayment#1', 'timer INQUIRY#2 +1000']],
        [inquiryProcessing(1), ['timer INQUIRY#2 +200']],
        [fired('INQUIRY', 2), ['send InquirePayment#2', 'timer INQUIRY#3 +1000']],
        [inquiryProcessing(2), ['send CancelPayment#1', 'cancel timer INQUIRY', 'timer CANCEL_RETRY#2 +1000']],
        [cancelU(1), ['timer CANCEL_RETRY#2 +100']],
        [fired('CANCEL_RETRY', 2), ['send CancelPayment#2', 'timer CANCEL_RETRY#3 +1000']],
        [cancelU(2), ['publish PaymentNeedsReview NEEDS_REVIEW #2', 'cancel timer CANCEL_RETRY']],
      ],
      config,
    );
    expect(result.state.status).toBe('NEEDS_REVIEW');
  });
});
