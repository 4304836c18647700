import { SUPPORTED_CURRENCIES } from '@upm/contracts';
import { ApiError } from '@upm/shared-runtime';
import type { ReportIngestion } from '../reports/report-ingestion';
import type { FinanceService } from './finance.service';
import { FinanceController } from './finance.controller';

/** The refusal the finance API answers, as finance reads it; the finance service is never reached. */
async function refusal(call: (controller: FinanceController) => unknown): Promise<Array<{ field: string; code: string; message: string }>> {
  const finance = new Proxy({}, { get: () => () => Promise.reject(new Error('a refused request reached the finance service')) });
  const controller = new FinanceController(finance as FinanceService, {} as ReportIngestion, { feeMinor: 10n });
  try {
    await call(controller);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: 'the request is not valid' });
    return (error as ApiError).details as Array<{ field: string; code: string; message: string }>;
  }
  throw new Error('the request was accepted');
}

describe('the finance API refuses a request', () => {
  it('naming each field, with a code saying whether it is missing, unknown or wrong', async () => {
    expect(await refusal((c) => c.resolve('d-1', {}))).toEqual([
      { field: 'resolvedBy', code: 'REQUIRED', message: expect.any(String) },
      { field: 'note', code: 'REQUIRED', message: expect.any(String) },
    ]);
    // a resolver named by a number did send a name
    expect(await refusal((c) => c.resolve('d-1', { resolvedBy: 7, note: 'booked', adjust: 'yes' }))).toEqual([
      { field: 'resolvedBy', code: 'INVALID_VALUE', message: expect.any(String) },
      { field: 'adjust', code: 'INVALID_VALUE', message: expect.any(String) },
    ]);
    expect(await refusal((c) => c.resolve('d-1', { resolvedBy: 'ops', note: 'booked', by: 'ops' }))).toEqual([{ field: '(body)', code: 'UNKNOWN_FIELD', message: expect.any(String) }]);
    expect(await refusal((c) => c.discrepancies({ type: 'SOMETHING' }))).toEqual([{ field: 'type', code: 'INVALID_VALUE', message: expect.any(String) }]);
    expect(await refusal((c) => c.export({ day: '2026-02-30' }))).toEqual([{ field: 'day', code: 'INVALID_VALUE', message: 'a calendar day as YYYY-MM-DD' }]);
    expect(await refusal((c) => c.batch('no such batch'))).toEqual([{ field: '(body)', code: 'INVALID_VALUE', message: expect.any(String) }]);
  });

  // a page is bounded: a listing can no longer be asked for every row at once, nor for none
  it.each([
    ['discrepancies', (c: FinanceController, query: unknown) => c.discrepancies(query), 1000],
    ['files', (c: FinanceController, query: unknown) => c.files(query), 1000],
    ['batches', (c: FinanceController, query: unknown) => c.batches(query), 500],
    ['transactions', (c: FinanceController, query: unknown) => c.transactions(query), 5000],
  ] as const)('of %s for a page of no rows, of more than its bound, or after no id', async (_what, list, bound) => {
    for (const limit of ['0', String(bound + 1), '10.5', 'all', '-3']) {
      expect(await refusal((c) => list(c, { limit }))).toEqual([{ field: 'limit', code: 'INVALID_VALUE', message: expect.any(String) }]);
    }
    expect(await refusal((c) => list(c, { before: 'dis 1' }))).toEqual([{ field: 'before', code: 'INVALID_VALUE', message: expect.any(String) }]);
  });
});

describe('the finance API shows the fee schedule the ledger books with', () => {
  const finance = new Proxy({}, { get: () => () => Promise.reject(new Error('the fee schedule needs no database')) }) as FinanceService;

  it('its rate, its fixed parts as configured, and the fixed part it charges in every currency the platform takes', () => {
    const controller = new FinanceController(finance, {} as ReportIngestion, { feeRateBps: 220, feeMinor: 5n, feeMinorByCurrency: { HKD: 100n, JPY: 1n } });
    const answer = controller.feeSchedule();
    expect(answer).toMatchObject({ feeRateBps: 220, feeMinor: '5', feeMinorByCurrency: { HKD: '100', JPY: '1' } });
    expect(answer.fixedByCurrency).toHaveLength(SUPPORTED_CURRENCIES.length);
    expect(answer.fixedByCurrency.filter((m) => ['HKD', 'JPY', 'USD'].includes(m.currency))).toEqual([
      { currency: 'HKD', value: '100' }, { currency: 'JPY', value: '1' }, { currency: 'USD', value: '5' },
    ]);
    // JSON as the API answers it: no bigint left in it
    expect(JSON.parse(JSON.stringify(answer))).toEqual(answer);
  });

  it('with the defaults: no rate and 10 minor units in every currency', () => {
    const answer = new FinanceController(finance, {} as ReportIngestion, { feeMinor: 10n, feeRateBps: 0, feeMinorByCurrency: {} }).feeSchedule();
    expect(answer).toMatchObject({ feeRateBps: 0, feeMinor: '10', feeMinorByCurrency: {} });
    expect(new Set(answer.fixedByCurrency.map((m) => m.value))).toEqual(new Set(['10']));
  });
});
