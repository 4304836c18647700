import { readFile } from 'node:fs/promises';
import { createEnvelope, csvRecords, parseMessage, TOPICS, toCsvLine, toMajorUnits } from '@upm/contracts';
import { businessDayOf, shiftDay } from '@upm/settlement';
import { eventually, readTopic, sleep, testKafka } from '@upm/shared-testing';
import { schemaMismatches } from './support/json-schema';
import { PaymentResource, PosClient } from './support/pos-client';
import { balanceOf, SandboxReport, settlementSuite } from './support/settlement';

/**
 * Settlement end to end: payments of a mixed day go through the real platform, the sandbox writes that day's
 * report files, and the settlement service ingests them from a folder, matches every row, posts, pays out and
 * reports what disagrees. Faults are seeded into copies of the sandbox's own files.
 */
jest.setTimeout(240_000);

interface Discrepancy {
  discrepancyId: string;
  type: string;
  kind: string;
  fields: string[];
  paymentId: string | null;
  transactionRequestId: string;
  status: string;
  resolvedBy?: string;
}
const { running, api, sandboxReports, deliver, withdraw, ingest, transactions, balances, caughtUp } = settlementSuite('settle', 3500);

/** Rewrites CSV records (not the header or `<END>`) of a report file. */
function editRecords(text: string, edit: (records: Array<Record<string, string>>) => Array<Record<string, string>>): string {
  const body = text.replace(/<END>\n?$/, '');
  const { header, records } = csvRecords(body);
  const lines = [header.join(','), ...edit(records).map((r) => toCsvLine(header.map((h) => r[h])))];
  return `${lines.join('\n')}\n<END>\n`;
}

/** Every part of one report (`_000`, `_001`… when the sandbox splits it), in seq order. */
function partsOf(files: SandboxReport['files'], kind: string, currency?: string): string[] {
  const parts = files.filter((f) => f.kind === kind && (!currency || f.currency === currency)).map((f) => f.path).sort();
  expect(parts.length).toBeGreaterThan(0);
  return parts;
}

/** The records of a report's parts as one file (the first part's header, every record, `<END>`). */
async function joined(parts: readonly string[]): Promise<string> {
  const texts = await Promise.all(parts.map((part) => readFile(part, 'utf8')));
  return editRecords(texts[0], () => texts.flatMap((text) => csvRecords(text.replace(/<END>\n?$/, '')).records));
}

