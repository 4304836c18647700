import { z } from 'zod';
import { idSchema, isoTime, merchantContextSchema, moneySchema } from './common';

/**
 * alipay.v1.commands (orchestrator → connector) and alipay.v1.results (connector → orchestrator), keyed by
 * our paymentId. A result's envelope causationId is the command's envelope id; `attempt` echoes the
 * command's so the saga can tell a stale answer from the one it waits for.
 */
const commandBase = z.object({ paymentId: idSchema, paymentRequestId: idSchema, attempt: z.number().int().nonnegative() });

export const payCommandV1 = commandBase.extend({
  amount: moneySchema,
  paymentCode: z.string().regex(/^[0-9]{16,32}$/),
  merchantOrderId: z.string().max(64),
  description: z.string().max(256).optional(),
  merchant: merchantContextSchema,
  terminalRequestTime: isoTime,
});
export const inquirePaymentCommandV1 = commandBase;
export const cancelPaymentCommandV1 = commandBase;
export const refundCommandV1 = commandBase.extend({
  refundId: idSchema,
  refundRequestId: idSchema,
  alipayPaymentId: idSchema,
  amount: moneySchema,
  reason: z.string().max(256).optional(),
});
export const inquireRefundCommandV1 = commandBase.extend({ refundId: idSchema, refundRequestId: idSchema });

export const alipayCommandsV1 = {
  Pay: payCommandV1,
  InquirePayment: inquirePaymentCommandV1,
  CancelPayment: cancelPaymentCommandV1,
  Refund: refundCommandV1,
  InquireRefund: inquireRefundCommandV1,
} as const;

/** S: Alipay said success; F: Alipay said it failed; U: unknown (timeout, network, 5xx, unsigned answer, U). */
export const outcomeSchema = z.enum(['S', 'F', 'U']);
export type Outcome = z.infer<typeof outcomeSchema>;

const resultBase = commandBase.extend({
  outcome: outcomeSchema,
  resultCode: z.string().max(64),
  resultMessage: z.string().max(512).optional(),
});

const paymentFacts = {
  alipayPaymentId: idSchema.optional(),
  paymentTime: isoTime.optional(),
  walletBrandName: z.string().max(64).optional(),
};

/**
 * The amount Alipay reports for the payment (its paymentAmount, in the order currency), when its answer carries
 * one: the saga compares it with the amount asked before it takes a success for the sale.
 */
const answeredAmount = { amount: moneySchema.optional() };

export const payResultV1 = resultBase.extend({ ...paymentFacts, ...answeredAmount });
export const inquiryResultV1 = resultBase.extend({
  ...paymentFacts,
  ...answeredAmount,
  /** present when the inquiry itself succeeded (outcome S) */
  paymentStatus: z.enum(['SUCCESS', 'FAIL', 'PROCESSING', 'CANCELLED']).optional(),
  paymentResultCode: z.string().max(64).optional(),
});
export const cancelResultV1 = resultBase.extend({ cancelTime: isoTime.optional() });
export const refundResultV1 = resultBase.extend({
  refundId: idSchema,
  refundRequestId: idSchema,
  alipayRefundId: idSchema.optional(),
  refundTime: isoTime.optional(),
});
export const inquireRefundResultV1 = refundResultV1.extend({ refundStatus: z.enum(['SUCCESS', 'FAIL', 'PROCESSING']).optional() });

/**
 * A verified notifyPayment / notifyRefund; not an answer to a command, so no attempt. A payment notification's
 * amount is its paymentAmount, and a refund notification's its refundAmount, absent when that is not minor units
 * of a currency we know (as in pay and inquiry answers).
 */
export const paymentNotifiedV1 = z.object({
  paymentId: idSchema,
  paymentRequestId: idSchema,
  outcome: z.enum(['S', 'F']),
  resultCode: z.string().max(64),
  ...answeredAmount,
  ...paymentFacts,
});
export const refundNotifiedV1 = z.object({
  paymentId: idSchema,
  /** our refund id (Alipay's refundRequestId); absent from notifications routed before it was added */
  refundId: idSchema.optional(),
  /** the merchant's own id of the refund */
  refundRequestId: idSchema,
  outcome: z.enum(['S', 'F']),
  resultCode: z.string().max(64),
  ...answeredAmount,
  alipayRefundId: idSchema.optional(),
  refundTime: isoTime.optional(),
});

export const alipayResultsV1 = {
  PayResult: payResultV1,
  InquiryResult: inquiryResultV1,
  CancelResult: cancelResultV1,
  RefundResult: refundResultV1,
  InquireRefundResult: inquireRefundResultV1,
  PaymentNotified: paymentNotifiedV1,
  RefundNotified: refundNotifiedV1,
} as const;

export type PayCommandV1 = z.infer<typeof payCommandV1>;
export type InquirePaymentCommandV1 = z.infer<typeof inquirePaymentCommandV1>;
export type CancelPaymentCommandV1 = z.infer<typeof cancelPaymentCommandV1>;
export type InquireRefundCommandV1 = z.infer<typeof inquireRefundCommandV1>;
export type RefundCommandV1 = z.infer<typeof refundCommandV1>;
export type PayResultV1 = z.infer<typeof payResultV1>;
export type InquiryResultV1 = z.infer<typeof inquiryResultV1>;
export type CancelResultV1 = z.infer<typeof cancelResultV1>;
export type RefundResultV1 = z.infer<typeof refundResultV1>;
export type InquireRefundResultV1 = z.infer<typeof inquireRefundResultV1>;
export type PaymentNotifiedV1 = z.infer<typeof paymentNotifiedV1>;
export type RefundNotifiedV1 = z.infer<typeof refundNotifiedV1>;
