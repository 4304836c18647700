import { buildPayRequest } from '@upm/alipay';
import type { AmsCallResult, AmsNotification, InquiryPaymentResponse, InquiryRefundResponse, PayResponse } from '@upm/alipay';
import { inquireRefundResultV1, inquiryResultV1, MESSAGE_EXAMPLES, paymentNotifiedV1, payResultV1, refundNotifiedV1, refundResultV1, TOPICS } from '@upm/contracts';
import type { PayCommandV1, RefundCommandV1 } from '@upm/contracts';
import { inquireRefundResult, inquiryResult, notificationMessage, payInput, payResult, refundRequest, refundResult } from './ams-translation';

const exchange = { sent: true, clientId: 'C', url: 'u', path: '/p', requestTime: '1', requestBody: '{}' };
const payCommand = MESSAGE_EXAMPLES[TOPICS.alipayCommands.name].Pay as PayCommandV1;
const refundCommand = MESSAGE_EXAMPLES[TOPICS.alipayCommands.name].Refund as RefundCommandV1;

describe('AMS translation', () => {
  it('builds a UPM pay from the command with the merchant, store and terminal of the sale', () => {
    const input = payInput(payCommand, 'https://platform.example/alipay/notify');
    expect(input).toMatchObject({
      paymentRequestId: payCommand.paymentRequestId, paymentCode: payCommand.paymentCode, amount: payCommand.amount, referenceOrderId: payCommand.merchantOrderId,
      merchant: { referenceMerchantId: 'mer_7KQ2', merchantMCC: '5812', store: { referenceStoreId: 'sto_A001', storeMCC: '5812' } },
      env: { storeTerminalId: 'ter_A001_01' }, paymentNotifyUrl: 'https://platform.example/alipay/notify',
    });
  });

  it('stamps the terminal\'s request time in AMS\'s form: seconds and an offset, no milliseconds', () => {
    expect(payCommand.terminalRequestTime).toBe('2026-11-27T04:06:00.000Z');
    expect(payInput(payCommand, undefined).env.storeTerminalRequestTime).toBe('2026-11-27T12:06:00+08:00');
  });

  it('sends a pay for a blank description, merchant or store name, naming it by its id as for a missing description', () => {
    const blank = { ...payCommand, description: ' \t\u00a0', merchant: { ...payCommand.merchant, merchantName: '  ', storeName: '\u3000' } };
    const built = buildPayRequest(payInput(blank, undefined));
    expect(built.ok).toBe(true);
    expect(built.ok && built.request.order).toMatchObject({
      orderDescription: payCommand.merchantOrderId,
      merchant: { merchantName: payCommand.merchant.merchantId, store: { storeName: payCommand.merchant.storeId } },
    });
    const { description: _, ...undescribed } = payCommand;
    expect(payInput(undescribed, undefined).orderDescription).toBe(payCommand.merchantOrderId);
    // text with something in it goes as it was given, spaces and all
    const spaced = { ...payCommand, description: ' 2 x coffee ', merchant: { ...payCommand.merchant, merchantName: ' Harbour ' } };
    expect(payInput(spaced, undefined)).toMatchObject({ orderDescription: ' 2 x coffee ', merchant: { merchantName: ' Harbour ' } });
  });

  it('sends our refund id as Alipay\'s refundRequestId, which must be unique across merchants', () => {
    expect(refundRequest(refundCommand, undefined)).toMatchObject({ refundRequestId: refundCommand.refundId, referenceRefundId: refundCommand.refundRequestId, paymentId: refundCommand.alipayPaymentId });
  });

  it('fits whatever Alipay answers into our contracts: odd timestamps dropped, long texts clipped', () => {
    const result: AmsCallResult<PayResponse> = {
      outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'x'.repeat(2000), durationMs: 3, exchange,
      body: { result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'ok' }, paymentId: '2026112719401080010018810000000001', paymentTime: 'yesterday-ish', pspCustomerInfo: { pspName: 'ALIPAYHK' } },
    };
    const data = payResult(payCommand, result);
    expect(payResultV1.safeParse(data).success).toBe(true);
    expect(data).toMatchObject({ outcome: 'S', alipayPaymentId: '2026112719401080010018810000000001', walletBrandName: 'ALIPAYHK' });
    expect(data).not.toHaveProperty('paymentTime');
    expect(data.resultMessage).toHaveLength(512);
  });

  it('carries the amount Alipay reports for the payment, in pay and inquiry answers, and drops one that is not minor units', () => {
    const body = (paymentAmount: unknown) => ({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'ok' }, paymentId: '2026112719401080010018810000000001', paymentAmount }) as PayResponse;
    const pay = payResult(payCommand, { outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'ok', durationMs: 3, exchange, body: body({ currency: 'HKD', value: '1150' }) });
    expect(payResultV1.safeParse(pay).success).toBe(true);
    expect(pay.amount).toEqual({ currency: 'HKD', value: '1150' });
    const inquiry = inquiryResult(payCommand, { outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'ok', durationMs: 3, exchange, body: { ...body({ currency: 'USD', value: '1250' }), paymentStatus: 'SUCCESS' } as InquiryPaymentResponse });
    expect(inquiryResultV1.safeParse(inquiry).success).toBe(true);
    expect(inquiry.amount).toEqual({ currency: 'USD', value: '1250' });
    for (const odd of [{ currency: 'HKD', value: '11.50' }, { currency: 'hkd', value: '1150' }, '1150', undefined]) {
      const data = payResult(payCommand, { outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'ok', durationMs: 3, exchange, body: body(odd) });
      expect(payResultV1.safeParse(data).success).toBe(true);
      expect(data).not.toHaveProperty('amount');
    }
  });

  it('carries a payment notification\'s paymentAmount, and drops one that is not minor units of a currency we know, as answers do', () => {
    const notification = (paymentAmount: unknown) =>
      ({
        notifyType: 'PAYMENT_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
        paymentRequestId: 'pay_01JD', paymentId: '2026112719401080010018810000000001', paymentAmount, paymentTime: '2026-11-27T12:06:02+08:00',
      }) as unknown as AmsNotification;
    const charged = notificationMessage(notification({ currency: 'HKD', value: '1150' }), undefined)!;
    expect(paymentNotifiedV1.safeParse(charged.data).success).toBe(true);
    expect(charged.data.amount).toEqual({ currency: 'HKD', value: '1150' });
    for (const odd of [{ currency: 'HKD', value: '11.50' }, { currency: 'HKD', value: '-1150' }, { currency: 'hkd', value: '1150' }, { currency: 'XYZ', value: '1150' }, { currency: 'HKD', value: 1150 }, '1150']) {
      const message = notificationMessage(notification(odd), undefined)!;
      expect(paymentNotifiedV1.safeParse(message.data).success).toBe(true);
      expect(message.data).toMatchObject({ outcome: 'S', alipayPaymentId: '2026112719401080010018810000000001' });
      expect(message.data).not.toHaveProperty('amount');
    }
  });

  it('reads Alipay\'s legacy result codes by their current names (spec §4.4), in answers, inquiries and notifications', () => {
    const failed = (resultCode: string): AmsCallResult<PayResponse> => ({
      outcome: 'F', resultCode, resultMessage: 'no', durationMs: 3, exchange, body: { result: { resultCode, resultStatus: 'F', resultMessage: 'no' } },
    });
    expect(payResult(payCommand, failed('INVALID_CODE')).resultCode).toBe('INVALID_PAYMENT_CODE');
    expect(payResult(payCommand, failed('SIGNATURE_INVALID')).resultCode).toBe('INVALID_SIGNATURE');
    expect(payResult(payCommand, failed('USER_BALANCE_NOT_ENOUGH')).resultCode).toBe('USER_BALANCE_NOT_ENOUGH');
    const inquiry = inquiryResult(payCommand, {
      outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'ok', durationMs: 3, exchange,
      body: { result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'ok' }, paymentStatus: 'FAIL', paymentResultCode: 'INVALID_CODE' } as InquiryPaymentResponse,
    });
    expect(inquiry).toMatchObject({ paymentStatus: 'FAIL', paymentResultCode: 'INVALID_PAYMENT_CODE' });
    const notified = notificationMessage(
      { notifyType: 'PAYMENT_RESULT', result: { resultCode: 'INVALID_CODE', resultStatus: 'F', resultMessage: 'invalid code' }, paymentRequestId: 'pay_01JD' } as unknown as AmsNotification,
      undefined,
    );
    expect(notified?.data).toMatchObject({ outcome: 'F', resultCode: 'INVALID_PAYMENT_CODE' });
  });

  it('keeps an unknown outcome unknown and still answers a valid result', () => {
    const data = refundResult(refundCommand, { outcome: 'U', resultCode: 'TIMEOUT', resultMessage: 'no answer within 8000 ms', problem: 'TIMEOUT', durationMs: 8000, exchange });
    expect(refundResultV1.safeParse(data).success).toBe(true);
    expect(data).toMatchObject({ outcome: 'U', resultCode: 'TIMEOUT', refundId: refundCommand.refundId });
  });

  it('reads a payment or refund status it does not know as still processing, never as final', () => {
    const inquiry = (paymentStatus: string): AmsCallResult<InquiryPaymentResponse> => ({
      outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'ok', durationMs: 3, exchange,
      body: { result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'ok' }, paymentStatus } as InquiryPaymentResponse,
    });
    for (const [reported, read] of [['SUCCESS', 'SUCCESS'], ['CANCELLED', 'CANCELLED'], ['PENDING', 'PROCESSING'], ['INIT', 'PROCESSING']]) {
      const data = inquiryResult(payCommand, inquiry(reported));
      expect(inquiryResultV1.safeParse(data).success).toBe(true);
      expect(data.paymentStatus).toBe(read);
    }
    const refundInquiry: AmsCallResult<InquiryRefundResponse> = {
      outcome: 'S', resultCode: 'SUCCESS', resultMessage: 'ok', durationMs: 3, exchange,
      body: { result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'ok' }, refundStatus: 'REFUND_QUEUED' } as unknown as InquiryRefundResponse,
    };
    const refund = inquireRefundResult({ ...refundCommand, paymentRequestId: refundCommand.paymentId, attempt: 1 }, refundInquiry);
    expect(inquireRefundResultV1.safeParse(refund).success).toBe(true);
    expect(refund.refundStatus).toBe('PROCESSING');
  });

  it('masks a payment code Alipay quotes back in its result message', () => {
    const data = payResult(payCommand, { outcome: 'F', resultCode: 'PARAM_ILLEGAL', resultMessage: `paymentCode ${payCommand.paymentCode} is illegal`, durationMs: 3, exchange });
    expect(data.resultMessage).toBe('paymentCode 281012**************0000 is illegal');
  });

  it('reads a payment notification by its result, and by its paymentStatus when Alipay sends one', () => {
    const notification = (resultStatus: 'S' | 'F', paymentStatus?: string) =>
      ({
        notifyType: 'PAYMENT_RESULT',
        result: { resultCode: resultStatus === 'S' ? 'SUCCESS' : 'ORDER_IS_CLOSED', resultStatus, resultMessage: 'm' },
        paymentRequestId: 'pay_01JD', paymentId: '2026112719401080010018810000000001', paymentAmount: { currency: 'HKD', value: '1250' },
        paymentCreateTime: '2026-11-27T12:06:00+08:00',
        ...(paymentStatus ? { paymentStatus } : {}),
      }) as unknown as AmsNotification;
    const outcome = (resultStatus: 'S' | 'F', paymentStatus?: string) => notificationMessage(notification(resultStatus, paymentStatus), undefined)?.data.outcome;
    // the in-store fields (spec §9): no paymentStatus, the result says it; with one, both must agree on a final state
    expect(outcome('S')).toBe('S');
    expect(outcome('F')).toBe('F');
    expect(outcome('S', 'SUCCESS')).toBe('S');
    expect(outcome('F', 'FAIL')).toBe('F');
    expect(outcome('F', 'CANCELLED')).toBe('F');
    for (const [result, status] of [['S', 'PROCESSING'], ['S', 'PENDING'], ['S', 'FAIL'], ['S', 'CANCELLED'], ['F', 'SUCCESS'], ['F', 'PROCESSING'], ['S', 'SOMETHING_NEW']] as const) {
      expect(notificationMessage(notification(result, status), undefined)).toBeUndefined();
    }
    expect(paymentNotifiedV1.safeParse(notificationMessage(notification('S', 'SUCCESS'), undefined)?.data).success).toBe(true);
  });

  it('routes a refund notification to its payment with our refund id and the merchant\'s, and drops one it cannot route', () => {
    const notification = {
      notifyType: 'REFUND_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
      refundRequestId: 'ref_01JE', refundId: '2026112719401080010018810000000009', refundStatus: 'SUCCESS', refundAmount: { currency: 'HKD', value: '500' },
    } as unknown as AmsNotification;
    const routed = notificationMessage(notification, { paymentId: 'pay_01JD', refundRequestId: 'R-1' })!;
    expect(routed).toMatchObject({ type: 'RefundNotified', key: 'pay_01JD', data: { paymentId: 'pay_01JD', refundId: 'ref_01JE', refundRequestId: 'R-1', outcome: 'S' } });
    expect(refundNotifiedV1.safeParse(routed.data).success).toBe(true);
    expect(notificationMessage(notification, undefined)).toBeUndefined();
  });

  it('carries a refund notification\'s refundAmount, and drops one that is not minor units of a currency we know, as for payments', () => {
    const notification = (refundAmount: unknown) =>
      ({
        notifyType: 'REFUND_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
        refundRequestId: 'ref_01JE', refundId: '2026112719401080010018810000000009', refundStatus: 'SUCCESS', refundAmount,
      }) as unknown as AmsNotification;
    const route = { paymentId: 'pay_01JD', refundRequestId: 'R-1' };
    const refunded = notificationMessage(notification({ currency: 'HKD', value: '500' }), route)!;
    expect(refundNotifiedV1.safeParse(refunded.data).success).toBe(true);
    expect(refunded.data.amount).toEqual({ currency: 'HKD', value: '500' });
    for (const odd of [{ currency: 'HKD', value: '5.00' }, { currency: 'HKD', value: '-500' }, { currency: 'hkd', value: '500' }, { currency: 'XYZ', value: '500' }, { currency: 'HKD', value: 500 }, '500', undefined]) {
      const message = notificationMessage(notification(odd), route)!;
      expect(refundNotifiedV1.safeParse(message.data).success).toBe(true);
      expect(message.data).toMatchObject({ paymentId: 'pay_01JD', refundId: 'ref_01JE', refundRequestId: 'R-1', outcome: 'S', alipayRefundId: '2026112719401080010018810000000009' });
      expect(message.data).not.toHaveProperty('amount');
    }
  });

  it('reads a refund notification by its refundStatus, and takes no success from one that is not SUCCESS', () => {
    const notification = (resultStatus: 'S' | 'F', refundStatus?: string) =>
      ({
        notifyType: 'REFUND_RESULT', result: { resultCode: resultStatus === 'S' ? 'SUCCESS' : 'REFUND_FAILED', resultStatus, resultMessage: 'm' },
        refundRequestId: 'ref_01JE', refundAmount: { currency: 'HKD', value: '500' }, ...(refundStatus ? { refundStatus } : {}),
      }) as unknown as AmsNotification;
    const route = { paymentId: 'pay_01JD', refundRequestId: 'R-1' };
    const outcome = (resultStatus: 'S' | 'F', refundStatus?: string) => notificationMessage(notification(resultStatus, refundStatus), route)?.data.outcome;
    expect(outcome('S', 'SUCCESS')).toBe('S');
    expect(outcome('S')).toBe('S');
    expect(outcome('F')).toBe('F');
    expect(outcome('F', 'FAIL')).toBe('F');
    expect(outcome('S', 'FAIL')).toBe('F');
    expect(outcome('S', 'PROCESSING')).toBeUndefined();
    expect(outcome('S', 'REFUND_QUEUED')).toBeUndefined();
    expect(outcome('F', 'SUCCESS')).toBeUndefined();
  });
});
