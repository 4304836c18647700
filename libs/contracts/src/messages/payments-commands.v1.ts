import { z } from 'zod';
import { idSchema, isoTime, merchantContextSchema, moneySchema } from './common';

/** payments.v1.commands: terminal-gateway → payment-orchestrator, keyed by paymentId. */
export const requestPaymentV1 = z.object({
  paymentId: idSchema,
  merchantOrderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  amount: moneySchema,
  /** the scanned code: the only message besides alipay.v1 Pay that carries it */
  paymentCode: z.string().regex(/^[0-9]{16,32}$/),
  description: z.string().max(256).optional(),
  merchant: merchantContextSchema,
  requestedAt: isoTime,
});

export const cancelPaymentV1 = z.object({
  paymentId: idSchema,
  reason: z.enum(['POS_ABORT', 'OPERATOR']).default('POS_ABORT'),
  requestedAt: isoTime,
});

export const requestRefundV1 = z.object({
  paymentId: idSchema,
  refundId: idSchema,
  refundRequestId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  amount: moneySchema,
  reason: z.string().max(256).optional(),
  requestedAt: isoTime,
});

export const paymentCommandsV1 = {
  RequestPayment: requestPaymentV1,
  CancelPayment: cancelPaymentV1,
  RequestRefund: requestRefundV1,
} as const;

export type RequestPaymentV1 = z.infer<typeof requestPaymentV1>;
export type CancelPaymentV1 = z.infer<typeof cancelPaymentV1>;
export type RequestRefundV1 = z.infer<typeof requestRefundV1>;
