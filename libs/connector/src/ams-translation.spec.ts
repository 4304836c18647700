import type { AmsCallResult, PayResponse } from '@upm/alipay';
import { MESSAGE_EXAMPLES, payResultV1, refundResultV1, TOPICS } from '@upm/contracts';
import type { PayCommandV1, RefundCommandV1 } from '@upm/contracts';
import { payInput, payResult, refundRequest, refundResult } from './ams-translation';

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

  it('keeps an unknown outcome unknown and still answers a valid result', () => {
    const data = refundResult(refundCommand, { outcome: 'U', resultCode: 'TIMEOUT', resultMessage: 'no answer within 8000 ms', problem: 'TIMEOUT', durationMs: 8000, exchange });
    expect(refundResultV1.safeParse(data).success).toBe(true);
    expect(data).toMatchObject({ outcome: 'U', resultCode: 'TIMEOUT', refundId: refundCommand.refundId });
  });
});