/** What an ingestion did with the files it had not seen, one line per kind and outcome however many parts. */
function outcomes(results: ReadonlyArray<{ kind: string; status: string }>, detail: (r: { kind: string; status: string; batchId?: string }) => string = () => ''): string[] {
  return [...new Set(results.filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status}${detail(r)}`))].sort();
}

async function settled(pos: PosClient, answer: Promise<{ body: PaymentResource }>): Promise<PaymentResource> {
  const { body } = await answer;
  return body.status === 'PROCESSING' ? pos.final(body.paymentId) : body;
}

describe('settlement', () => {
  const ids: Record<string, PaymentResource> = {};
  const refunds: string[] = [];
  let hkd: PosClient;

  it('refuses the finance API without the admin token', async () => {
    const response = await fetch(`${running.settlement.url}/v1/settlement/balances`, { headers: { authorization: 'Bearer nope' } });
    expect(response.status).toBe(401);
  });

  it('serves the finance API\'s OpenAPI document and browsable docs without the token', async () => {
    const document = (await (await fetch(`${running.settlement.url}/openapi.json`)).json()) as { info: { title: string }; paths: Record<string, unknown> };
    expect(document.info.title).toBe('UPM Platform finance API');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/settlement/batches', '/v1/settlement/discrepancies/{discrepancyId}/resolve', '/v1/settlement/export.csv']));
    expect((await fetch(`${running.settlement.url}/docs`)).status).toBe(200);
  });

  it('reconciles a day of mixed scenarios: every payment and refund MATCHED and POSTED, the ledger balanced and paid out', async () => {
    hkd = await running.platform.onboard('Settle Tea');
    // one after the other: the machine is shared, and the saga's shortened timers are meant for a quiet one
    const pay = async (tag: string, currency: string, value: string, suffix: string) => {
      const { body } = await hkd.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency, value }, paymentCode: PosClient.code(suffix), waitSeconds: 20 });
      ids[tag] = body.status === 'PROCESSING' ? await eventually(async () => ((p) => (p.status === 'PROCESSING' ? undefined : p))(await hkd.final(body.paymentId)), 60_000, 10) : body;
    };
    const refund = async (tag: string, currency: string, value: string) => {
      const answer = await hkd.refund(ids[tag].paymentId, { refundRequestId: PosClient.orderId(`r${tag}`), amount: { currency, value }, waitSeconds: 20 });
      expect(answer.body.status).toBe('SUCCEEDED');
      refunds.push(String(answer.body.refundId));
    };
    await pay('plain', 'HKD', '1250', '00');
    await pay('refunded', 'HKD', '2000', '01');
    await pay('pin', 'HKD', '990', '80');
    await pay('declined', 'HKD', '700', '85');
    await pay('voided', 'HKD', '1500', '02');
    await pay('unsigned', 'HKD', '800', '88');
    await pay('review', 'HKD', '600', '89');
    await pay('yen', 'JPY', '1000', '03');
    {
      // a pay still in doubt when the POS voids it; Alipay will not cancel, so the platform refunds instead
      const { body } = await hkd.pay({ merchantOrderId: PosClient.orderId('late'), amount: { currency: 'HKD', value: '450' }, paymentCode: PosClient.code('90'), waitSeconds: 0 });
      await sleep(300);
      await hkd.cancel(body.paymentId, 20);
      ids.late = await eventually(async () => ((p) => (p.status === 'PROCESSING' ? undefined : p))(await hkd.final(body.paymentId)), 60_000, 10);
    }
    expect([ids.plain.status, ids.refunded.status, ids.voided.status, ids.yen.status, ids.declined.status, ids.review.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'FAILED', 'NEEDS_REVIEW']);
    await refund('refunded', 'HKD', '500');
    await refund('refunded', 'HKD', '300');
    await refund('yen', 'JPY', '300');
    expect((await hkd.cancel(ids.voided.paymentId, 20)).body.status).toBe('CANCELLED');

    // what Alipay (the sandbox) did is the truth the ledger must end up with
    const truth = { PAYMENT: 0, REFUND: 0, CANCEL: 0 } as Record<string, number>;
    const payable: Record<string, bigint> = { HKD: 0n, JPY: 0n };
    const fees: Record<string, bigint> = { HKD: 0n, JPY: 0n };
    const charged = new Set<string>();
    const rows: Record<string, number> = { HKD: 0, JPY: 0 };
    for (const p of Object.values(ids)) {
      const seen = (await running.platform.sandboxPayment(p.paymentId)) as unknown as { paidAt?: string; reversedByCancel?: boolean; amount: { currency: string; value: string }; refunds?: Array<{ status: string; amount: { value: string } }> };
      const ccy = p.amount.currency;
      if (seen?.paidAt) {
        truth.PAYMENT++;
        rows[ccy]++;
        charged.add(p.paymentId);
        payable[ccy] += BigInt(p.amount.value);
        fees[ccy] += 10n;
      }
      if (seen?.reversedByCancel) {
        truth.CANCEL++;
        rows[ccy]++;
        payable[ccy] -= BigInt(p.amount.value);
        fees[ccy] -= 10n;
      }
      for (const r of (seen?.refunds ?? []).filter((r) => r.status === 'SUCCESS')) {
        truth.REFUND++;
        rows[ccy]++;
        payable[ccy] -= BigInt(r.amount.value);
        fees[ccy] += 10n;
      }
    }
    expect(charged.has(ids.review.paymentId) || charged.has(ids.declined.paymentId)).toBe(false);
    expect(truth.REFUND).toBeGreaterThanOrEqual(3);
    expect(truth.CANCEL).toBeGreaterThanOrEqual(1);

    await caughtUp(hkd, Object.values(ids));
    const expected = await balances();
    expect(expected.totals.every((t) => t.balanced)).toBe(true);
    expect((await transactions()).every((t) => t.status === 'EXPECTED')).toBe(true);

    const days = [...new Set(Object.values(ids).map((p) => businessDayOf(p.alipay?.paymentTime ?? new Date().toISOString())))];
    for (const day of days) for (const file of await sandboxReports(day)) await deliver(file.path);
    const results = await ingest();
    expect(results.filter((r) => r.status !== 'INGESTED')).toEqual([]);
    expect(results.map((r) => r.kind).sort()).toEqual(expect.arrayContaining(['settlementItems', 'settlementItems', 'transactionItems']));

    const all = await transactions();
    const moves = all.filter((t) => t.kind !== 'SETTLEMENT');
    for (const kind of ['PAYMENT', 'REFUND', 'CANCEL']) expect({ kind, count: moves.filter((t) => t.kind === kind).length }).toEqual({ kind, count: truth[kind] });
    expect(moves.filter((t) => t.reconciliation !== 'MATCHED' || t.status !== 'POSTED')).toEqual([]);
    for (const paymentId of charged) expect(moves.some((t) => t.kind === 'PAYMENT' && t.paymentId === paymentId)).toBe(true);
    for (const refundId of refunds) expect(moves.some((t) => t.kind === 'REFUND' && t.refundId === refundId)).toBe(true);
    expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);

    // the review is settled by the reports: no PAYMENT row on its day nor the next (a pay sent just before
    // midnight may be charged just after) means Alipay never took the money
    const reviewed = async () => (await api<{ reviewResolution: string | null }>('GET', `/v1/settlement/payments/${ids.review.paymentId}`)).body.reviewResolution;
    expect(await reviewed()).toBeNull();
    const dayAfter = shiftDay(businessDayOf(ids.review.createdAt), 1);
    for (const file of partsOf(await sandboxReports(dayAfter), 'transactionItems')) await deliver(file);
    expect(outcomes(await ingest())).toEqual(['transactionItems INGESTED']);
    expect(await reviewed()).toBe('NOT_CHARGED');

    // exact amounts: HKD with two decimals, JPY with none
    const m = hkd.ids.merchantId;
    const after = await balances(`?merchantId=${m}`);
    expect(after.totals.every((t) => t.balanced)).toBe(true);
    for (const ccy of ['HKD', 'JPY']) {
      expect({ ccy, payable: balanceOf(after, `MERCHANT_PAYABLE:${m}:${ccy}`), fees: balanceOf(after, `FEES:${m}:${ccy}`), settled: balanceOf(after, `SETTLED_FUNDS:${m}:${ccy}`), receivable: balanceOf(after, `ALIPAY_RECEIVABLE:${m}:${ccy}`) })
        .toEqual({ ccy, payable: -payable[ccy], fees: fees[ccy], settled: payable[ccy] - fees[ccy], receivable: 0n });
    }
    // exact in both exponents: 1000 JPY − 300 JPY refunded, 10 JPY fee each
    expect(balanceOf(after, `SETTLED_FUNDS:${m}:JPY`)).toBe(680n);
    const batches = (await api<{ batches: Array<{ settlementBatchId: string; currency: string; status: string; gross: { value: string }; fees: { value: string }; net: { value: string } }> }>('GET', '/v1/settlement/batches')).body.batches;
    expect(batches.map((b) => [b.currency, b.status, b.gross.value, b.fees.value, b.net.value]).sort()).toEqual([
      ['HKD', 'RECONCILED', String(payable.HKD), String(-fees.HKD), String(payable.HKD - fees.HKD)],
      ['JPY', 'RECONCILED', '700', '-20', '680'],
    ]);
    const hkdBatch = batches.find((b) => b.currency === 'HKD')!;
    const detail = await api<{ items: Array<{ result: string; ledgerTransactionId: string }> }>('GET', `/v1/settlement/batches/${hkdBatch.settlementBatchId}`);
    expect(detail.body.items).toHaveLength(rows.HKD);
    expect(detail.body.items.every((i) => i.result === 'MATCHED' && i.ledgerTransactionId)).toBe(true);

    // the export's totals are the ledger's: per account over the days, and the batch's payout
    const perAccount = new Map<string, number>();
    const exportDays = [...new Set(all.map((t) => t.businessDay))];
    for (const day of exportDays) {
      const csv = await api('GET', `/v1/settlement/export.csv?day=${day}`);
      expect(csv.status).toBe(200);
      for (const r of csvRecords(csv.text).records) {
        const cents = Math.round(Number(r.debit || 0) * (r.currency === 'JPY' ? 1 : 100)) - Math.round(Number(r.credit || 0) * (r.currency === 'JPY' ? 1 : 100));
        perAccount.set(r.account, (perAccount.get(r.account) ?? 0) + cents);
      }
    }
    const ledgerNow = await balances();
    expect(Object.fromEntries(perAccount)).toEqual(Object.fromEntries(ledgerNow.accounts.map((a) => [a.account, Number(a.balance)])));
    const batchCsv = csvRecords((await api('GET', `/v1/settlement/export.csv?batchId=${hkdBatch.settlementBatchId}`)).text).records;
    expect(batchCsv.filter((r) => r.accountType === 'SETTLED_FUNDS').reduce((sum, r) => sum + Number(r.debit || 0), 0).toFixed(2)).toBe(toMajorUnits(payable.HKD - fees.HKD, 'HKD'));
  });

  it('changes nothing when the same files come again or a payment event is replayed under a new envelope id', async () => {
    const before = { balances: await balances(), transactions: (await transactions()).length };
    expect((await ingest()).every((r) => r.status === 'DUPLICATE')).toBe(true);

    const kafka = testKafka('settle-replay');
    const topic = running.platform.prefix + TOPICS.paymentEvents.name;
    const original = (await readTopic(kafka, topic, (ms) => ms.some((m) => (m.value as { type: string; key: string }).type === 'PaymentSucceeded' && m.key === ids.plain.paymentId)))
      .map((m) => m.value as ReturnType<typeof createEnvelope>)
      .find((e) => e.type === 'PaymentSucceeded' && e.key === ids.plain.paymentId)!;
    const replay = { ...original, id: globalThis.crypto.randomUUID() };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: replay.key, value: JSON.stringify(replay) }] });
    await producer.disconnect();
    await sleep(3000);
    expect((await transactions()).length).toBe(before.transactions);
    expect(await balances()).toMatchObject({ accounts: before.balances.accounts, totals: before.balances.totals });
  });

  it('reports each seeded fault exactly once, rejects broken files whole, and lets finance resolve a discrepancy', async () => {
    // a new report day on the sandbox's clock, after the one whose transaction file the review's check took in above (a
    // day's file comes after its day: a transaction booked once it is in, and not listed, is missing from it)
    await fetch(`${running.platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 2 * 86_400_000 }) });
    const day2: Record<string, PaymentResource> = {};
    for (const [tag, currency, value] of [['changed', 'HKD', '1100'], ['dropped', 'HKD', '1200'], ['fee', 'HKD', '1300'], ['fine', 'HKD', '1400'], ['yen2', 'JPY', '2000']] as const) {
      day2[tag] = await settled(hkd, hkd.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency, value }, paymentCode: PosClient.code('04'), waitSeconds: 20 }));
      expect(day2[tag].status).toBe('SUCCEEDED');
    }
    const day = businessDayOf(day2.changed.alipay!.paymentTime!);
    await eventually(async () => ((await transactions(`?day=${day}`)).filter((t) => t.kind === 'PAYMENT').length === 5 ? true : undefined), 20_000, 300);

    const files = await sandboxReports(day);
    const unknownRow = (r: Record<string, string>) => ({ ...r, transactionId: '2026STRANGER0001', transactionRequestId: 'pay_NOT_OURS_0001', referenceTransactionId: 'X-1' });
    for (const [n, part] of partsOf(files, 'transactionItems').entries()) {
      await deliver(part, (text) =>
        editRecords(text, (records) => [
          ...records
            .filter((r) => r.transactionRequestId !== day2.dropped.paymentId)
            .map((r) => (r.transactionRequestId === day2.changed.paymentId ? { ...r, transactionAmountValue: '11.50' } : r)),
          ...(n === 0 ? [unknownRow(records[0])] : []),
        ]),
      );
    }
    const hkdBatchId = files.find((f) => f.kind === 'settlementItems' && f.currency === 'HKD')!.batchId!;
    const feeItems = (text: string) =>
      editRecords(text, (records) => records.map((r) => (r.transactionRequestId === day2.fee.paymentId ? { ...r, feeAmountValue: '-0.20', settlementAmountValue: '12.80' } : r)));
    const feeSummary = (text: string) =>
      editRecords(text, (records) => records.map((r) => ({ ...r, settlementAmountValue: (Number(r.settlementAmountValue) - 0.1).toFixed(2), feeAmountValue: (Number(r.feeAmountValue) - 0.1).toFixed(2) })));
    for (const part of partsOf(files, 'settlementItems', 'HKD')) await deliver(part, feeItems);
    for (const part of partsOf(files, 'settlementSummary', 'HKD')) await deliver(part, feeSummary);
    // the JPY batch (one payment, one items file) first arrives cut off: no <END>
    const [jpyItemsFile] = partsOf(files, 'settlementItems', 'JPY');
    const jpyItems = await deliver(jpyItemsFile, (text) => text.replace('<END>\n', ''));
    for (const part of partsOf(files, 'settlementSummary', 'JPY')) await deliver(part);

    const results = await ingest();
    const fresh = results.filter((r) => r.status !== 'DUPLICATE');
    expect(outcomes(results, (r) => ` ${r.batchId?.slice(8, 11) ?? ''}`)).toEqual(['settlementItems INGESTED HKD', 'settlementItems REJECTED JPY', 'transactionItems INGESTED ']);
    expect(fresh.find((r) => r.kind === 'settlementItems' && r.status === 'INGESTED')!.batchId).toBe(hkdBatchId);
    expect(fresh.find((r) => r.status === 'REJECTED')!.reason).toMatch(/no <END> trailer/);
    const yen = (await transactions(`?paymentId=${day2.yen2.paymentId}`))[0];
    expect(yen).toMatchObject({ status: 'EXPECTED', settlementBatchId: null });

    const open = (await api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies?status=OPEN')).body.discrepancies;
    expect(open.map((d) => [d.type, d.kind, d.transactionRequestId, d.fields]).sort()).toEqual(
      [
        ['MISMATCHED', 'PAYMENT', day2.changed.paymentId, ['amount']],
        ['MISSING_IN_LEDGER', 'PAYMENT', 'pay_NOT_OURS_0001', []],
        ['MISMATCHED', 'PAYMENT', day2.fee.paymentId, ['fee']],
      ].sort(),
    );
    // the transaction file lacks the dropped payment, but the batch paid it out as the ledger expects it: Alipay made it
    const dropped = (await api<{ discrepancies: Array<Discrepancy & { resolvedBy: string | null; resolutionNote: string | null }> }>('GET', `/v1/settlement/discrepancies?paymentId=${day2.dropped.paymentId}`)).body.discrepancies;
    expect(dropped.map((d) => [d.type, d.status, d.resolvedBy, d.resolutionNote])).toEqual([['MISSING_IN_REPORT', 'RESOLVED', 'settlement', `paid out in settlement batch ${hkdBatchId}`]]);
    expect((await transactions(`?paymentId=${day2.dropped.paymentId}`))[0]).toMatchObject({ reconciliation: 'MATCHED', status: 'POSTED', settlementBatchId: hkdBatchId });
    const fine = (await transactions(`?paymentId=${day2.fine.paymentId}`))[0];
    expect(fine).toMatchObject({ reconciliation: 'MATCHED', status: 'POSTED', settlementBatchId: hkdBatchId });
    const feeTxn = (await transactions(`?paymentId=${day2.fee.paymentId}`))[0];
    expect(feeTxn).toMatchObject({ reconciliation: 'MISMATCHED', status: 'EXPECTED' });
    const batch = (await api<{ status: string }>('GET', `/v1/settlement/batches/${hkdBatchId}`)).body;
    expect(batch.status).toBe('DISCREPANCIES');

    // the batch whose items do not add up to its TOTAL is rejected too; the complete one then goes in
    await withdraw(jpyItems);
    await deliver(jpyItemsFile, (text) => editRecords(text, (records) => records.map((r) => ({ ...r, settlementAmountValue: '1989', transactionAmountValue: '1999' }))));
    const mismatch = (await ingest()).filter((r) => r.status !== 'DUPLICATE');
    expect(mismatch).toEqual([expect.objectContaining({ status: 'REJECTED', reason: expect.stringMatching(/TOTAL: the settlement items sum to 1989 minor units, the summary says 1990/) })]);
    await withdraw(jpyItems);
    await deliver(jpyItemsFile);
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE')).toEqual([expect.objectContaining({ status: 'INGESTED', kind: 'settlementItems' })]);
    expect((await transactions(`?paymentId=${day2.yen2.paymentId}`))[0]).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });
    const rejected = (await api<{ files: Array<{ status: string; reason: string | null }> }>('GET', '/v1/settlement/files')).body.files.filter((f) => f.status === 'REJECTED');
    expect(rejected.length).toBe(2);
    expect((await balances()).totals.every((t) => t.balanced)).toBe(true);

    // nothing new was found twice
    expect((await api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies?status=OPEN')).body.discrepancies).toHaveLength(3);

    const target = open.find((d) => d.type === 'MISSING_IN_LEDGER')!;
    // only the transaction file lists it: no batch paid it out, so there is nothing to book yet
    const booking = await api<{ error: { code: string } }>('POST', `/v1/settlement/discrepancies/${target.discrepancyId}/resolve`, { resolvedBy: 'finance@chain.example', note: 'book it', adjust: true });
    expect([booking.status, booking.body.error.code]).toEqual([422, 'SETTLEMENT.NOT_SETTLED']);
    const resolved = await api<Discrepancy & { resolutionNote: string }>('POST', `/v1/settlement/discrepancies/${target.discrepancyId}/resolve`, { resolvedBy: 'finance@chain.example', note: 'another acquirer account; reported to Alipay' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'RESOLVED', resolvedBy: 'finance@chain.example', resolutionNote: 'another acquirer account; reported to Alipay' });
    expect((await api('POST', `/v1/settlement/discrepancies/${target.discrepancyId}/resolve`, { resolvedBy: 'x', note: 'again' })).status).toBe(409);
    expect((await api('POST', `/v1/settlement/discrepancies/${target.discrepancyId}/resolve`, {})).status).toBe(400);
    const metrics = await (await fetch(`${running.settlement.url}/metrics`)).text();
    expect(metrics).toMatch(/settlement_open_discrepancies\{[^}]*type="MISMATCHED"[^}]*\} 2/);
    expect(metrics).toMatch(/settlement_open_discrepancies\{[^}]*type="MISSING_IN_LEDGER"[^}]*\} 0/);
    expect(metrics).toMatch(/settlement_report_files_total\{[^}]*status="REJECTED"[^}]*\} 2/);

    // Alipay charged 0.20 where the ledger expected 0.10 and paid out 12.80: until finance books that, the
    // payout leaves the merchant's settled receivable short by the whole transaction
    const feeGap = open.find((d) => d.transactionRequestId === day2.fee.paymentId)!;
    const receivable = `ALIPAY_RECEIVABLE:${feeTxn.merchantId}:HKD`;
    const postedHkd = async () => balanceOf(await balances(`?status=POSTED&currency=HKD&merchantId=${feeTxn.merchantId}`), receivable);
    expect(await postedHkd()).toBe(-1280n);
    const resolve = (d: Discrepancy) => api<Discrepancy & { adjustmentTransactionId: string | null; error?: { code: string } }>(
      'POST', `/v1/settlement/discrepancies/${d.discrepancyId}/resolve`, { resolvedBy: 'finance@chain.example', note: 'Alipay applied its new fee schedule', adjust: true },
    );
    // what no amount can correct is refused and stays open
    const refusal = await resolve(open.find((d) => d.transactionRequestId === day2.changed.paymentId)!);
    expect([refusal.status, refusal.body.error?.code]).toEqual([422, 'SETTLEMENT.NOTHING_TO_ADJUST']);
    // two resolutions at once: one books the adjustment, the other is told it came too late
    const both = await Promise.all([resolve(feeGap), resolve(feeGap)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const adjusted = both.find((r) => r.status === 200)!.body;
    expect(adjusted).toMatchObject({ status: 'RESOLVED', adjustmentTransactionId: expect.stringMatching(/^ltx_/) });
    const feeLedger = await transactions(`?paymentId=${day2.fee.paymentId}`);
    expect(feeLedger.map((t) => [t.ledgerTransactionId, t.kind, t.status, t.settlementBatchId, t.fee?.value])).toEqual([
      [feeTxn.ledgerTransactionId, 'PAYMENT', 'POSTED', hkdBatchId, '10'],
      [adjusted.adjustmentTransactionId, 'ADJUSTMENT', 'POSTED', hkdBatchId, '10'],
    ]);
    expect(feeLedger[1].entries).toEqual([
      { account: `FEES:${feeTxn.merchantId}:HKD`, direction: 'DEBIT', amount: '10' },
      { account: receivable, direction: 'CREDIT', amount: '10' },
    ]);
    expect(await postedHkd()).toBe(0n);
    expect((await balances('?status=POSTED')).totals.every((t) => t.balanced)).toBe(true);
    const stillOpen = (await api<{ discrepancies: Discrepancy[] }>('GET', '/v1/settlement/discrepancies?status=OPEN')).body.discrepancies;
    expect(stillOpen.map((d) => d.transactionRequestId)).toEqual([day2.changed.paymentId]);
  });

  it('answers what its OpenAPI document says, field for field', async () => {
    const document = (await (await fetch(`${running.settlement.url}/openapi.json`)).json()) as Record<string, unknown> & { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>> };
    const answerSchema = (path: string, method: string, status: number) => document.paths[path][method].responses[String(status)].content!['application/json'].schema;
    const { body: batchList } = await api<{ batches: Array<{ settlementBatchId: string }> }>('GET', '/v1/settlement/batches');
    const { body: discrepancyList } = await api<{ discrepancies: Array<{ paymentId: string | null }> }>('GET', '/v1/settlement/discrepancies');
    const paymentId = Object.values(ids)[0].paymentId;
    const answers: Array<[string, string, number, string]> = [
      ['/v1/settlement/batches', 'get', 200, '/v1/settlement/batches'],
      ['/v1/settlement/batches/{batchId}', 'get', 200, `/v1/settlement/batches/${batchList.batches[0].settlementBatchId}`],
      ['/v1/settlement/discrepancies', 'get', 200, '/v1/settlement/discrepancies'],
      ['/v1/settlement/balances', 'get', 200, '/v1/settlement/balances?status=POSTED'],
      ['/v1/settlement/transactions', 'get', 200, `/v1/settlement/transactions?paymentId=${paymentId}`],
      ['/v1/settlement/payments/{paymentId}', 'get', 200, `/v1/settlement/payments/${paymentId}`],
      ['/v1/settlement/files', 'get', 200, '/v1/settlement/files'],
      ['/v1/settlement/batches/{batchId}', 'get', 404, '/v1/settlement/batches/no-such-batch'],
      ['/v1/settlement/discrepancies', 'get', 400, '/v1/settlement/discrepancies?type=SOMETHING'],
      ['/v1/settlement/discrepancies', 'get', 200, '/v1/settlement/discrepancies?limit=1'],
      ['/v1/settlement/discrepancies', 'get', 400, '/v1/settlement/discrepancies?limit=1001'],
      ['/v1/settlement/discrepancies', 'get', 404, '/v1/settlement/discrepancies?before=dis_none'],
    ];
    expect(batchList.batches.length).toBeGreaterThan(0);
    expect(discrepancyList.discrepancies.length).toBeGreaterThan(0);
    // a page at a time over HTTP: the pages of one row read what the listing holds, in its order
    const paged: unknown[] = [];
    for (let before = ''; ;) {
      const { body } = await api<{ discrepancies: unknown[]; next: string | null }>('GET', `/v1/settlement/discrepancies?limit=1${before}`);
      paged.push(...body.discrepancies);
      if (body.next === null) break;
      before = `&before=${body.next}`;
    }
    expect(paged).toEqual(discrepancyList.discrepancies);
    for (const [path, method, status, route] of answers) {
      const answer = await api(method.toUpperCase(), route);
      expect({ route, status: answer.status }).toEqual({ route, status });
      expect({ route, mismatches: schemaMismatches(answer.body, answerSchema(path, method, status), document) }).toEqual({ route, mismatches: [] });
    }
  });

  it('tells finance on settlement.v1.events, every message within its contract', async () => {
    const topic = running.platform.prefix + TOPICS.settlementEvents.name;
    const count = (ms: Array<{ value: unknown }>, type: string) => ms.filter((m) => (m.value as { type: string }).type === type).length;
    const reconciledTags = ['plain', 'refunded', 'voided', 'yen'];
    const reconciledIn = (ms: Array<{ value: unknown }>) =>
      new Set(ms.map((m) => m.value as { type: string; data: { paymentId?: string } }).filter((v) => v.type === 'TransactionReconciled').map((v) => v.data.paymentId));
    // partitions arrive in any order: read until every event the assertions below look for is in
    const messages = await readTopic(testKafka('settle-events'), topic, (ms) =>
      count(ms, 'SettlementBatchSettled') >= 4 && count(ms, 'DiscrepancyDetected') >= 4 && count(ms, 'PaymentReviewResolved') >= 1
      && reconciledTags.every((tag) => reconciledIn(ms).has(ids[tag].paymentId))
      && ms.some((m) => (m.value as { data?: { kind?: string } }).data?.kind === 'ADJUSTMENT'), 20_000);
    const envelopes = messages.map((m) => parseMessage(TOPICS.settlementEvents.name, m.value));
    const of = (type: string) => envelopes.filter((e) => e.type === type);
    expect(of('SettlementBatchSettled').map((e) => (e.data as { currency: string }).currency).sort()).toEqual(['HKD', 'HKD', 'JPY', 'JPY']);
    const hkdDay1 = of('SettlementBatchSettled').map((e) => e.data as { currency: string; net: { value: string }; gross: { value: string }; fees: { value: string }; paymentIds: string[] }).find((b) => b.paymentIds.includes(ids.plain.paymentId))!;
    expect(BigInt(hkdDay1.gross.value) + BigInt(hkdDay1.fees.value)).toBe(BigInt(hkdDay1.net.value));
    expect(hkdDay1.paymentIds).toEqual(expect.arrayContaining([ids.plain.paymentId, ids.voided.paymentId, ids.refunded.paymentId]));
    expect(of('DiscrepancyDetected')).toHaveLength(4);
    expect(of('PaymentReviewResolved').map((e) => e.data)).toEqual([expect.objectContaining({ paymentId: ids.review.paymentId, resolution: 'NOT_CHARGED' })]);
    const reconciled = new Set(of('TransactionReconciled').map((e) => (e.data as { paymentId: string }).paymentId));
    for (const tag of reconciledTags) expect(reconciled.has(ids[tag].paymentId)).toBe(true);
    const posted = of('LedgerEntriesPosted').map((e) => e.data as { status: string; kind: string });
    expect(posted.some((p) => p.status === 'EXPECTED' && p.kind === 'PAYMENT')).toBe(true);
    expect(posted.some((p) => p.status === 'POSTED' && p.kind === 'SETTLEMENT')).toBe(true);
    expect(posted.filter((p) => p.kind === 'ADJUSTMENT')).toEqual([expect.objectContaining({ status: 'POSTED', entries: [expect.objectContaining({ accountType: 'FEES', direction: 'DEBIT', amount: '10' }), expect.objectContaining({ accountType: 'ALIPAY_RECEIVABLE', direction: 'CREDIT', amount: '10' })] })]);
  });

  it('opens a discrepancy resolved before Alipay settled again when the settlement disagrees too, so it can be adjusted', async () => {
    await fetch(`${running.platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 86_400_000 }) });
    const paid = await settled(hkd, hkd.pay({ merchantOrderId: PosClient.orderId('late-settle'), amount: { currency: 'HKD', value: '1000' }, paymentCode: PosClient.code('05'), waitSeconds: 20 }));
    expect(paid.status).toBe('SUCCEEDED');
    const day = businessDayOf(paid.alipay!.paymentTime!);
    await eventually(async () => ((await transactions(`?paymentId=${paid.paymentId}`)).length === 1 ? true : undefined), 20_000, 300);
    const files = await sandboxReports(day);
    // Alipay took 10.50 where the ledger expects 10.00, in the transaction file and, a day later, in the batch
    const charged = (records: Array<Record<string, string>>) =>
      records.map((r) => (r.transactionRequestId === paid.paymentId ? { ...r, transactionAmountValue: '10.50', ...(r.settlementAmountValue ? { settlementAmountValue: '10.40' } : {}) } : r));
    for (const part of partsOf(files, 'transactionItems')) await deliver(part, (text) => editRecords(text, charged));
    expect(outcomes(await ingest())).toEqual(['transactionItems INGESTED']);
    const [found] = (await api<{ discrepancies: Discrepancy[] }>('GET', `/v1/settlement/discrepancies?paymentId=${paid.paymentId}`)).body.discrepancies;
    expect(found).toMatchObject({ type: 'MISMATCHED', fields: ['amount'], status: 'OPEN' });
    const resolve = (adjust: boolean) => api<Discrepancy & { adjustmentTransactionId: string | null; error?: { code: string } }>(
      'POST', `/v1/settlement/discrepancies/${found.discrepancyId}/resolve`, { resolvedBy: 'finance@chain.example', note: 'Alipay confirms 10.50', adjust },
    );
    // nothing is settled yet, so there is nothing to adjust to; resolved as a note
    const early = await resolve(true);
    expect([early.status, early.body.error?.code]).toEqual([422, 'SETTLEMENT.NOT_SETTLED']);
    expect((await resolve(false)).body).toMatchObject({ status: 'RESOLVED', adjustmentTransactionId: null });

    for (const part of partsOf(files, 'settlementItems')) await deliver(part, (text) => editRecords(text, charged));
    for (const part of partsOf(files, 'settlementSummary')) {
      await deliver(part, (text) => editRecords(text, (records) => records.map((r) => ({ ...r, settlementAmountValue: (Number(r.settlementAmountValue) + 0.5).toFixed(2) }))));
    }
    expect(outcomes(await ingest())).toEqual(['settlementItems INGESTED']);
    const [again] = (await api<{ discrepancies: Discrepancy[] }>('GET', `/v1/settlement/discrepancies?paymentId=${paid.paymentId}`)).body.discrepancies;
    expect(again).toMatchObject({
      discrepancyId: found.discrepancyId, status: 'OPEN', fields: ['amount'], resolvedBy: null, resolutionNote: null,
      previousResolutions: [expect.objectContaining({ resolvedBy: 'finance@chain.example', resolutionNote: 'Alipay confirms 10.50' })],
    });
    const announced = await readTopic(testKafka('settle-reopen'), running.platform.prefix + TOPICS.settlementEvents.name, (ms) =>
      ms.filter((m) => (m.value as { data: { discrepancyId?: string } }).data.discrepancyId === found.discrepancyId).length >= 2, 20_000);
    expect(announced.map((m) => (m.value as { data: { discrepancyId?: string; reopened?: boolean } }).data).filter((d) => d.discrepancyId === found.discrepancyId).map((d) => d.reopened ?? false))
      .toEqual([false, true]);

    const adjusted = await resolve(true);
    expect(adjusted.status).toBe(200);
    const ledger = await transactions(`?paymentId=${paid.paymentId}`);
    expect(ledger.map((t) => [t.kind, t.status, t.amount.value])).toEqual([['PAYMENT', 'POSTED', '1000'], ['ADJUSTMENT', 'POSTED', '50']]);
    const merchant = ledger[0].merchantId;
    expect(balanceOf(await balances(`?status=POSTED&currency=HKD&merchantId=${merchant}`), `ALIPAY_RECEIVABLE:${merchant}:HKD`)).toBe(0n);
  });

  it('flags a transaction a second batch pays out again, and books the payout as it reached the bank', async () => {
    await fetch(`${running.platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 86_400_000 }) });
    const paid = await settled(hkd, hkd.pay({ merchantOrderId: PosClient.orderId('paid-twice'), amount: { currency: 'HKD', value: '1000' }, paymentCode: PosClient.code('06'), waitSeconds: 20 }));
    expect(paid.status).toBe('SUCCEEDED');
    await eventually(async () => ((await transactions(`?paymentId=${paid.paymentId}`)).length === 1 ? true : undefined), 20_000, 300);
    const files = await sandboxReports(businessDayOf(paid.alipay!.paymentTime!));
    for (const f of files) await deliver(f.path);
    expect(outcomes(await ingest())).toEqual(['settlementItems INGESTED', 'transactionItems INGESTED']);
    const [payment] = await transactions(`?paymentId=${paid.paymentId}`);
    const first = payment.settlementBatchId!;
    expect(payment).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });

    // the same batch again under another id: every item already paid out once
    const second = `${first}AGAIN`;
    const renamed = (records: Array<Record<string, string>>) => records.map((r) => ({ ...r, settlementBatchId: second }));
    for (const f of files.filter((f) => f.kind !== 'transactionItems')) await deliver(f.path, (text) => editRecords(text, renamed), f.path.split('/').pop()!.replace(first, second));
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status} ${r.batchId}`)).toEqual([`settlementItems INGESTED ${second}`]);

    const [twice] = (await api<{ discrepancies: Discrepancy[] }>('GET', `/v1/settlement/discrepancies?paymentId=${paid.paymentId}`)).body.discrepancies;
    expect(twice).toMatchObject({ type: 'MISMATCHED', fields: ['settlementBatchId'], status: 'OPEN', expected: { settlementBatchId: first }, actual: { settlementBatchId: second } });
    const batch = (await api<{ status: string; net: { value: string } }>('GET', `/v1/settlement/batches/${second}`)).body;
    expect(batch.status).toBe('DISCREPANCIES');
    // the money reached the bank twice: the receivable shows what Alipay paid beyond what it owed
    const merchant = payment.merchantId;
    expect(balanceOf(await balances(`?status=POSTED&currency=HKD&merchantId=${merchant}`), `ALIPAY_RECEIVABLE:${merchant}:HKD`)).toBe(-BigInt(batch.net.value));
    const adjust = await api<{ error: { code: string } }>('POST', `/v1/settlement/discrepancies/${twice.discrepancyId}/resolve`, { resolvedBy: 'finance@chain.example', note: 'x', adjust: true });
    expect([adjust.status, adjust.body.error.code]).toEqual([422, 'SETTLEMENT.CANNOT_ADJUST']);
  });

  it('takes each empty day\'s file though they all hold the same bytes, and a batch rejected for a cut-off summary once the summary is whole', async () => {
    const empty = [...(await sandboxReports('2031-01-01')), ...(await sandboxReports('2031-01-02'))].filter((f) => f.kind === 'transactionItems');
    expect(empty.map((f) => f.rows)).toEqual([0, 0]);
    for (const f of empty) await deliver(f.path);
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status} ${r.path.split('/').pop()}`)).toEqual([
      'transactionItems INGESTED transactionItems_20310101_000.csv',
      'transactionItems INGESTED transactionItems_20310102_000.csv',
    ]);

    await fetch(`${running.platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 86_400_000 }) });
    const paid = await settled(hkd, hkd.pay({ merchantOrderId: PosClient.orderId('cut-summary'), amount: { currency: 'HKD', value: '700' }, paymentCode: PosClient.code('07'), waitSeconds: 20 }));
    expect(paid.status).toBe('SUCCEEDED');
    await eventually(async () => ((await transactions(`?paymentId=${paid.paymentId}`)).length === 1 ? true : undefined), 20_000, 300);
    const files = await sandboxReports(businessDayOf(paid.alipay!.paymentTime!));
    const [summary] = partsOf(files, 'settlementSummary');
    for (const f of files) await (f.path === summary ? deliver(f.path, (text) => text.replace('<END>\n', '')) : deliver(f.path));
    const cut = await ingest();
    expect(outcomes(cut)).toEqual(['settlementItems REJECTED', 'transactionItems INGESTED']);
    expect(cut.find((r) => r.status === 'REJECTED')!.reason).toMatch(/no <END> trailer/);
    // the same pair is not tried again; the whole summary goes in with the items file it was rejected with
    expect((await ingest()).every((r) => r.status === 'DUPLICATE')).toBe(true);
    await deliver(summary);
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status}`)).toEqual(['settlementItems INGESTED']);
    expect((await transactions(`?paymentId=${paid.paymentId}`))[0]).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });
  });

  it('reads a day and a batch that Alipay split over several files: what one file lacks, the next one holds', async () => {
    await fetch(`${running.platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 86_400_000 }) });
    const day3: PaymentResource[] = [];
    for (const tag of ['part0', 'part1']) {
      const paid = await settled(hkd, hkd.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency: 'HKD', value: '800' }, paymentCode: PosClient.code('08'), waitSeconds: 20 }));
      expect(paid.status).toBe('SUCCEEDED');
      day3.push(paid);
    }
    await eventually(async () => ((await transactions(`?paymentId=${day3[1].paymentId}`)).length === 1 ? true : undefined), 20_000, 300);
    const files = await sandboxReports(businessDayOf(day3[0].alipay!.paymentTime!));
    // each file holds one of the two, whether or not the sandbox split the day already
    const [file] = partsOf(files, 'transactionItems');
    const whole = await joined(partsOf(files, 'transactionItems'));
    const only = (paymentId: string, text: string) => () => editRecords(text, (records) => records.filter((r) => r.transactionRequestId === paymentId));
    await deliver(file, only(day3[0].paymentId, whole));
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status}`)).toEqual(['transactionItems INGESTED']);
    const missing = async () => (await api<{ discrepancies: Array<Discrepancy & { resolvedBy: string | null }> }>('GET', `/v1/settlement/discrepancies?paymentId=${day3[1].paymentId}`)).body.discrepancies;
    expect((await missing()).map((d) => [d.type, d.status])).toEqual([['MISSING_IN_REPORT', 'OPEN']]);

    await deliver(file, only(day3[1].paymentId, whole), file.split('/').pop()!.replace('_000.csv', '_001.csv'));
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status}`)).toEqual(['transactionItems INGESTED']);
    expect((await missing()).map((d) => [d.type, d.status, d.resolvedBy])).toEqual([['MISSING_IN_REPORT', 'RESOLVED', 'settlement']]);
    expect((await transactions(`?paymentId=${day3[1].paymentId}`))[0]).toMatchObject({ reconciliation: 'MATCHED', status: 'EXPECTED' });

    // the batch's items in two files: the first alone is not the whole batch yet
    const items = files.find((f) => f.kind === 'settlementItems')!;
    const allItems = await joined(partsOf(files, 'settlementItems'));
    for (const part of partsOf(files, 'settlementSummary')) await deliver(part);
    await deliver(items.path, only(day3[0].paymentId, allItems));
    const waiting = (await ingest()).filter((r) => r.status !== 'DUPLICATE');
    expect(waiting).toEqual([expect.objectContaining({ kind: 'settlementItems', status: 'PENDING', reason: expect.stringMatching(/counts 2 items, the items files hold 1/) })]);
    await deliver(items.path, only(day3[1].paymentId, allItems), items.path.split('/').pop()!.replace('_000.csv', '_001.csv'));
    expect((await ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => `${r.kind} ${r.status} ${r.batchId}`)).toEqual([`settlementItems INGESTED ${items.batchId}`]);
    for (const p of day3) expect((await transactions(`?paymentId=${p.paymentId}`))[0]).toMatchObject({ reconciliation: 'MATCHED', status: 'POSTED', settlementBatchId: items.batchId });
    expect((await api<{ status: string }>('GET', `/v1/settlement/batches/${items.batchId}`)).body.status).toBe('RECONCILED');
  });
});
