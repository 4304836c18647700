import { discrepancyDetectedV1 } from '@upm/contracts';
import {
  BatchIncomplete, boundedName, businessDayOf, MAX_FIELD_LENGTH, parseReportFileName, parseSettlementBatch, parseTransactionItems, ReportRejected, shiftDay, summaryLineRequestId, summaryLinesByType,
} from './report-files';

const TX_HEADER = 'customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,orderDescription,paymentMethodType,pspName,paymentTime,productCode,transactionAmountValue,transactionCurrency';
const tx = (type: string, id: string, request: string, original: string, amount: string, currency: string) =>
  `C1,Alipay_SG,,mer_1,sto_1,${type},${id},${original ? 'A-' + original : ''},${request},${original},ORD-1,"2 x coffee, large",CONNECT_WALLET,ALIPAYCN,2026-11-27T12:06:02+08:00,IN_STORE_PAYMENT,${amount},${currency}`;

const ITEM_HEADER = 'settlementBatchId,customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,paymentMethodType,pspName,paymentTime,settlementTime,productCode,transactionAmountValue,transactionCurrency,settlementAmountValue,settlementCurrency,quoteCurrencyPair,quotePrice,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';
const item = (type: string, request: string, original: string, amount: string, settled: string, fee: string, currency = 'HKD', batch = '20261127HKD001') =>
  `${batch},C1,Alipay_SG,,mer_1,sto_1,${type},A-${request},${original ? 'A-' + original : ''},${request},${original},ORD,CONNECT_WALLET,ALIPAYCN,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,${amount},${currency},${settled},${currency},,,${fee},${currency},0.00,${currency}`;
const SUMMARY_HEADER = 'settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';
const summary = (type: string, count: number, settled: string, fee: string, currency = 'HKD', batch = '20261127HKD001') =>
  `${batch},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,${count},${settled},${currency},${fee},${currency},0.00,${currency}`;
const file = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('report file names', () => {
  it.each([
    ['transactionItems_20261127_000.csv', { kind: 'transactionItems', day: '2026-11-27', seq: '000' }],
    ['settlementItems_HKD_20261127HKD001_000.csv', { kind: 'settlementItems', currency: 'HKD', batchId: '20261127HKD001', seq: '000' }],
    ['settlementSummary_JPY_20261127JPY001_001.csv', { kind: 'settlementSummary', currency: 'JPY', batchId: '20261127JPY001', seq: '001' }],
    ['settlementSummary_ALIPAYHK_USD_2021123400_000.csv', { kind: 'settlementSummary', currency: 'USD', batchId: '2021123400', seq: '000' }],
    ['settlementSummary_ALIPAY_HK_USD_2021123400_000.csv', { kind: 'settlementSummary', currency: 'USD', batchId: '2021123400', seq: '000' }],
  ])('reads %s', (name, meta) => expect(parseReportFileName(name)).toEqual(meta));

  it('ignores anything else', () => {
    expect(parseReportFileName('notes.txt')).toBeUndefined();
    expect(parseReportFileName('transactionItems_2026112_000.csv')).toBeUndefined();
    // a day the calendar lacks is no report day: the file could not be recorded, and would fail at every look
    expect(parseReportFileName('transactionItems_20260230_000.csv')).toBeUndefined();
    expect(parseReportFileName('transactionItems_20261301_000.csv')).toBeUndefined();
  });
});

