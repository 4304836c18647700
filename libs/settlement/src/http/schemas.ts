import { z } from 'zod';

/** The finance API's request schemas: the controller validates with them, the OpenAPI document is generated from them. */
/** A day the calendar has (not 2026-02-30, which Date.parse rolls over to March and PostgreSQL refuses). */
export const day = z.iso.date('a calendar day as YYYY-MM-DD');
export const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
export const balancesQuery = z.object({
  merchantId: id.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
  status: z.enum(['POSTED', 'ALL']).default('ALL'),
});
export const batchesQuery = z.object({ currency: z.string().regex(/^[A-Z]{3}$/).optional(), status: z.enum(['RECONCILED', 'DISCREPANCIES']).optional() });
export const discrepanciesQuery = z.object({
  status: z.enum(['OPEN', 'RESOLVED']).optional(),
  type: z.enum(['MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER', 'UNSUPPORTED_ROW']).optional(),
  paymentId: id.optional(),
});
export const resolveBody = z
  .object({
    resolvedBy: z.string().min(1).max(128).regex(/\S/, 'not blank'),
    note: z.string().min(1).max(2000).regex(/\S/, 'not blank'),
    /**
     * book what Alipay settled: a MISMATCHED difference as an ADJUSTMENT, a MISSING_IN_LEDGER transaction as its batch paid it out, a
     * MISSING_IN_REPORT transaction written off as never made (docs/settlement.md)
     */
    adjust: z.boolean().default(false),
  })
  .strict();
export const transactionsQuery = z.object({ paymentId: id.optional(), day: day.optional(), batchId: id.optional() });
export const exportQuery = z.object({ day: day.optional(), batchId: id.optional() });
