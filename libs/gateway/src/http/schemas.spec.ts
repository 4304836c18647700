import { ApiError } from '@upm/shared-runtime';
import { createPaymentBody, importRow, merchantBody, parse, storeBody } from './schemas';

/** The details a refused input is answered with, or the parsed input. */
function detailsOf(schema: Parameters<typeof parse>[0], input: unknown): unknown {
  try {
    return parse(schema, input);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.status, code: error.code, details: error.details };
  }
}

const payment = { merchantOrderId: 'POS-1', amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000000' };
const row = { merchantId: 'mer_1', merchantName: 'Shop', merchantMcc: '5411', storeId: 'sto_1', storeName: 'Store', storeMcc: '5411', terminalId: 'ter_1' };
// every one of these is white space to String.prototype.trim, as to Alipay's check of a required field
const blanks = [' ', '   ', '\t', '\n', '\u00a0', '\u3000', '\ufeff'];

describe('the POS and admin APIs\' free text', () => {
  it('refuses a description of only white space with 400 VALIDATION_FAILED INVALID_DESCRIPTION: Alipay reads it as none and no pay could be sent', () => {
    for (const description of blanks) {
      expect(detailsOf(createPaymentBody, { ...payment, description })).toEqual({
        status: 400, code: 'VALIDATION_FAILED', details: [expect.objectContaining({ field: 'description', code: 'INVALID_DESCRIPTION' })],
      });
    }
  });

  it('refuses a merchant or store name of only white space with INVALID_NAME, on its own and in an import row', () => {
    for (const name of blanks) {
      for (const schema of [merchantBody, storeBody]) {
        expect(detailsOf(schema, { name, mcc: '5411' })).toMatchObject({ status: 400, details: [expect.objectContaining({ field: 'name', code: 'INVALID_NAME' })] });
      }
      expect(detailsOf(importRow, { ...row, merchantName: name, storeName: name })).toMatchObject({
        status: 400,
        details: [expect.objectContaining({ field: 'merchantName', code: 'INVALID_NAME' }), expect.objectContaining({ field: 'storeName', code: 'INVALID_NAME' })],
      });
    }
  });

  it('takes text with something in it as it was sent, spaces and all', () => {
    expect(parse(createPaymentBody, { ...payment, description: ' 2 x coffee ' }).description).toBe(' 2 x coffee ');
    expect(parse(createPaymentBody, payment)).not.toHaveProperty('description');
    expect(parse(merchantBody, { name: ' Harbour Coffee', mcc: '5812' }).name).toBe(' Harbour Coffee');
    expect(parse(importRow, { ...row, storeName: 'Store\u00a01' }).storeName).toBe('Store\u00a01');
  });
});
