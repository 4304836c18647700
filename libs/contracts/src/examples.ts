import { TOPICS } from './topics';
import type { CatalogTopic } from './catalog';
import { SETTLEMENT_EVENT_EXAMPLES } from './messages/settlement-events.v1';

/** One example `data` for every message type of the catalog; a test proves each validates. */
const merchant = {
  merchantId: 'mer_7KQ2', merchantName: 'Harbour Coffee', merchantMcc: '5812',
  storeId: 'sto_A001', storeName: 'Harbour Coffee Central', storeMcc: '5812', terminalId: 'ter_A001_01',
};
const amount = { currency: 'HKD', value: '1250' };
const payment = {
  paymentId: 'pay_01JDZ8X3', merchantOrderId: 'POS-0001-20261127-000123', merchantId: 'mer_7KQ2', storeId: 'sto_A001',
  terminalId: 'ter_A001_01', amount, status: 'SUCCEEDED', sequence: 3,
  alipay: { paymentRequestId: 'pay_01JDZ8X3', paymentId: '202611271940108001001881I0204295953', paymentTime: '2026-11-27T12:06:02+08:00', walletBrandName: 'ALIPAYHK' },
  refundedAmount: { currency: 'HKD', value: '0' }, createdAt: '2026-11-27T04:06:00.000Z', updatedAt: '2026-11-27T04:06:02.000Z',
};
const refund = {
  paymentId: 'pay_01JDZ8X3', refundId: 'ref_01JDZ9', refundRequestId: 'R-0001', amount: { currency: 'HKD', value: '500' },
  status: 'SUCCEEDED', alipayRefundId: '202611271940108013001912I0200788498', refundTime: '2026-11-27T13:00:00+08:00', origin: 'MERCHANT',
};
const command = { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', attempt: 0 };

export const MESSAGE_EXAMPLES: Record<CatalogTopic, Record<string, unknown>> = {
  [TOPICS.paymentCommands.name]: {
    RequestPayment: {
      paymentId: 'pay_01JDZ8X3', merchantOrderId: 'POS-0001-20261127-000123', amount, paymentCode: '281012020000000000000000',
      description: '2 x coffee', merchant, requestedAt: '2026-11-27T04:06:00.000Z',
    },
    CancelPayment: { paymentId: 'pay_01JDZ8X3', reason: 'POS_ABORT', requestedAt: '2026-11-27T04:06:09.000Z' },
    RequestRefund: {
      paymentId: 'pay_01JDZ8X3', refundId: 'ref_01JDZ9', refundRequestId: 'R-0001', amount: { currency: 'HKD', value: '500' },
      reason: 'returned one coffee', requestedAt: '2026-11-27T05:00:00.000Z',
    },
  },
  [TOPICS.alipayCommands.name]: {
    Pay: { ...command, amount, paymentCode: '281012020000000000000000', merchantOrderId: 'POS-0001-20261127-000123', description: '2 x coffee', merchant, terminalRequestTime: '2026-11-27T04:06:00.000Z' },
    InquirePayment: { ...command, attempt: 1 },
    CancelPayment: { ...command, attempt: 1 },
    Refund: { ...command, refundId: 'ref_01JDZ9', refundRequestId: 'R-0001', alipayPaymentId: '202611271940108001001881I0204295953', amount: { currency: 'HKD', value: '500' } },
    InquireRefund: { ...command, refundId: 'ref_01JDZ9', refundRequestId: 'R-0001' },
  },
  [TOPICS.alipayResults.name]: {
    PayResult: { ...command, outcome: 'S', resultCode: 'SUCCESS', alipayPaymentId: '202611271940108001001881I0204295953', paymentTime: '2026-11-27T12:06:02+08:00' },
    InquiryResult: { ...command, attempt: 2, outcome: 'S', resultCode: 'SUCCESS', paymentStatus: 'PROCESSING', paymentResultCode: 'PAYMENT_IN_PROCESS' },
    CancelResult: { ...command, attempt: 1, outcome: 'F', resultCode: 'CANCEL_WINDOW_EXCEED' },
    RefundResult: { ...command, outcome: 'S', resultCode: 'SUCCESS', refundId: 'ref_01JDZ9', refundRequestId: 'R-0001', alipayRefundId: '202611271940108013001912I0200788498', refundTime: '2026-11-27T13:00:00+08:00' },
    InquireRefundResult: { ...command, outcome: 'S', resultCode: 'SUCCESS', refundId: 'ref_01JDZ9', refundRequestId: 'R-0001', refundStatus: 'SUCCESS' },
    PaymentNotified: { paymentId: 'pay_01JDZ8X3', paymentRequestId: 'pay_01JDZ8X3', outcome: 'S', resultCode: 'SUCCESS', amount, alipayPaymentId: '202611271940108001001881I0204295953', paymentTime: '2026-11-27T12:06:02+08:00' },
    RefundNotified: { paymentId: 'pay_01JDZ8X3', refundRequestId: 'R-0001', outcome: 'S', resultCode: 'SUCCESS', amount: { currency: 'HKD', value: '500' } },
  },
  [TOPICS.paymentEvents.name]: {
    PaymentCreated: { payment: { ...payment, status: 'PROCESSING', sequence: 0, alipay: undefined } },
    PaymentProcessing: { payment: { ...payment, status: 'PROCESSING', sequence: 1 } },
    PaymentSucceeded: { payment },
    PaymentFailed: { payment: { ...payment, status: 'FAILED', failure: { code: 'USER_BALANCE_NOT_ENOUGH', message: 'The user balance is not enough for the payment.' } } },
    PaymentCancelled: { payment: { ...payment, status: 'CANCELLED' } },
    PaymentNeedsReview: { payment: { ...payment, status: 'NEEDS_REVIEW' }, reason: 'cancel still unknown after 5 attempts' },
    RefundRequested: { payment, refund: { ...refund, status: 'PROCESSING', alipayRefundId: undefined, refundTime: undefined } },
    RefundSucceeded: { payment: { ...payment, refundedAmount: { currency: 'HKD', value: '500' } }, refund },
    RefundFailed: { payment, refund: { ...refund, status: 'FAILED', failure: { code: 'REFUND_AMOUNT_EXCEED', message: 'refund exceeds the paid amount' } } },
    PaymentCancelRefused: { payment, failure: { code: 'PAYMENT_NOT_CANCELLABLE', message: 'the payment has refunds; refund the rest instead of cancelling' } },
  },
  [TOPICS.settlementEvents.name]: SETTLEMENT_EVENT_EXAMPLES,
};
