import { z } from 'zod';
import { currencyExponent, isMinorUnits } from '../money';

export const moneySchema = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/),
    value: z.string().refine(isMinorUnits, 'minor units as a non-negative integer string'),
  })
  .refine((m) => currencyExponent(m.currency) !== undefined, { message: 'unsupported currency', path: ['currency'] });

export const idSchema = z.string().min(1).max(64);
export const isoTime = z.iso.datetime({ offset: true });

export const paymentStatusSchema = z.enum(['PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'NEEDS_REVIEW']);
export type PaymentStatus = z.infer<typeof paymentStatusSchema>;

export const failureSchema = z.object({ code: z.string().min(1).max(64), message: z.string().max(512) });

/** What Alipay needs to know about who sells: echoed in its reports as referenceMerchantId / referenceStoreId. */
export const merchantContextSchema = z.object({
  merchantId: idSchema,
  merchantName: z.string().min(1).max(256),
  merchantMcc: z.string().regex(/^[0-9]{4}$/),
  storeId: idSchema,
  storeName: z.string().min(1).max(256),
  storeMcc: z.string().regex(/^[0-9]{4}$/),
  terminalId: idSchema,
});
