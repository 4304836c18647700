import { ApiError } from '@upm/shared-runtime';
import { createPaymentBody, getPaymentQuery, parse } from './schemas';

/** The details a refusal carries, as the POS reads them. */
function refusal(schema: Parameters<typeof parse>[0], input: unknown): Array<{ field: string; code: string }> {
  try {
    parse(schema, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return ((error as ApiError).details as Array<{ field: string; code: string }>).map(({ field, code }) => ({ field, code }));
  }
  throw new Error('the input was accepted');
}

describe('parse', () => {
  it('calls a field that is absent REQUIRED', () => {
    expect(refusal(createPaymentBody, {})).toEqual([
      { field: 'merchantOrderId', code: 'REQUIRED' },
      { field: 'amount', code: 'REQUIRED' },
      { field: 'paymentCode', code: 'REQUIRED' },
    ]);
    expect(refusal(createPaymentBody, { merchantOrderId: 'o-1', amount: { value: '1250' }, paymentCode: '281012020000000000000000' })).toEqual([
      { field: 'amount.currency', code: 'REQUIRED' },
    ]);
  });

  it('gives a field that is there with the wrong type its own code, not REQUIRED', () => {
    // a POS that sends the amount or the scanned code as a JSON number did send them
    expect(refusal(createPaymentBody, { merchantOrderId: 'o-1', amount: 1250, paymentCode: 281012020000000000000000, waitSeconds: '5' })).toEqual([
      { field: 'amount', code: 'INVALID_AMOUNT' },
      { field: 'paymentCode', code: 'INVALID_PAYMENT_CODE' },
      { field: 'waitSeconds', code: 'INVALID_WAIT_SECONDS' },
    ]);
    expect(refusal(createPaymentBody, { merchantOrderId: 1, amount: { currency: 'HKD', value: 1250 }, paymentCode: '281012020000000000000000' })).toEqual([
      { field: 'merchantOrderId', code: 'INVALID_MERCHANT_ORDER_ID' },
      { field: 'amount.value', code: 'INVALID_AMOUNT' },
    ]);
    expect(refusal(getPaymentQuery, { waitSeconds: 'soon' })).toEqual([{ field: 'waitSeconds', code: 'INVALID_WAIT_SECONDS' }]);
  });
});
