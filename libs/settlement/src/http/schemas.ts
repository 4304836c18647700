import { z } from 'zod';

/** The finance API's request schemas: the controller validates with them, the OpenAPI document is generated from them. */
/** A day the calendar has (not 2026-02-30, which Date.parse rolls over to March and PostgreSQL refuses). */
export const day = z.iso.date('a calendar day as YYYY-MM-DD');
export const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
// Every query is strict: a misspelt filter or page size (`?currncy=`, `?limt=`) is refused with UNKNOWN_FIELD,
// not ignored into an answer finance would take for the one it asked for.
export const balancesQuery = z
  .object({
    merchantId: id.optional(),
    currency: z.string().regex(/^[A-Z]{3}$/).optional(),
    at: z.iso.datetime({ offset: true }).optional(),
    status: z.enum(['POSTED', 'ALL']).default('ALL'),
  })
  .strict();
/**
 * A page of a listing, as the webhook delivery log pages: at most `limit` rows (the listing's bound when not
 * given), and for the next page `before` the last id of this one (the answer's `next`).
 */
const page = (bound: number) => ({
  limit: z.coerce.number().int().min(1).max(bound).default(bound),
  /** the last id of the page before (its answer's `next`): the listing goes on after it */
  before: id.optional(),
});
/** The most rows one page of each listing holds. */
export const PAGE_BOUNDS = { files: 1000, batches: 500, discrepancies: 1000, transactions: 5000 } as const;
export const filesQuery = z.object(page(PAGE_BOUNDS.files)).strict();
export const batchesQuery = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/).optional(),
    status: z.enum(['RECONCILED', 'DISCREPANCIES']).optional(),
    /** desc (the default): newest settlementTime first; asc: in the order the batches were written, to read on for later ones */
    order: z.enum(['desc', 'asc']).optional(),
    ...page(PAGE_BOUNDS.batches),
  })
  .strict();
export const discrepanciesQuery = z
  .object({
    status: z.enum(['OPEN', 'RESOLVED']).optional(),
    type: z.enum(['MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER', 'UNSUPPORTED_ROW']).optional(),
    paymentId: id.optional(),
    ...page(PAGE_BOUNDS.discrepancies),
  })
  .strict();
export const resolveBody = z
  .object({
    resolvedBy: z.string().min(1).max(128).regex(/\S/, 'not blank'),
    note: z.string().min(1).max(2000).regex(/\S/, 'not blank'),
    /**
     * book what Alipay settled: a MISMATCHED difference as an ADJUSTMENT, a MISSING_IN_LEDGER transaction as its batch paid it out, a
     * MISSING_IN_REPORT transaction written off as never made, or that write-off reversed once a batch pays the transaction out (docs/settlement.md)
     */
    adjust: z.boolean().default(false),
  })
  .strict();
export const transactionsQuery = z.object({ paymentId: id.optional(), day: day.optional(), batchId: id.optional(), ...page(PAGE_BOUNDS.transactions) }).strict();
export const exportQuery = z.object({ day: day.optional(), batchId: id.optional() }).strict();
