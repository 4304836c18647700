import { businessDayOf } from '@upm/settlement';
import { PaymentResource, PosClient } from './support/pos-client';
import { balanceOf, settlementSuite, Txn } from './support/settlement';

/**
 * Alipay's fee as an acquiring contract prices it, end to end: the sandbox charges 2.2 % of each payment's and
 * refund's gross plus a fixed part per currency (1.00 HKD, 1 JPY), and gives a cancelled payment's back. With
 * settlement's schedule the same, the day reconciles to the minor unit in both exponents; with its rate one basis
 * point off, every transaction's fee disagrees. Grosses are of 10 000 minor units or more, so that one basis point
 * moves every fee by a minor unit at least, and the 2.2 % of each ends in exactly half a minor unit, so that both
 * sides must round it half up.
 */
jest.setTimeout(240_000);

const FIXED = 'HKD:100,JPY:1';
const SANDBOX_FEES = { SANDBOX_FEE_RATE_BPS: '220', SANDBOX_FEE_MINOR: FIXED };

interface Discrepancy {
  type: string;
  kind: string;
  fields: string[];
  paymentId: string | null;
  status: string;
  expected: Record<string, string> | null;
  actual: Record<string, string> | null;
}

type Suite = ReturnType<typeof settlementSuite>;

const CURRENCIES = ['HKD', 'JPY'] as const;
// 2.2 % of 12 750 is 280.5, of 10 250 225.5, of 20 250 445.5: each rounds half up
const PAID = '12750';
const REFUNDED = '10250';
const VOIDED = '20250';

/**
 * In each currency, a payment partly refunded and a payment cancelled (Alipay reverses it in full), through the
 * POS API; then the sandbox's report files of the day go to settlement. Answers the payments by `<CCY> <tag>`.
 */
async function tradeAndIngest(suite: Suite, merchant: string): Promise<{ pos: PosClient; paid: Record<string, PaymentResource> }> {
  const pos = await suite.running.platform.onboard(merchant);
  const paid: Record<string, PaymentResource> = {};
  for (const currency of CURRENCIES) {
    for (const [tag, value, suffix] of [['refunded', PAID, '06'], ['voided', VOIDED, '07']] as const) {
      const { body } = await pos.pay({ merchantOrderId: PosClient.orderId(`${currency}${tag}`), amount: { currency, value }, paymentCode: PosClient.code(suffix), waitSeconds: 20 });
      expect(body.status).toBe('SUCCEEDED');
      paid[`${currency} ${tag}`] = body;
    }
    const refund = await pos.refund(paid[`${currency} refunded`].paymentId, { refundRequestId: PosClient.orderId(`r${currency}`), amount: { currency, value: REFUNDED }, waitSeconds: 20 });
    expect(refund.body.status).toBe('SUCCEEDED');
    expect((await pos.cancel(paid[`${currency} voided`].paymentId, 20)).body.status).toBe('CANCELLED');
  }
  await suite.caughtUp(pos, Object.values(paid));

  const days = [...new Set(Object.values(paid).map((p) => businessDayOf(p.alipay!.paymentTime!)))];
  for (const day of days) for (const file of await suite.sandboxReports(day)) await suite.deliver(file.path);
  const ingested = await suite.ingest();
  expect(ingested.filter((f) => f.status !== 'INGESTED')).toEqual([]);
  return { pos, paid };
}

/** A transaction of the ledger (or a discrepancy) named as the test names it: `<CCY> <tag> <kind>`. */
function nameOf(paid: Record<string, PaymentResource>, paymentId: string | null, kind: string): string {
  const [name] = Object.entries(paid).find(([, p]) => p.paymentId === paymentId) ?? ['?'];
  return `${name} ${kind}`;
}

