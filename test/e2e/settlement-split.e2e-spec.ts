import { parseMessage, TOPICS } from '@upm/contracts';
import { businessDayOf } from '@upm/settlement';
import { readTopic, testKafka } from '@upm/shared-testing';
import { PaymentResource, PosClient } from './support/pos-client';
import { balanceOf, settlementSuite } from './support/settlement';

/**
 * A day that Alipay writes in several files (spec §13.1 `seq`): the sandbox splits every report of more than two
 * records, so a small day's transaction details and its batch's items each come as `_000`, `_001`, `_002`. Read
 * together, they must reconcile as one file would: nothing missing, nothing announced that never was.
 */
jest.setTimeout(180_000);

const { running, api, sandboxReports, deliver, ingest, transactions, balances, caughtUp } = settlementSuite('settle_split', 3570, { SANDBOX_REPORT_MAX_ROWS: '2' });

it('reconciles a day split over several files with no discrepancy, as if it were one file', async () => {
  const pos = await running.platform.onboard('Split Tea');
  const paid: PaymentResource[] = [];
  for (const [tag, value] of [['first', '1250'], ['second', '2000'], ['voided', '1500']] as const) {
    const { body } = await pos.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency: 'HKD', value }, paymentCode: PosClient.code('02'), waitSeconds: 20 });
    expect(body.status).toBe('SUCCEEDED');
    paid.push(body);
  }
  const refund = await pos.refund(paid[1].paymentId, { refundRequestId: PosClient.orderId('rsecond'), amount: { currency: 'HKD', value: '500' }, waitSeconds: 20 });
  expect(refund.body.status).toBe('SUCCEEDED');
  expect((await pos.cancel(paid[2].paymentId, 20)).body.status).toBe('CANCELLED');
  await caughtUp(pos, paid);

  // three payments, a refund and a cancel: five records, in three files per report; one summary line per type and the TOTAL
  const files = await sandboxReports(businessDayOf(paid[0].alipay!.paymentTime!));
  expect(files.map((f) => `${f.kind} ${f.path.slice(-7)} ${f.rows}`)).toEqual([
    'transactionItems 000.csv 2', 'transactionItems 001.csv 2', 'transactionItems 002.csv 1',
    'settlementItems 000.csv 2', 'settlementItems 001.csv 2', 'settlementItems 002.csv 1',
    'settlementSummary 000.csv 4',
  ]);
  for (const file of files) await deliver(file.path);
  const ingested = await ingest();
  expect(ingested.map((f) => `${f.kind} ${f.status} ${f.path.slice(-7)}`)).toEqual([
    'transactionItems INGESTED 000.csv', 'transactionItems INGESTED 001.csv', 'transactionItems INGESTED 002.csv', 'settlementItems INGESTED 000.csv',
  ]);

  const moves = (await transactions()).filter((t) => t.kind !== 'SETTLEMENT');
  expect(moves.map((t) => `${t.kind} ${t.status} ${t.reconciliation}`).sort()).toEqual([
    'CANCEL POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'REFUND POSTED MATCHED',
  ]);
  // not one, open or closed: no part called missing what a later part lists
  expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);
  const [batch] = (await api<{ batches: Array<{ settlementBatchId: string; status: string }> }>('GET', '/v1/settlement/batches')).body.batches;
  expect(batch.status).toBe('RECONCILED');
  const detail = (await api<{ items: Array<{ part: number; result: string }> }>('GET', `/v1/settlement/batches/${batch.settlementBatchId}`)).body;
  expect(detail.items.map((i) => `${i.part} ${i.result}`).sort()).toEqual(['0 MATCHED', '0 MATCHED', '1 MATCHED', '1 MATCHED', '2 MATCHED']);
  const m = pos.ids.merchantId;
  expect(balanceOf(await balances(`?merchantId=${m}&status=POSTED`), `ALIPAY_RECEIVABLE:${m}:HKD`)).toBe(0n);

  // finance and the merchants' webhooks hear of every match and of no discrepancy
  const messages = await readTopic(testKafka('settle-split-events'), running.platform.prefix + TOPICS.settlementEvents.name, (ms) =>
    ms.filter((msg) => (msg.value as { type: string }).type === 'TransactionReconciled').length >= 10 && ms.some((msg) => (msg.value as { type: string }).type === 'SettlementBatchSettled'), 20_000);
  const types = messages.map((msg) => parseMessage(TOPICS.settlementEvents.name, msg.value).type);
  expect(types.filter((t) => t === 'TransactionReconciled')).toHaveLength(10);
  expect(types.filter((t) => t === 'DiscrepancyDetected')).toEqual([]);
});
