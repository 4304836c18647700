import { fromMajorUnits, toMajorUnits } from '@upm/contracts';
import { businessDayOf } from '@upm/settlement';
import { PaymentResource, PosClient } from './support/pos-client';
import { settlementSuite } from './support/settlement';

/**
 * A batch Alipay delivers partial, then again in full under the same batch id (docs/settlement.md, "A batch
 * re-issued"): the partial one is settled; the fuller one books nothing twice, nor at all, and finance sees an open
 * discrepancy of code SETTLEMENT.BATCH_REISSUED naming the payment it adds.
 */
jest.setTimeout(180_000);

const { running, api, sandboxReports, deliver, ingest, transactions, balances, caughtUp } = settlementSuite('settle_reissue', 3740);

/** A CSV of the sandbox's (no quoted fields) with `change` applied to each data line, by column name; `null` drops the line. */
function rewrite(text: string, change: (field: (name: string) => string, set: (name: string, value: string) => void) => boolean): string {
  const lines = text.split('\n');
  const header = lines[0].split(',');
  const out = [lines[0]];
  for (const line of lines.slice(1)) {
    if (!line.includes(',')) {
      out.push(line);
      continue;
    }
    const fields = line.split(',');
    const keep = change((name) => fields[header.indexOf(name)], (name, value) => (fields[header.indexOf(name)] = value));
    if (keep) out.push(fields.join(','));
  }
  return out.join('\n');
}

interface Discrepancy { type: string; kind: string; transactionRequestId: string; status: string; expected: Record<string, string> | null; actual: Record<string, string> | null }

it('settles a partial batch, and books nothing of its fuller file but tells finance what it adds', async () => {
  const pos = await running.platform.onboard('Reissue Tea');
  const paid: PaymentResource[] = [];
  for (const [tag, value] of [['first', '1250'], ['second', '2000']] as const) {
    const { body } = await pos.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency: 'HKD', value }, paymentCode: PosClient.code('03'), waitSeconds: 20 });
    expect(body.status).toBe('SUCCEEDED');
    paid.push(body);
  }
  await caughtUp(pos, paid);
  const files = await sandboxReports(businessDayOf(paid[0].alipay!.paymentTime!));
  const items = files.find((f) => f.kind === 'settlementItems')!;
  const summary = files.find((f) => f.kind === 'settlementSummary')!;
  const later = paid[1].paymentId;

  // the partial batch: the second payment left out of the items, and out of the summary's PAYMENT and TOTAL lines
  let dropped = { net: 0n, fee: 0n };
  for (const file of files.filter((f) => f.kind === 'transactionItems')) await deliver(file.path);
  await deliver(items.path, (text) => rewrite(text, (field) => {
    if (field('transactionRequestId') !== later) return true;
    dropped = { net: fromMajorUnits(field('settlementAmountValue'), 'HKD'), fee: fromMajorUnits(field('feeAmountValue'), 'HKD') };
    return false;
  }));
  expect(dropped.net).toBeGreaterThan(0n);
  await deliver(summary.path, (text) => rewrite(text, (field, set) => {
    if (['PAYMENT', 'TOTAL'].includes(field('summaryType'))) {
      set('count', String(Number(field('count')) - 1));
      set('settlementAmountValue', toMajorUnits(fromMajorUnits(field('settlementAmountValue'), 'HKD') - dropped.net, 'HKD'));
      set('feeAmountValue', toMajorUnits(fromMajorUnits(field('feeAmountValue'), 'HKD') - dropped.fee, 'HKD'));
    }
    return true;
  }));
  expect((await ingest()).map((f) => `${f.kind} ${f.status}`)).toEqual(['transactionItems INGESTED', 'settlementItems INGESTED']);
  const settled = async () => (await api<{ batches: Array<{ settlementBatchId: string; status: string; transactionCount: number; net: { value: string } }> }>('GET', '/v1/settlement/batches')).body.batches;
  const [batch] = await settled();
  expect(batch).toMatchObject({ settlementBatchId: items.batchId, status: 'RECONCILED', transactionCount: 1 });
  const before = await transactions();

  // the fuller files of the same batch, under the same names
  await deliver(items.path);
  await deliver(summary.path);
  const looked = await ingest();
  expect(looked.map((f) => `${f.kind} ${f.status}`)).toEqual(['transactionItems DUPLICATE', 'settlementItems REJECTED']);
  const reissued = looked[1];
  expect(reissued).toMatchObject({ kind: 'settlementItems', status: 'REJECTED', reason: expect.stringMatching(/^SETTLEMENT\.BATCH_REISSUED: .*this one lists 2 .*: 1 added, 0 changed, 0 dropped/) });

  // nothing booked: the batch as it was paid out, the ledger as it was, the added payment still expected
  expect(await settled()).toEqual([batch]);
  expect(await transactions()).toEqual(before);
  expect(before.filter((t) => t.paymentId === later).map((t) => `${t.kind} ${t.status}`)).toEqual(['PAYMENT EXPECTED']);
  expect((await balances()).totals.every((t) => t.balanced)).toBe(true);

  const open = (await api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies?status=OPEN')).body.discrepancies;
  expect(open).toEqual([expect.objectContaining({
    type: 'UNSUPPORTED_ROW', kind: 'OTHER', transactionRequestId: `${items.batchId}:REISSUED`,
    expected: expect.objectContaining({ count: '1', settlementAmountValue: toMajorUnits(BigInt(batch.net.value), 'HKD') }),
    actual: expect.objectContaining({ code: 'SETTLEMENT.BATCH_REISSUED', settlementBatchId: items.batchId, count: '2', added: `PAYMENT:${later}`, changed: '', dropped: '' }),
  })]);
  // the next look: the same files, told once
  expect((await ingest()).map((f) => `${f.kind} ${f.status}`)).toEqual(['transactionItems DUPLICATE', 'settlementItems DUPLICATE']);
  expect((await api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toHaveLength(1);
});