describe('with settlement expecting the fee the sandbox charges', () => {
  const suite = settlementSuite('settle_fees', 3520, SANDBOX_FEES, { SETTLEMENT_FEE_RATE_BPS: '220', SETTLEMENT_FEE_MINOR: FIXED });

  it('shows finance the schedule it books with, as configured, read-only', async () => {
    const shown = await suite.api<{ feeRateBps: number; feeMinor: string; feeMinorByCurrency: Record<string, string>; fixedByCurrency: Array<{ currency: string; value: string }> }>('GET', '/v1/settlement/fee-schedule');
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ feeRateBps: 220, feeMinor: '0', feeMinorByCurrency: { HKD: '100', JPY: '1' } });
    expect(shown.body.fixedByCurrency.filter((m) => m.value !== '0')).toEqual([{ currency: 'HKD', value: '100' }, { currency: 'JPY', value: '1' }]);
    expect((await suite.api('POST', '/v1/settlement/fee-schedule', { feeRateBps: 0 })).status).toBe(404);
  });

  it('reconciles payments, a partial refund and a cancel in HKD and JPY with no discrepancy, and the ledger balances', async () => {
    const { pos, paid } = await tradeAndIngest(suite, 'Fee Tea');

    // 281 + 100 cents; 226 + 100; 446 + 100, given back by the cancel; in yen 281 + 1, 226 + 1, 446 + 1
    const moves = (await suite.transactions()).filter((t: Txn) => t.kind !== 'SETTLEMENT');
    expect(moves.map((t) => `${nameOf(paid, t.paymentId, t.kind)} ${t.status} ${t.reconciliation} ${t.fee?.value} ${t.fee?.currency}`).sort()).toEqual([
      'HKD refunded PAYMENT POSTED MATCHED 381 HKD',
      'HKD refunded REFUND POSTED MATCHED 326 HKD',
      'HKD voided CANCEL POSTED MATCHED 546 HKD',
      'HKD voided PAYMENT POSTED MATCHED 546 HKD',
      'JPY refunded PAYMENT POSTED MATCHED 282 JPY',
      'JPY refunded REFUND POSTED MATCHED 227 JPY',
      'JPY voided CANCEL POSTED MATCHED 447 JPY',
      'JPY voided PAYMENT POSTED MATCHED 447 JPY',
    ]);
    expect((await suite.api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);

    // Alipay's batches, as its files give them: 127.50 − 102.50 HKD gross less 3.81 + 3.26 fees; likewise in yen
    const batches = (await suite.api<{ batches: Array<{ currency: string; status: string; gross: { value: string }; fees: { value: string }; net: { value: string } }> }>('GET', '/v1/settlement/batches')).body.batches;
    expect(batches.map((b) => [b.currency, b.status, b.gross.value, b.fees.value, b.net.value]).sort()).toEqual([
      ['HKD', 'RECONCILED', '2500', '-707', '1793'],
      ['JPY', 'RECONCILED', '2500', '-509', '1991'],
    ]);

    const m = pos.ids.merchantId;
    const ledger = await suite.balances(`?merchantId=${m}`);
    expect(ledger.totals.map((t) => [t.currency, t.balanced]).sort()).toEqual([['HKD', true], ['JPY', true]]);
    expect(CURRENCIES.map((ccy) => ({
      ccy,
      payable: balanceOf(ledger, `MERCHANT_PAYABLE:${m}:${ccy}`),
      fees: balanceOf(ledger, `FEES:${m}:${ccy}`),
      settled: balanceOf(ledger, `SETTLED_FUNDS:${m}:${ccy}`),
      receivable: balanceOf(ledger, `ALIPAY_RECEIVABLE:${m}:${ccy}`),
    }))).toEqual([
      { ccy: 'HKD', payable: -2500n, fees: 707n, settled: 1793n, receivable: 0n },
      { ccy: 'JPY', payable: -2500n, fees: 509n, settled: 1991n, receivable: 0n },
    ]);
  });
});

describe('with settlement’s rate one basis point off the sandbox’s', () => {
  const suite = settlementSuite('settle_fees_off', 3620, SANDBOX_FEES, { SETTLEMENT_FEE_RATE_BPS: '221', SETTLEMENT_FEE_MINOR: FIXED });

  it('finds the fee of every transaction differing, and nothing else', async () => {
    const { paid } = await tradeAndIngest(suite, 'Off Tea');

    // 2.21 %: 281.775 → 282 + 100 cents where Alipay charged 281 + 100; 226.525 → 227; 447.525 → 448 (twice)
    const open = (await suite.api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies?status=OPEN')).body.discrepancies;
    expect(open.map((d) => `${nameOf(paid, d.paymentId, d.kind)} ${d.type} ${d.fields.join('+')} expected ${d.expected?.fee} actual ${d.actual?.fee}`).sort()).toEqual([
      'HKD refunded PAYMENT MISMATCHED fee expected -3.82 actual -3.81',
      'HKD refunded REFUND MISMATCHED fee expected -3.27 actual -3.26',
      'HKD voided CANCEL MISMATCHED fee expected 5.48 actual 5.46',
      'HKD voided PAYMENT MISMATCHED fee expected -5.48 actual -5.46',
      'JPY refunded PAYMENT MISMATCHED fee expected -283 actual -282',
      'JPY refunded REFUND MISMATCHED fee expected -228 actual -227',
      'JPY voided CANCEL MISMATCHED fee expected 449 actual 447',
      'JPY voided PAYMENT MISMATCHED fee expected -449 actual -447',
    ]);
    const moves = (await suite.transactions()).filter((t: Txn) => t.kind !== 'SETTLEMENT');
    expect(moves.map((t) => `${t.status} ${t.reconciliation}`)).toEqual(Array(8).fill('EXPECTED MISMATCHED'));
    const batches = (await suite.api<{ batches: Array<{ currency: string; status: string }> }>('GET', '/v1/settlement/batches')).body.batches;
    expect(batches.map((b) => `${b.currency} ${b.status}`).sort()).toEqual(['HKD DISCREPANCIES', 'JPY DISCREPANCIES']);
    // every posting still balances: what disagrees waits in the receivable for finance
    expect((await suite.balances()).totals.every((t) => t.balanced)).toBe(true);
  });
});
