import { z } from 'zod';
import { failureSchema, idSchema, isoTime, moneySchema, paymentStatusSchema } from './common';

/**
 * payments.v1.events: payment-orchestrator → gateway, notification, settlement; keyed by paymentId.
 * Every event carries the payment's full public view after the change, so a consumer never has to
 * reassemble state from several events; `sequence` orders one payment's events.
 */
export const paymentViewV1 = z.object({
  paymentId: idSchema,
  merchantOrderId: z.string().max(64),
  merchantId: idSchema,
  storeId: idSchema,
  terminalId: idSchema,
  amount: moneySchema,
  status: paymentStatusSchema,
  failure: failureSchema.optional(),
  alipay: z
    .object({
      paymentRequestId: idSchema,
      paymentId: idSchema.optional(),
      paymentTime: isoTime.optional(),
      walletBrandName: z.string().max(64).optional(),
    })
    .optional(),
  refundedAmount: moneySchema,
  sequence: z.number().int().nonnegative(),
  createdAt: isoTime,
  updatedAt: isoTime,
});

export const refundViewV1 = z.object({
  paymentId: idSchema,
  refundId: idSchema,
  refundRequestId: idSchema,
  amount: moneySchema,
  status: z.enum(['PROCESSING', 'SUCCEEDED', 'FAILED']),
  failure: failureSchema.optional(),
  alipayRefundId: idSchema.optional(),
  refundTime: isoTime.optional(),
  /** why the refund exists: the merchant asked, or the saga reverses a payment it could not cancel */
  origin: z.enum(['MERCHANT', 'CANCEL_FALLBACK']),
});

const paymentEvent = z.object({ payment: paymentViewV1 });
const refundEvent = z.object({ payment: paymentViewV1, refund: refundViewV1 });

export const paymentEventsV1 = {
  PaymentCreated: paymentEvent,
  PaymentProcessing: paymentEvent,
  PaymentSucceeded: paymentEvent,
  PaymentFailed: paymentEvent,
  PaymentCancelled: paymentEvent,
  /** the payment, or (with `refund`) one of its refunds, needs an operator; `kind` says which situation */
  PaymentNeedsReview: paymentEvent.extend({ reason: z.string().max(512), kind: z.string().max(64).optional(), refund: refundViewV1.optional() }),
  RefundRequested: refundEvent,
  RefundSucceeded: refundEvent,
  RefundFailed: refundEvent,
  /**
   * the orchestrator refused a CancelPayment (causationId: that command's envelope id); the payment is unchanged and
   * its view repeats the current `sequence`. `failure.code` is stable, e.g. PAYMENT_NOT_CANCELLABLE
   */
  PaymentCancelRefused: paymentEvent.extend({ failure: failureSchema }),
} as const;

export type PaymentViewV1 = z.infer<typeof paymentViewV1>;
export type RefundViewV1 = z.infer<typeof refundViewV1>;
export type PaymentEventType = keyof typeof paymentEventsV1;
export type PaymentEventData<T extends PaymentEventType> = z.infer<(typeof paymentEventsV1)[T]>;
