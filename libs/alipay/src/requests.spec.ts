import { AmsRequestError, buildPayRequest, requireOneOf, UpmPayInput, validateRefundRequest } from './requests';

const input: UpmPayInput = {
  paymentRequestId: 'PR20240601_000123',
  paymentCode: '281012020000000000000000',
  amount: { currency: 'JPY', value: '1000' },
  referenceOrderId: 'ORD-000123',
  orderDescription: '2x Latte',
  merchant: {
    referenceMerchantId: 'seller231117459',
    merchantName: 'Some Cafe',
    merchantMCC: '5812',
    store: { referenceStoreId: 'store231117459', storeName: 'Some Cafe Shinjuku', storeMCC: '5812' },
  },
  env: { storeTerminalId: 'POS-07', storeTerminalRequestTime: '2024-06-01T13:35:02+09:00' },
  paymentNotifyUrl: 'https://merchant.example.com/antom/notify',
};

describe('buildPayRequest', () => {
  it('adds the fixed User-Presented Mode fields and mirrors the amount into the order', () => {
    const built = buildPayRequest(input);
    expect(built).toEqual({
      ok: true,
      request: {
        productCode: 'IN_STORE_PAYMENT',
        paymentRequestId: 'PR20240601_000123',
        order: {
          referenceOrderId: 'ORD-000123',
          orderDescription: '2x Latte',
          orderAmount: { currency: 'JPY', value: '1000' },
          merchant: input.merchant,
          env: input.env,
        },
        paymentAmount: { currency: 'JPY', value: '1000' },
        paymentMethod: { paymentMethodType: 'CONNECT_WALLET', paymentMethodId: '281012020000000000000000' },
        paymentFactor: { inStorePaymentScenario: 'PaymentCode' },
        paymentNotifyUrl: 'https://merchant.example.com/antom/notify',
      },
    });
  });

  it('omits optional fields rather than sending them empty, and strips spaces from the scanned code', () => {
    const built = buildPayRequest({ ...input, paymentNotifyUrl: undefined, paymentCode: '2810 1202 0000 0000 0000 0000' });
    if (!built.ok) throw new Error('expected a request');
    expect('paymentNotifyUrl' in built.request).toBe(false);
    expect(built.request.paymentMethod.paymentMethodId).toBe('281012020000000000000000');
  });

  it('refuses a malformed code without throwing', () => {
    expect(buildPayRequest({ ...input, paymentCode: '1234' })).toEqual({ ok: false, problem: 'BAD_LENGTH' });
    expect(buildPayRequest({ ...input, paymentCode: '101012020000000000000000' })).toEqual({ ok: false, problem: 'BAD_PREFIX' });
  });

  it('throws for a malformed amount, id or a missing merchant field, naming each', () => {
    let error: unknown;
    try {
      buildPayRequest({ ...input, paymentRequestId: 'has space', amount: { currency: 'XXX', value: '12.50' }, merchant: { ...input.merchant, merchantMCC: '' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AmsRequestError);
    expect((error as AmsRequestError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'amount.currency', 'amount.value', 'merchant.merchantMCC', 'paymentRequestId',
    ]);
    expect(() => buildPayRequest({ ...input, amount: { currency: 'HKD', value: '0' } })).toThrow(AmsRequestError);
  });
});

describe('amounts in minor units (spec §3.1)', () => {
  it('sends 0-decimal JPY and KRW as whole units and 2-decimal HKD as cents, unchanged', () => {
    for (const amount of [{ currency: 'JPY', value: '1' }, { currency: 'KRW', value: '50' }, { currency: 'HKD', value: '1' }]) {
      const built = buildPayRequest({ ...input, amount });
      if (!built.ok) throw new Error('expected a request');
      expect([built.request.paymentAmount, built.request.order.orderAmount]).toEqual([amount, amount]);
    }
  });

  it('refuses a 3-decimal currency Antom does not list (KWD, BHD, JOD) rather than guess its exponent', () => {
    for (const currency of ['KWD', 'BHD', 'JOD']) {
      expect(() => buildPayRequest({ ...input, amount: { currency, value: '1250' } })).toThrow(/amount\.currency: unsupported/);
      expect(() => validateRefundRequest({ refundRequestId: 'R1', paymentId: 'P1', refundAmount: { currency, value: '1250' } })).toThrow(/refundAmount\.currency: unsupported/);
    }
  });
});

describe('other requests', () => {
  it('refunds need an id, a payment id and a positive amount', () => {
    expect(() => validateRefundRequest({ refundRequestId: 'R1', paymentId: 'P1', refundAmount: { currency: 'HKD', value: '100' } })).not.toThrow();
    expect(() => validateRefundRequest({ refundRequestId: 'R1', paymentId: '', refundAmount: { currency: 'HKD', value: '-1' } })).toThrow(/paymentId.*refundAmount/);
  });

  it('inquiries and cancels need one of their two ids', () => {
    expect(() => requireOneOf({ paymentId: 'P1' }, ['paymentId', 'paymentRequestId'])).not.toThrow();
    expect(() => requireOneOf({ paymentId: '' }, ['paymentId', 'paymentRequestId'])).toThrow(AmsRequestError);
  });
});
