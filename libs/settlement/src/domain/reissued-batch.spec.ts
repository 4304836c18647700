import type { BatchItem, SettlementBatchReport } from './report-files';
import { batchReissue, SettledItem } from './reissued-batch';

const settledItem = (id: string, amount = 1250n, fee = -10n): SettledItem => ({ kind: 'PAYMENT', transactionRequestId: id, amount, fee, settlementAmount: amount + fee });
const item = (s: SettledItem): BatchItem => ({ type: s.kind, transactionRequestId: s.transactionRequestId, amount: s.amount, fee: s.fee, settlementAmount: s.settlementAmount, part: 0 }) as unknown as BatchItem;

function report(items: SettledItem[]): SettlementBatchReport {
  const fees = items.reduce((sum, i) => sum + i.fee, 0n);
  const net = items.reduce((sum, i) => sum + i.settlementAmount, 0n);
  return { batchId: 'B1', customerId: 'C1', currency: 'HKD', settlementTime: '', items: items.map(item), unsupportedItems: [], summary: [], otherLines: [], gross: net - fees, fees, net, fx: null };
}

describe('a later file of a settled batch', () => {
  const first = [settledItem('pay_1')];
  const settled = { items: first, fees: -10n, net: 1240n };

  it('saying the same is a copy: nothing to tell', () => {
    expect(batchReissue(settled, report(first))).toBeUndefined();
  });

  it('listing more items: what it adds, with both totals', () => {
    expect(batchReissue(settled, report([...first, settledItem('pay_2', 500n)]))).toEqual({
      added: ['PAYMENT:pay_2'], changed: [], dropped: [],
      settled: { count: 1, fees: -10n, net: 1240n }, reissued: { count: 2, fees: -20n, net: 1730n },
    });
  });

  it('changing or dropping an item it settled', () => {
    expect(batchReissue(settled, report([settledItem('pay_1', 1250n, -12n)]))).toMatchObject({ added: [], changed: ['PAYMENT:pay_1'], dropped: [] });
    expect(batchReissue({ items: [...first, settledItem('pay_2')], fees: -20n, net: 2480n }, report(first))).toMatchObject({ added: [], changed: [], dropped: ['PAYMENT:pay_2'] });
  });
});
