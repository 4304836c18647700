import { z } from 'zod';
import { ApiError } from './api-error';
import { parseRequest } from './request-validation';

// Shaped like the POS API's create-payment body and get-payment query, with the gateway's own field codes.
const amount = z
  .object({ currency: z.enum(['HKD', 'IDR']), value: z.string().regex(/^[1-9][0-9]*$/) })
  .strict()
  .refine((m) => m.currency !== 'IDR' || m.value.endsWith('00'), { path: ['value'], message: 'IDR amounts are whole rupiah' });
const createPaymentBody = z
  .object({
    merchantOrderId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    amount,
    paymentCode: z.string().transform((raw, ctx) => {
      if (/^2[5-9][0-9]{14,30}$/.test(raw.trim())) return raw.trim();
      ctx.addIssue({ code: 'custom', message: 'digits only, 16–32 long, starting 25–29' });
      return z.NEVER;
    }),
    description: z.string().min(1).max(256).optional(),
    waitSeconds: z.number().int().min(0).max(30).optional(),
  })
  .strict();
const getPaymentQuery = z.object({ waitSeconds: z.coerce.number().int().min(0).max(30).optional(), ifStatus: z.enum(['PENDING', 'SUCCEEDED']).optional() });
const FIELD_CODES = {
  merchantOrderId: 'INVALID_MERCHANT_ORDER_ID',
  'amount.currency': 'UNSUPPORTED_CURRENCY',
  'amount.value': 'INVALID_AMOUNT',
  amount: 'INVALID_AMOUNT',
  paymentCode: 'INVALID_PAYMENT_CODE',
  waitSeconds: 'INVALID_WAIT_SECONDS',
  ifStatus: 'INVALID_STATUS',
};
const payment = { merchantOrderId: 'o-1', amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000000' };

/** The details a refusal carries, as the caller reads them. */
function refusal(schema: z.ZodType, input: unknown, fieldCodes: Record<string, string> = FIELD_CODES): Array<{ field: string; code: string }> {
  try {
    parseRequest(schema, input, fieldCodes);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: 'the request is not valid' });
    return ((error as ApiError).details as Array<{ field: string; code: string }>).map(({ field, code }) => ({ field, code }));
  }
  throw new Error('the input was accepted');
}

describe('parseRequest', () => {
  it('answers what the schema makes of a valid request', () => {
    expect(parseRequest(createPaymentBody, { ...payment, paymentCode: ' 281012020000000000000000\n' }, FIELD_CODES)).toEqual(payment);
    expect(parseRequest(getPaymentQuery, { waitSeconds: '5' })).toEqual({ waitSeconds: 5 });
    expect(parseRequest(getPaymentQuery, {})).toEqual({});
  });

  it('calls a field that is absent REQUIRED', () => {
    expect(refusal(createPaymentBody, {})).toEqual([
      { field: 'merchantOrderId', code: 'REQUIRED' },
      { field: 'amount', code: 'REQUIRED' },
      { field: 'paymentCode', code: 'REQUIRED' },
    ]);
    expect(refusal(createPaymentBody, null).map((d) => d.code)).toEqual(['REQUIRED', 'REQUIRED', 'REQUIRED']);
    expect(refusal(createPaymentBody, { ...payment, amount: { value: '1250' } })).toEqual([{ field: 'amount.currency', code: 'REQUIRED' }]);
    // a key that holds undefined (as a query parser may leave one) was not sent either
    expect(refusal(createPaymentBody, { ...payment, paymentCode: undefined })).toEqual([{ field: 'paymentCode', code: 'REQUIRED' }]);
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

  it('gives a field that is there with a wrong value its own code, found by its path or else its name', () => {
    expect(refusal(createPaymentBody, { ...payment, amount: { currency: 'EUR', value: '1250' }, paymentCode: '1234' })).toEqual([
      { field: 'amount.currency', code: 'UNSUPPORTED_CURRENCY' },
      { field: 'paymentCode', code: 'INVALID_PAYMENT_CODE' },
    ]);
    expect(refusal(createPaymentBody, { ...payment, amount: { currency: 'IDR', value: '1250' } })).toEqual([{ field: 'amount.value', code: 'INVALID_AMOUNT' }]);
    expect(refusal(getPaymentQuery, { ifStatus: 'LOST' })).toEqual([{ field: 'ifStatus', code: 'INVALID_STATUS' }]);
    expect(refusal(z.object({ refund: z.object({ waitSeconds: z.number() }) }), { refund: { waitSeconds: '-1' } })).toEqual([{ field: 'refund.waitSeconds', code: 'INVALID_WAIT_SECONDS' }]);
  });

  it('calls a field the schema does not know UNKNOWN_FIELD, and anything without a code of its own INVALID_VALUE', () => {
    expect(refusal(createPaymentBody, { ...payment, tip: '1' })).toEqual([{ field: '(body)', code: 'UNKNOWN_FIELD' }]);
    expect(refusal(createPaymentBody, { ...payment, description: '' })).toEqual([{ field: 'description', code: 'INVALID_VALUE' }]);
    expect(refusal(createPaymentBody, { ...payment, description: 7 }, {})).toEqual([{ field: 'description', code: 'INVALID_VALUE' }]);
    expect(refusal(createPaymentBody, { ...payment, amount: 1250 }, {})).toEqual([{ field: 'amount', code: 'INVALID_VALUE' }]);
    // a name the table has only by inheritance is no code of its own
    expect(refusal(z.object({ constructor: z.string() }), JSON.parse('{ "constructor": 1 }'))).toEqual([{ field: 'constructor', code: 'INVALID_VALUE' }]);
  });

  it('decides REQUIRED from the request for every kind of check, not only a type check', () => {
    // zod reports a missing choice or literal as an invalid option, not as a type error
    const endpoint = z.object({ status: z.enum(['ON', 'OFF']), types: z.array(z.string()).min(1), overlap: z.literal(true) }).strict();
    expect(refusal(endpoint, {}, {})).toEqual([
      { field: 'status', code: 'REQUIRED' },
      { field: 'types', code: 'REQUIRED' },
      { field: 'overlap', code: 'REQUIRED' },
    ]);
    expect(refusal(endpoint, { status: 'MAYBE', types: 'x', overlap: 'yes' }, {})).toEqual([
      { field: 'status', code: 'INVALID_VALUE' },
      { field: 'types', code: 'INVALID_VALUE' },
      { field: 'overlap', code: 'INVALID_VALUE' },
    ]);
    expect(refusal(endpoint, { status: 'ON', types: ['a', 7], overlap: true }, {})).toEqual([{ field: 'types.1', code: 'INVALID_VALUE' }]);
  });

  it('names the whole input (body) when the problem is with all of it', () => {
    expect(refusal(z.string().regex(/^[a-z]+$/), 'm 1', {})).toEqual([{ field: '(body)', code: 'INVALID_VALUE' }]);
    expect(refusal(createPaymentBody, 'text')).toEqual([{ field: '(body)', code: 'INVALID_VALUE' }]);
  });

  it('keeps zod’s message for each problem', () => {
    try {
      parseRequest(createPaymentBody, { ...payment, paymentCode: '1234' });
    } catch (error) {
      expect((error as ApiError).details).toEqual([{ field: 'paymentCode', code: 'INVALID_VALUE', message: 'digits only, 16–32 long, starting 25–29' }]);
      return;
    }
    throw new Error('the input was accepted');
  });
});
