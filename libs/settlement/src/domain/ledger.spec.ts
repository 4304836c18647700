import { adjustmentPostings, assertBalanced, balances, cancelPostings, paymentPostings, Posting, refundPostings, settlementPostings, UnbalancedTransaction } from './ledger';

const fact = { merchantId: 'mer_1', currency: 'HKD', amount: 1250n, fee: 10n };
const sum = (postings: Posting[][]) => balances(postings.flat());

describe('posting rules', () => {
  it('books a payment gross to the merchant and its fee out of the receivable, balanced', () => {
    const postings = paymentPostings(fact);
    expect(() => assertBalanced(postings)).not.toThrow();
    expect(Object.fromEntries(balances(postings))).toEqual({
      'ALIPAY_RECEIVABLE:mer_1:HKD': 1240n,
      'MERCHANT_PAYABLE:mer_1:HKD': -1250n,
      'FEES:mer_1:HKD': 10n,
    });
  });

  it('lets a cancel reverse a payment completely, fee included', () => {
    const all = sum([paymentPostings(fact), cancelPostings(fact)]);
    expect([...all.values()].every((v) => v === 0n)).toBe(true);
  });

  it('charges a refund its own fee', () => {
    const all = sum([paymentPostings(fact), refundPostings({ ...fact, amount: 500n })]);
    expect(all.get('MERCHANT_PAYABLE:mer_1:HKD')).toBe(-750n);
    expect(all.get('FEES:mer_1:HKD')).toBe(20n);
    expect(all.get('ALIPAY_RECEIVABLE:mer_1:HKD')).toBe(730n);
  });

  it('empties the receivable when the batch pays out what the day earned', () => {
    const day = [paymentPostings(fact), refundPostings({ ...fact, amount: 500n })];
    const payout = settlementPostings('mer_1', [{ transactionCurrency: 'HKD', transactionNet: 730n, settlementCurrency: 'HKD', settlementNet: 730n }]);
    const all = sum([...day, payout]);
    expect(all.get('ALIPAY_RECEIVABLE:mer_1:HKD')).toBe(0n);
    expect(all.get('SETTLED_FUNDS:mer_1:HKD')).toBe(730n);
    expect(all.get('SETTLED_FUNDS:mer_1:HKD')! + all.get('FEES:mer_1:HKD')!).toBe(-all.get('MERCHANT_PAYABLE:mer_1:HKD')!);
  });

  it('books a negative batch (refunds above payments) as money going back to Alipay', () => {
    const payout = settlementPostings('mer_1', [{ transactionCurrency: 'JPY', transactionNet: -510n, settlementCurrency: 'JPY', settlementNet: -510n }]);
    expect(payout).toEqual([
      { accountType: 'ALIPAY_RECEIVABLE', merchantId: 'mer_1', currency: 'JPY', direction: 'DEBIT', amount: 510n },
      { accountType: 'SETTLED_FUNDS', merchantId: 'mer_1', currency: 'JPY', direction: 'CREDIT', amount: 510n },
    ]);
  });

  it('keeps each currency balanced through the FX account when Alipay settles in another currency', () => {
    const payout = settlementPostings('mer_1', [{ transactionCurrency: 'HKD', transactionNet: 1240n, settlementCurrency: 'USD', settlementNet: 158n }]);
    expect(() => assertBalanced(payout)).not.toThrow();
    const all = balances(payout);
    expect(all.get('FX_DIFFERENCE:mer_1:HKD')).toBe(1240n);
    expect(all.get('FX_DIFFERENCE:mer_1:USD')).toBe(-158n);
    expect(all.get('SETTLED_FUNDS:mer_1:USD')).toBe(158n);
  });

  it('refuses an unbalanced transaction, a zero posting and a lone posting', () => {
    const [debit, credit] = paymentPostings(fact);
    expect(() => assertBalanced([debit, { ...credit, amount: 1249n }])).toThrow(UnbalancedTransaction);
    expect(() => assertBalanced([debit, { ...credit, currency: 'USD' }])).toThrow(/HKD: debits 1250 ≠ credits 0/);
    expect(() => assertBalanced([{ ...debit, amount: 0n }, { ...credit, amount: 0n }])).toThrow(/positive/);
    expect(() => assertBalanced([debit])).toThrow(/two postings/);
  });

  it('writes nothing for a zero fee', () => {
    expect(paymentPostings({ ...fact, fee: 0n })).toHaveLength(2);
  });
});

describe('adjustments', () => {
  const postingsOf = { PAYMENT: paymentPostings, REFUND: refundPostings, CANCEL: cancelPostings };
  it.each([
    ['a payment Alipay charged a higher fee on', 'PAYMENT', { amount: 1250n, fee: 20n }],
    ['a payment Alipay settled for less', 'PAYMENT', { amount: 1200n, fee: 10n }],
    ['a refund with a lower fee and a larger amount', 'REFUND', { amount: 600n, fee: 5n }],
    ['a cancel that gave back less fee', 'CANCEL', { amount: 1250n, fee: 4n }],
  ] as const)('turns the expected postings into the settled ones: %s', (_, kind, settled) => {
    const expected = { ...fact, amount: kind === 'REFUND' ? 500n : fact.amount };
    const adjustment = adjustmentPostings(kind, { ...fact, amount: settled.amount - expected.amount, fee: settled.fee - expected.fee });
    expect(() => assertBalanced(adjustment)).not.toThrow();
    const corrected = sum([postingsOf[kind](expected), adjustment]);
    const wanted = balances(postingsOf[kind]({ ...fact, ...settled }));
    for (const code of new Set([...corrected.keys(), ...wanted.keys()])) expect([code, corrected.get(code) ?? 0n]).toEqual([code, wanted.get(code) ?? 0n]);
  });

  it('books a higher fee as fee expense out of the receivable, nothing else', () => {
    expect(adjustmentPostings('PAYMENT', { ...fact, amount: 0n, fee: 10n })).toEqual([
      { accountType: 'FEES', merchantId: 'mer_1', currency: 'HKD', direction: 'DEBIT', amount: 10n },
      { accountType: 'ALIPAY_RECEIVABLE', merchantId: 'mer_1', currency: 'HKD', direction: 'CREDIT', amount: 10n },
    ]);
  });
});
