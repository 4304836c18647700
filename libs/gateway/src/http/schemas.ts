import { z } from 'zod';
import { checkPaymentCode, currencyExponent, isChargeableAmount, isMinorUnits, paymentStatusSchema } from '@upm/contracts';
import { ID_MESSAGE, ID_PATTERN as ID, parseRequest, storableText } from '@upm/shared-runtime';

/** The POS API's request and response bodies (CONTRACTS.md §1). The OpenAPI document is generated from these. */
const amount = z
  .object({
    currency: z.string().refine((c) => currencyExponent(c) !== undefined, 'an ISO 4217 currency the platform supports'),
    value: z.string().refine((v) => isMinorUnits(v) && v !== '0', 'a positive integer of minor units, e.g. "1250" for 12.50'),
  })
  .strict()
  .refine((m) => isChargeableAmount(m.currency, m.value), { path: ['value'], message: 'IDR amounts are whole rupiah: the last two digits are 00' });

/** A scanned code as the POS read it; what goes on is the code without the spaces or line end a scanner may add. */
const paymentCode = z.string().transform((raw, ctx) => {
  const checked = checkPaymentCode(raw);
  if (checked.ok) return checked.code;
  ctx.addIssue({ code: 'custom', message: 'digits only, 16–32 long, starting 25–30' });
  return z.NEVER;
});

const merchantOrderId = z.string().regex(ID, ID_MESSAGE);

export const createPaymentBody = z
  .object({
    merchantOrderId,
    amount,
    paymentCode,
    description: storableText(256).optional(),
    waitSeconds: z.number().int().min(0).max(30).optional(),
  })
  .strict();

export const createRefundBody = z
  .object({
    refundRequestId: merchantOrderId,
    amount,
    reason: storableText(256).optional(),
    waitSeconds: z.number().int().min(0).max(30).optional(),
  })
  .strict();

export const cancelBody = z.object({ waitSeconds: z.number().int().min(0).max(30).optional() }).strict();

const waitQuery = z.coerce.number().int().min(0).max(30);
export const getPaymentQuery = z.object({ waitSeconds: waitQuery.optional(), ifStatus: paymentStatusSchema.optional() });
export const getRefundQuery = z.object({ waitSeconds: waitQuery.optional() });
export const findByOrderQuery = z.object({ merchantOrderId });

const mcc = z.string().regex(/^[0-9]{4}$/, 'a 4-digit ISO 18245 merchant category code');
const registryId = z.string().regex(ID, ID_MESSAGE);
export const merchantBody = z.object({ id: registryId.optional(), name: storableText(256), mcc }).strict();
export const storeBody = merchantBody;
export const terminalBody = z.object({ id: registryId.optional() }).strict();
export const importRow = z.object({
  merchantId: registryId, merchantName: storableText(256), merchantMcc: mcc,
  storeId: registryId, storeName: storableText(256), storeMcc: mcc, terminalId: registryId,
});

export type CreatePaymentBody = z.infer<typeof createPaymentBody>;
export type CreateRefundBody = z.infer<typeof createRefundBody>;

/** Stable codes for each field, so a POS can map a refusal to a message without parsing text. */
const FIELD_CODES: Record<string, string> = {
  merchantOrderId: 'INVALID_MERCHANT_ORDER_ID',
  refundRequestId: 'INVALID_REFUND_REQUEST_ID',
  'amount.currency': 'UNSUPPORTED_CURRENCY',
  'amount.value': 'INVALID_AMOUNT',
  amount: 'INVALID_AMOUNT',
  paymentCode: 'INVALID_PAYMENT_CODE',
  description: 'INVALID_DESCRIPTION',
  reason: 'INVALID_REASON',
  waitSeconds: 'INVALID_WAIT_SECONDS',
  ifStatus: 'INVALID_STATUS',
  mcc: 'INVALID_MCC',
  name: 'INVALID_NAME',
  id: 'INVALID_ID',
  merchantId: 'INVALID_ID',
  storeId: 'INVALID_ID',
  terminalId: 'INVALID_ID',
  merchantName: 'INVALID_NAME',
  storeName: 'INVALID_NAME',
  merchantMcc: 'INVALID_MCC',
  storeMcc: 'INVALID_MCC',
};

/** Parses input against a schema or throws 400 VALIDATION_FAILED with one detail per problem, in the POS API's codes. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  return parseRequest(schema, input, FIELD_CODES);
}