describe('transaction items', () => {
  it('reads signed major units exactly, for a currency with two decimals and one with none', () => {
    const { rows } = parseTransactionItems(file(TX_HEADER, tx('PAYMENT', 'A-pay_1', 'pay_1', '', '12.50', 'HKD'), tx('REFUND', 'A-ref_1', 'ref_1', 'pay_1', '-5.00', 'HKD'), tx('PAYMENT', 'A-pay_2', 'pay_2', '', '1000', 'JPY'), tx('CANCEL', 'A-pay_2', 'pay_2', 'pay_2', '-1000', 'JPY'), '<END>'));
    expect(rows.map((r) => [r.type, r.transactionRequestId, r.amount, r.currency])).toEqual([
      ['PAYMENT', 'pay_1', 1250n, 'HKD'],
      ['REFUND', 'ref_1', -500n, 'HKD'],
      ['PAYMENT', 'pay_2', 1000n, 'JPY'],
      ['CANCEL', 'pay_2', -1000n, 'JPY'],
    ]);
    expect(rows[0]).toMatchObject({ line: 2, transactionId: 'A-pay_1', referenceMerchantId: 'mer_1' });
  });

  it.each(['2026-11-27T12:06:02Z', '2026-11-27T04:06:02.123Z', '2026-11-27T12:06:02+08:00', '2026-11-26T23:06:02-05:00'])('reads a paymentTime of %s', (time) => {
    const { rows: [row] } = parseTransactionItems(file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'HKD').replace('2026-11-27T12:06:02+08:00', time), '<END>'));
    expect(row.paymentTime).toBe(time);
  });

  it('reads the largest amount of 16 minor-unit digits', () => {
    const { rows } = parseTransactionItems(file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '99999999999999.99', 'HKD'), tx('REFUND', 'B', 'ref_1', 'pay_1', '-99999999999999.99', 'HKD'), '<END>'));
    expect(rows.map((r) => r.amount)).toEqual([9_999_999_999_999_999n, -9_999_999_999_999_999n]);
  });

  it('accepts an empty day', () => {
    expect(parseTransactionItems(file(TX_HEADER, '<END>'))).toEqual({ rows: [], unsupported: [] });
  });

  it('keeps a row of a type settlement does not book apart, with its fields, and reads the others', () => {
    const text = file(TX_HEADER, tx('PAYMENT', 'A-pay_1', 'pay_1', '', '12.50', 'HKD'), tx('REFUND_REVERSAL', 'A-rr_1', 'ref_1', 'pay_1', '5.00', 'HKD'), '<END>');
    const { rows, unsupported } = parseTransactionItems(text);
    expect(rows.map((r) => r.transactionRequestId)).toEqual(['pay_1']);
    expect(unsupported).toEqual([{
      line: 3, type: 'REFUND_REVERSAL', id: 'A-rr_1', paymentId: 'pay_1', merchantId: 'mer_1',
      fields: expect.objectContaining({ transactionType: 'REFUND_REVERSAL', transactionId: 'A-rr_1', transactionRequestId: 'ref_1', originalTransactionRequestId: 'pay_1', transactionAmountValue: '5.00' }),
    }]);
    expect(unsupported[0].fields).not.toHaveProperty('acquirerReferenceNo');
  });

  // an over-long transactionId named the discrepancy as it was, and its event was refused: the file failed at every look
  it('keeps the ids of such a row within an event id, and its fields within bounds, the same at every reading', () => {
    const longId = `A-${'7'.repeat(200)}`;
    const text = file(TX_HEADER, tx('REFUND_REVERSAL', longId, 'ref_1', `pay_${'1'.repeat(70)}`, '5.00', 'HKD'), tx('REFUND_REVERSAL', `${longId}8`, 'ref_2', 'pay_2', '5.00', 'HKD'), '<END>');
    const [one, other] = parseTransactionItems(text).unsupported;
    expect(one.id).toHaveLength(64);
    expect(one.id).toMatch(/^A-7+~[0-9a-f]{16}$/);
    expect(parseTransactionItems(text).unsupported[0].id).toBe(one.id);
    expect(other.id).not.toBe(one.id);
    // a payment id too long to be one of ours names no payment; the row still says it
    expect(one).toMatchObject({ paymentId: null, merchantId: 'mer_1', fields: { originalTransactionRequestId: `pay_${'1'.repeat(70)}` } });
    expect(other.paymentId).toBe('pay_2');
    expect(one.fields.transactionId).toBe(longId);
    expect(parseTransactionItems(file(TX_HEADER, tx('REFUND_REVERSAL', 'A'.repeat(MAX_FIELD_LENGTH + 1), 'ref_1', 'pay_1', '5.00', 'HKD'), '<END>')).unsupported[0].fields.transactionId)
      .toMatch(new RegExp(`^A{${MAX_FIELD_LENGTH - 17}}~[0-9a-f]{16}$`));
  });

  it('shortens a name without splitting a character of two UTF-16 units', () => {
    const name = `${'a'.repeat(46)}😀${'b'.repeat(40)}`;
    expect(boundedName(name, 64)).toMatch(/^a{46}~[0-9a-f]{16}$/);
    expect(boundedName('short', 64)).toBe('short');
  });

  it.each<[string, string, RegExp]>([
    ['no trailer', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'HKD')), /no <END> trailer/],
    ['an empty file', '', /empty file/],
    ['a short row', file(TX_HEADER, 'C1,Alipay_SG', '<END>'), /line 2: 2 fields, the header has 18/],
    ['a missing column', file('customerId,transactionType', '<END>'), /missing columns: transactionId/],
    ['more decimals than the currency has', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '10.5', 'JPY'), '<END>'), /line 2: transactionAmountValue JPY takes 0 decimals/],
    ['an amount that is not a number', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12,50', 'HKD'), '<END>'), /line 2/],
    ['an unknown currency', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'XXX'), '<END>'), /unsupported currency "XXX"/],
    // Amount.value is String(16) (spec §3.1), and a ledger amount a PostgreSQL bigint: more could never be stored
    ['an amount of more than 16 minor-unit digits', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '100000000000000000.00', 'HKD'), '<END>'), /line 2: transactionAmountValue "100000000000000000.00" HKD is more than 16 digits in minor units/],
    ['a refund of more than 16 minor-unit digits', file(TX_HEADER, tx('REFUND', 'A', 'ref_1', 'pay_1', '-100000000000000.00', 'HKD'), '<END>'), /line 2: transactionAmountValue "-100000000000000.00" HKD is more than 16 digits/],
    ['an amount of 17 digits in a currency without decimals', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '10000000000000000', 'JPY'), '<END>'), /more than 16 digits in minor units/],
    // three decimals, not read with a guessed exponent: with two, 1.250 KWD would be 125 minor units instead of 1250
    ['a currency of three decimals the platform does not take', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '1.250', 'KWD'), '<END>'), /line 2: unsupported currency "KWD"/],
    ['a row without a type', file(TX_HEADER, tx('', 'A', 'pay_1', '', '12.50', 'HKD'), '<END>'), /line 2: transactionType is empty/],
    // a line is the file's, as an editor shows it: a description's quoted line break and a blank line count
    [
      'a row after a description on two lines and a blank line',
      file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'HKD').replace('"2 x coffee, large"', '"2 x coffee,\nlarge"'), '', tx('', 'B', 'pay_2', '', '12.50', 'HKD'), '<END>'),
      /line 5: transactionType is empty/,
    ],
    ['a positive refund', file(TX_HEADER, tx('REFUND', 'A', 'ref_1', 'pay_1', '5.00', 'HKD'), '<END>'), /a REFUND amount is negative/],
    ['a refund without its payment', file(TX_HEADER, tx('REFUND', 'A', 'ref_1', '', '-5.00', 'HKD'), '<END>'), /names its original payment/],
    ['the same transaction twice', file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'HKD'), tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'HKD'), '<END>'), /line 3: PAYMENT pay_1 appears twice/],
    // a transaction's business day is read from its time: one that is no ISO-8601 time with an offset would be
    // booked on a day of 2001, on one the calendar lacks, or on one that depends on the server's time zone
    ...['12', '2026-11-27 12:06:02', '2026-11-27T12:06:02', '2026-02-30T12:06:02+08:00', '2026-11-27'].map((time) => [
      `a paymentTime of "${time}"`, file(TX_HEADER, tx('PAYMENT', 'A', 'pay_1', '', '12.50', 'HKD').replace('2026-11-27T12:06:02+08:00', time), '<END>'), /line 2: paymentTime .* is not a time/,
    ] as [string, string, RegExp]),
  ])('rejects %s', (_what, text, reason) => {
    expect(() => parseTransactionItems(text)).toThrow(ReportRejected);
    expect(() => parseTransactionItems(text)).toThrow(reason);
  });
});

describe('settlement batches', () => {
  const items = file(ITEM_HEADER, item('PAYMENT', 'pay_1', '', '12.50', '12.40', '-0.10'), item('REFUND', 'ref_1', 'pay_1', '-5.00', '-5.10', '-0.10'), item('PAYMENT', 'pay_2', '', '3.00', '2.90', '-0.10'), item('CANCEL', 'pay_2', 'pay_2', '-3.00', '-2.90', '0.10'), '<END>');
  const good = file(SUMMARY_HEADER, summary('PAYMENT', 2, '15.30', '-0.20'), summary('REFUND', 1, '-5.10', '-0.10'), summary('CANCEL', 1, '-2.90', '0.10'), summary('TOTAL', 4, '7.30', '-0.20'), '<END>');
  const expected = { batchId: '20261127HKD001', currency: 'HKD' };

  it('reads items and totals, gross = net − fees', () => {
    const batch = parseSettlementBatch([items], good, expected);
    expect(batch).toMatchObject({ batchId: '20261127HKD001', customerId: 'C1', currency: 'HKD', net: 730n, fees: -20n, gross: 750n, fx: null, settlementTime: '2026-11-28T00:00:00+08:00' });
    expect(batch.items.map((i) => [i.type, i.amount, i.fee, i.settlementAmount])).toEqual([
      ['PAYMENT', 1250n, -10n, 1240n],
      ['REFUND', -500n, -10n, -510n],
      ['PAYMENT', 300n, -10n, 290n],
      ['CANCEL', -300n, 10n, -290n],
    ]);
  });

  it('reads a batch of a currency without decimals', () => {
    const jpy = (t: string) => t.replace(/HKD/g, 'JPY');
    const batch = parseSettlementBatch(
      [file(jpy(ITEM_HEADER), jpy(item('PAYMENT', 'pay_9', '', '1000', '990', '-10', 'JPY', '20261127JPY001')), '<END>')],
      file(SUMMARY_HEADER, summary('PAYMENT', 1, '990', '-10', 'JPY', '20261127JPY001'), summary('TOTAL', 1, '990', '-10', 'JPY', '20261127JPY001'), '<END>'),
      { batchId: '20261127JPY001', currency: 'JPY' },
    );
    expect(batch).toMatchObject({ net: 990n, fees: -10n, gross: 1000n });
  });

  it.each([
    ['items that do not sum to the TOTAL', items, good.replace('TOTAL,2026-11-28T00:00:00+08:00,4,7.30', 'TOTAL,2026-11-28T00:00:00+08:00,4,7.40'), /TOTAL: the settlement items sum to 730 minor units, the summary says 740/],
    ['fees that do not sum to the TOTAL', items, good.replace('4,7.30,HKD,-0.20', '4,7.30,HKD,-0.30'), /TOTAL: the items' fees sum to -20/],
    ['a type line that counts differently', items, good.replace('REFUND,2026-11-28T00:00:00+08:00,1,', 'REFUND,2026-11-28T00:00:00+08:00,2,'), /REFUND: the summary counts 2 items, the items files hold 1/],
    ['a type line that differs', items, good.replace('REFUND,2026-11-28T00:00:00+08:00,1,-5.10', 'REFUND,2026-11-28T00:00:00+08:00,1,-5.20'), /REFUND: the settlement items sum to -510/],
    ['no TOTAL', items, file(SUMMARY_HEADER, '<END>'), /0 TOTAL lines/],
    ['a count in exponent notation', items, good.replace('REFUND,2026-11-28T00:00:00+08:00,1,', 'REFUND,2026-11-28T00:00:00+08:00,1e0,'), /count "1e0" is not a count/],
    ['a count with decimals', items, good.replace('REFUND,2026-11-28T00:00:00+08:00,1,', 'REFUND,2026-11-28T00:00:00+08:00,1.0,'), /count "1.0" is not a count/],
    ['an item whose settlement is not amount + fee', items.replace('12.50,HKD,12.40', '12.50,HKD,12.45'), good, /settlementAmountValue 12.45 ≠ transactionAmountValue 12.50 \+ feeAmountValue -0.10/],
    ['an item of another batch', items.replace('20261127HKD001,C1,Alipay_SG,,mer_1,sto_1,REFUND', '20261127HKD002,C1,Alipay_SG,,mer_1,sto_1,REFUND'), good, /line 3: settlementBatchId 20261127HKD002 in the file of batch 20261127HKD001/],
    ['items without a trailer', items.replace('<END>\n', ''), good, /no <END> trailer/],
    ['a summary without a trailer', items, good.replace('<END>\n', ''), /no <END> trailer/],
    ['a summary fee in another currency', items, good.replace('4,7.30,HKD,-0.20,HKD', '4,7.30,HKD,-0.20,USD'), /summary line \d: fee in USD, settlement in HKD/],
    // the payout is booked on the settlement time's business day: one that is no time cannot be booked at all
    ['a summary settlement time that is no time', items, good.replace('TOTAL,2026-11-28T00:00:00+08:00', 'TOTAL,28/11/2026'), /summary line 5: settlementTime "28\/11\/2026" is not a time/],
    ['an item settlement time that is no time', items.replace('2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00', '2026-11-27T12:06:02+08:00,soon'), good, /line 2: settlementTime "soon" is not a time/],
    [
      'the same transaction twice',
      items.replace('<END>', item('PAYMENT', 'pay_1', '', '12.50', '12.40', '-0.10') + '\n<END>'),
      good.replace('PAYMENT,2026-11-28T00:00:00+08:00,2,15.30', 'PAYMENT,2026-11-28T00:00:00+08:00,3,27.70').replace('TOTAL,2026-11-28T00:00:00+08:00,4,7.30,HKD,-0.20', 'TOTAL,2026-11-28T00:00:00+08:00,5,19.70,HKD,-0.30'),
      /line 6: PAYMENT pay_1 appears twice/,
    ],
  ])('rejects %s', (_what, itemsText, summaryText, reason) => {
    expect(() => parseSettlementBatch([itemsText], summaryText, expected)).toThrow(reason);
  });

  it('reads a batch split over several items files as one, each whole, and names the file a rejection is about', () => {
    const lines = items.trimEnd().split('\n');
    const [header, rows] = [lines[0], lines.slice(1, -1)];
    const parts = [file(header, rows[0], rows[1], '<END>'), file(header, rows[2], rows[3], '<END>')];
    const batch = parseSettlementBatch(parts, good, expected);
    expect(batch.items.map((i) => [i.part, i.line, i.type])).toEqual([[0, 2, 'PAYMENT'], [0, 3, 'REFUND'], [1, 2, 'PAYMENT'], [1, 3, 'CANCEL']]);
    expect(batch.net).toBe(730n);
    expect(() => parseSettlementBatch([parts[0], parts[1].replace('<END>\n', '')], good, expected)).toThrow(/items file 2 of 2: no <END> trailer/);
  });

  it('checks a TOTAL that counts lines of a type no item has (a settlement fee) with them, and keeps them apart', () => {
    const withFee = good.replace(summary('TOTAL', 4, '7.30', '-0.20'), `${summary('SETTLEMENT_FEE', 1, '-1.00', '-1.00')}\n${summary('TOTAL', 5, '6.30', '-1.20')}`);
    const batch = parseSettlementBatch([items], withFee, expected);
    expect(batch).toMatchObject({ net: 630n, fees: -120n, gross: 750n });
    expect(batch.items).toHaveLength(4);
    expect(batch.otherLines).toEqual([expect.objectContaining({ summaryType: 'SETTLEMENT_FEE', count: 1, settlementAmount: -100n, fee: -100n })]);
    expect(() => parseSettlementBatch([items], withFee.replace('5,6.30,HKD', '5,7.30,HKD'), expected))
      .toThrow(/TOTAL: the settlement items and its SETTLEMENT_FEE lines sum to 630 minor units, the summary says 730/);
  });

  it('keeps an item of a type settlement does not book apart, checked with the TOTAL and its own type\'s line', () => {
    const reversal = item('REFUND_REVERSAL', 'ref_1', 'pay_1', '5.00', '5.00', '0.00');
    const withReversal = items.replace('<END>', `${reversal}\n<END>`);
    const summaryText = good.replace(summary('TOTAL', 4, '7.30', '-0.20'), `${summary('REFUND_REVERSAL', 1, '5.00', '0.00')}\n${summary('TOTAL', 5, '12.30', '-0.20')}`);
    const batch = parseSettlementBatch([withReversal], summaryText, expected);
    expect(batch.items).toHaveLength(4);
    expect(batch.otherLines).toEqual([]);
    expect(batch.unsupportedItems).toEqual([expect.objectContaining({ type: 'REFUND_REVERSAL', id: 'A-ref_1', line: 6, part: 0, settlementAmount: 500n, fee: 0n })]);
    expect(batch.net).toBe(1230n);
    expect(() => parseSettlementBatch([withReversal], summaryText.replace('REFUND_REVERSAL,2026-11-28T00:00:00+08:00,1,5.00', 'REFUND_REVERSAL,2026-11-28T00:00:00+08:00,1,6.00'), expected))
      .toThrow(/REFUND_REVERSAL: the settlement items sum to 500 minor units, the summary says 600/);
    expect(() => parseSettlementBatch([withReversal], good, expected)).toThrow(/TOTAL: the summary counts 4 items, the items files and its items of other types hold 5/);
  });

  // a batch the ledger cannot store failed at every look instead of being rejected once with its reason
  it('rejects a batch with an amount beyond 16 minor-unit digits, in an item or in the summary', () => {
    const huge = '100000000000000000.00';
    const hugeItems = file(ITEM_HEADER, item('PAYMENT', 'pay_1', '', huge, huge, '0.00'), '<END>');
    const hugeSummary = file(SUMMARY_HEADER, summary('TOTAL', 1, huge, '0.00'), '<END>');
    expect(() => parseSettlementBatch([hugeItems], hugeSummary, expected)).toThrow(/line 2: transactionAmountValue "100000000000000000.00" HKD is more than 16 digits in minor units/);
    expect(() => parseSettlementBatch([items], good.replace('TOTAL,2026-11-28T00:00:00+08:00,4,7.30,HKD,-0.20', `TOTAL,2026-11-28T00:00:00+08:00,4,7.30,HKD,-${huge}`), expected))
      .toThrow(/line 5: feeAmountValue "-100000000000000000.00" HKD is more than 16 digits in minor units/);
  });

  // each amount fits, but the ledger sums a batch's items per merchant: only sums within a bigint can be kept
  it('rejects a batch whose amounts, taken without their signs, add up beyond a 64-bit integer', () => {
    const max = '99999999999999.99';
    const n = 462; // 2 × 462 × (10^16 − 1) > 2^63 − 1 > 2 × 461 × (10^16 − 1)
    const rows = Array.from({ length: n }, (_, i) => [item('PAYMENT', `pay_${i}`, '', max, max, '0.00'), item('CANCEL', `pay_${i}`, `pay_${i}`, `-${max}`, `-${max}`, '0.00')]).flat();
    const text = file(SUMMARY_HEADER, summary('TOTAL', 2 * n, '0.00', '0.00'), '<END>');
    expect(() => parseSettlementBatch([file(ITEM_HEADER, ...rows, '<END>')], text, expected)).toThrow(/the batch's settlement amounts add up, without their signs, to 9239999999999999076 minor units/);
    const fewer = rows.slice(0, 2 * (n - 1));
    expect(parseSettlementBatch([file(ITEM_HEADER, ...fewer, '<END>')], text.replace(`,${2 * n},`, `,${2 * (n - 1)},`), expected).net).toBe(0n);
  });

  it('tells a batch whose items files hold fewer items than its TOTAL counts from a wrong one: more files may come', () => {
    const firstPart = items.replace(/\n[^\n]*pay_2[^\n]*/g, '');
    expect(() => parseSettlementBatch([firstPart], good, expected)).toThrow(BatchIncomplete);
    expect(() => parseSettlementBatch([firstPart], good, expected)).toThrow(/TOTAL: the summary counts 4 items, the items files hold 2/);
    expect(() => parseSettlementBatch([items], good, expected)).not.toThrow();
  });
});

describe('business day', () => {
  it('moves by whole report days, across months and years', () => {
    expect([shiftDay('2026-11-30', 1), shiftDay('2026-12-31', 1), shiftDay('2027-03-01', -1), shiftDay('2026-11-27', 0)]).toEqual(['2026-12-01', '2027-01-01', '2027-02-28', '2026-11-27']);
  });

  it('is the UTC+8 calendar day', () => {
    expect(businessDayOf('2026-11-27T15:59:59.999Z')).toBe('2026-11-27');
    expect(businessDayOf('2026-11-27T16:00:00.000Z')).toBe('2026-11-28');
    expect(businessDayOf('2026-11-28T00:00:00+08:00')).toBe('2026-11-28');
  });
});

describe('a summary line of a type no item has', () => {
  const detected = { discrepancyId: 'dis_01JDZB2K', type: 'UNSUPPORTED_ROW', kind: 'OTHER', fields: [], transactionRequestId: '20261127HKD001:SETTLEMENT_FEE', businessDay: '2026-11-28' };

  it('is named <batchId>:<summaryType> when that fits an event id', () => {
    expect(summaryLineRequestId('20261127HKD001', 'SETTLEMENT_FEE')).toBe('20261127HKD001:SETTLEMENT_FEE');
    const longest = `${'B'.repeat(64 - ':DISPUTE'.length)}:DISPUTE`;
    expect(summaryLineRequestId('B'.repeat(56), 'DISPUTE')).toBe(longest);
  });

  // `<batchId>:<summaryType>` of a batch id near 64 characters was longer than DiscrepancyDetected allows, and the event was refused
  it('is shortened with a stable hash when the batch id is long, one name per batch and type', () => {
    const batchId = 'A'.repeat(60);
    const id = summaryLineRequestId(batchId, 'SETTLEMENT_FEE');
    expect(id).toHaveLength(64);
    expect(id).toMatch(/^A+~[0-9a-f]{16}$/);
    expect(summaryLineRequestId(batchId, 'SETTLEMENT_FEE')).toBe(id);
    expect(summaryLineRequestId(batchId, 'RESERVE_HOLD')).not.toBe(id);
    expect(summaryLineRequestId(`${batchId}1`, 'SETTLEMENT_FEE')).not.toBe(id);
    const event = { ...detected, transactionRequestId: id };
    expect(discrepancyDetectedV1.safeParse(event).success).toBe(true);
    expect(discrepancyDetectedV1.safeParse({ ...event, transactionRequestId: `${batchId}:SETTLEMENT_FEE` }).success).toBe(false);
  });

  // two lines of one type became one discrepancy whose values were the later line's only
  it('is summed with the other lines of its type', () => {
    const line = (summaryType: string, count: number, settlementAmount: bigint, fee: bigint, n: number) => ({
      line: n, customerId: 'C1', summaryType, count, settlementCurrency: 'HKD', settlementAmount, fee, settlementTime: '2026-11-28T00:00:00+08:00',
    });
    expect(summaryLinesByType([line('SETTLEMENT_FEE', 1, -100n, -100n, 2), line('RESERVE_HOLD', 1, -500n, 0n, 3), line('SETTLEMENT_FEE', 2, -250n, -250n, 4)])).toEqual([
      line('SETTLEMENT_FEE', 3, -350n, -350n, 2),
      line('RESERVE_HOLD', 1, -500n, 0n, 3),
    ]);
  });
});
