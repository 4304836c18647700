import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromMajorUnits } from '@upm/contracts';
import { AmsClient } from '@upm/alipay';
import type { ReportListing } from '@upm/sandbox';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { postJson, requestReports } from './testing/http';
import { connect, newMerchant, payInput, requestId } from './testing/merchant';

const CUSTOMER = '1022188000000009999';
const DAY = '2026-11-27';
let dir: string;
let sandbox: InProcessSandbox;
let client: AmsClient;
let otherClient: AmsClient;

/** What the test made the sandbox process on DAY, by transactionRequestId. */
const expected = new Map<string, { type: string; currency: string; major: string }>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandbox-reports-'));
  sandbox = await startInProcessSandbox({ SANDBOX_REPORT_DIR: dir, SANDBOX_CUSTOMER_ID: CUSTOMER, SANDBOX_REPORT_OPEN_DAYS: 'false' });
  client = await connect(sandbox.url, newMerchant('SANDBOX_REPORTS'));
  const other = newMerchant('SANDBOX_REPORTS_OTHER');
  await postJson(`${sandbox.url}/sandbox/clients`, { clientId: other.clientId, publicKey: other.publicKeyPem, customerId: 'OTHER_CUSTOMER' });
  otherClient = new AmsClient({ baseUrl: sandbox.url, credentials: { clientId: other.clientId, privateKey: other.privateKey, alipayPublicKey: sandbox.sandbox.publicKeyPem() } });

  sandbox.sandbox.clock.set(new Date('2026-11-26T16:30:00Z')); // 00:30 UTC+8 on DAY
  const pay = async (currency: string, value: string, major: string, extra: Parameters<typeof payInput>[0] = {}) => {
    const input = payInput({ amount: { currency, value }, ...extra });
    const result = await client.pay(input);
    if (result.outcome === 'S') expected.set(input.paymentRequestId, { type: 'PAYMENT', currency, major });
    return { input, paymentId: result.body?.paymentId ?? '' };
  };
  const refund = async (paymentId: string, currency: string, value: string, major: string) => {
    const refundRequestId = requestId('RF');
    await client.refund({ refundRequestId, paymentId, refundAmount: { currency, value }, referenceRefundId: `REF-${refundRequestId}` });
    expected.set(refundRequestId, { type: 'REFUND', currency, major });
  };

  const hkd = await pay('HKD', '1250', '12.50', { orderDescription: 'Latte, "large"' });
  await refund(hkd.paymentId, 'HKD', '250', '-2.50');
  const cancelled = await pay('HKD', '999', '9.99');
  await client.cancel({ paymentId: cancelled.paymentId });
  expected.set(`${cancelled.input.paymentRequestId}#CANCEL`, { type: 'CANCEL', currency: 'HKD', major: '-9.99' });
  const jpy = await pay('JPY', '1000', '1000');
  await refund(jpy.paymentId, 'JPY', '1', '-1');
  await pay('KRW', '50000', '50000');
  await pay('HKD', '500', '', { scenario: '85' }); // failed: no row
  await pay('HKD', '500', '', { scenario: '82' }); // processing: no row
  await otherClient.pay(payInput({ amount: { currency: 'HKD', value: '700' } }));

  sandbox.sandbox.clock.set(new Date('2026-11-27T16:30:00Z')); // the next day, UTC+8
  await client.pay(payInput({ amount: { currency: 'HKD', value: '4242' } }));
});

afterAll(async () => {
  client.close();
  otherClient.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A CSV line into fields, honouring quotes. */
function fields(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quoted && ch === '"' && line[i + 1] === '"') {
      current += '"';
      i += 1;
    } else if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  return [...out, current];
}

function readCsv(file: string): { lines: string[]; rows: Array<Record<string, string>> } {
  const lines = readFileSync(file, 'utf8').split('\n');
  expect(lines.at(-1)).toBe('');
  lines.pop();
  const header = fields(lines[0]);
  const rows = lines.slice(1, -1).map((line) => Object.fromEntries(fields(line).map((value, i) => [header[i], value])));
  return { lines, rows };
}

const writeReports = (date: string) => requestReports(sandbox.url, date);

describe('POST /sandbox/reports', () => {
  let listing: ReportListing;

  beforeAll(async () => {
    const answer = await writeReports(DAY);
    expect(answer.status).toBe(200);
    listing = answer.body;
  });

  it('writes the transaction file and one settlement batch per currency under <dir>/<customerId>/<yyyymmdd>/', () => {
    const names = listing.files.filter((f) => f.customerId === CUSTOMER).map((f) => path.relative(dir, f.path)).sort();
    expect(names).toEqual([
      `${CUSTOMER}/20261127/settlementItems_HKD_20261127HKD001_000.csv`,
      `${CUSTOMER}/20261127/settlementItems_JPY_20261127JPY001_000.csv`,
      `${CUSTOMER}/20261127/settlementItems_KRW_20261127KRW001_000.csv`,
      `${CUSTOMER}/20261127/settlementSummary_HKD_20261127HKD001_000.csv`,
      `${CUSTOMER}/20261127/settlementSummary_JPY_20261127JPY001_000.csv`,
      `${CUSTOMER}/20261127/settlementSummary_KRW_20261127KRW001_000.csv`,
      `${CUSTOMER}/20261127/transactionItems_20261127_000.csv`,
    ]);
    for (const file of listing.files) expect(existsSync(file.path)).toBe(true);
    expect(listing.files.filter((f) => f.customerId === 'OTHER_CUSTOMER').map((f) => f.kind).sort()).toEqual(['settlementItems', 'settlementSummary', 'transactionItems']);
  });

  it('lists exactly what the sandbox processed that day, in major units, with CANCEL rows and the <END> trailer', () => {
    const file = listing.files.find((f) => f.customerId === CUSTOMER && f.kind === 'transactionItems')!;
    const { lines, rows } = readCsv(file.path);
    expect(lines.at(-1)).toBe('<END>');
    expect(lines[0].split(',').slice(0, 6)).toEqual(['customerId', 'acquirer', 'acquirerReferenceNo', 'referenceMerchantId', 'referenceStoreId', 'transactionType']);
    const seen = new Map(
      rows.map((row) => [row.transactionType === 'CANCEL' ? `${row.transactionRequestId}#CANCEL` : row.transactionRequestId, { type: row.transactionType, currency: row.transactionCurrency, major: row.transactionAmountValue }]),
    );
    expect(seen).toEqual(expected);
    expect(file.rows).toBe(expected.size);
    expect(rows.every((row) => row.customerId === CUSTOMER && row.productCode === 'IN_STORE_PAYMENT' && row.paymentTime.startsWith('2026-11-27T'))).toBe(true);
    expect(rows.find((row) => row.transactionAmountValue === '12.50')?.orderDescription).toBe('Latte, "large"');
    const refundRow = rows.find((row) => row.transactionType === 'REFUND' && row.transactionCurrency === 'HKD')!;
    expect(refundRow.originalTransactionId).toMatch(/I\d{10}$/);
    expect(refundRow.referenceTransactionId).toBe(`REF-${refundRow.transactionRequestId}`);
  });

  it.each([
    ['HKD', 2, '-0.20'],
    ['JPY', 1, '-20'],
    ['KRW', 1, '-10'],
  ])('%s: settlement rows sum to the summary TOTAL; fees are 10 minor units per payment and refund, returned on cancel', (currency, paymentRows, fee) => {
    const items = readCsv(listing.files.find((f) => f.customerId === CUSTOMER && f.kind === 'settlementItems' && f.currency === currency)!.path).rows;
    const summary = readCsv(listing.files.find((f) => f.customerId === CUSTOMER && f.kind === 'settlementSummary' && f.currency === currency)!.path).rows;
    const sum = (rows: Array<Record<string, string>>, column: string) => rows.reduce((acc, row) => acc + fromMajorUnits(row[column], currency), 0n);
    const total = summary.find((row) => row.summaryType === 'TOTAL')!;

    expect(items.every((row) => fromMajorUnits(row.settlementAmountValue, currency) === fromMajorUnits(row.transactionAmountValue, currency) + fromMajorUnits(row.feeAmountValue, currency))).toBe(true);
    expect(fromMajorUnits(total.settlementAmountValue, currency)).toBe(sum(items, 'settlementAmountValue'));
    expect(total.feeAmountValue).toBe(fee);
    expect(total.count).toBe(String(items.length));
    expect(summary.filter((row) => row.summaryType !== 'TOTAL').reduce((acc, row) => acc + Number(row.count), 0)).toBe(items.length);
    expect(items.filter((row) => row.transactionType === 'PAYMENT')).toHaveLength(paymentRows);
    expect(new Set(items.map((row) => row.settlementBatchId))).toEqual(new Set([`20261127${currency}001`]));
  });

  it('writes amounts with the currency exponent: two decimals for HKD, none for JPY and KRW', () => {
    const amounts = (currency: string) => readCsv(listing.files.find((f) => f.customerId === CUSTOMER && f.kind === 'settlementItems' && f.currency === currency)!.path).rows.map((r) => r.settlementAmountValue);
    expect(amounts('HKD').sort()).toEqual(['-2.60', '-9.89', '12.40', '9.89'].sort());
    expect(amounts('JPY').sort()).toEqual(['-11', '990'].sort());
    expect(amounts('KRW')).toEqual(['49990']);
  });

  it('refuses a day the sandbox clock has not closed (Alipay writes day T’s files on T+1), and writes nothing of it', async () => {
    sandbox.sandbox.clock.set(new Date('2026-11-28T15:59:00Z')); // 23:59 UTC+8 on the 28th
    const open = await writeReports('2026-11-28');
    expect(open.status).toBe(409);
    expect(open.body).toMatchObject({ error: { code: 'SANDBOX.REPORT_DAY_NOT_CLOSED', message: expect.stringContaining('2026-11-29T00:00:00+08:00') } });
    expect(Number(open.retryAfter)).toBeGreaterThan(50); // the minute left, as the clock runs on
    expect(Number(open.retryAfter)).toBeLessThanOrEqual(60);
    expect((await writeReports('2026-12-25')).status).toBe(409);
    expect(existsSync(path.join(dir, CUSTOMER, '20261128'))).toBe(false);
  });

  it('the next day holds only the next day’s payment; a quiet day still gets an empty transaction file', async () => {
    sandbox.sandbox.clock.set(new Date('2026-11-28T16:00:00Z')); // 00:00 UTC+8 on the 29th: the 28th has closed
    const next = await writeReports('2026-11-28');
    const own = next.body.files.filter((f) => f.customerId === CUSTOMER);
    const transactions = readCsv(own.find((f) => f.kind === 'transactionItems')!.path).rows;
    expect(transactions.map((r) => [r.transactionType, r.transactionAmountValue])).toEqual([['PAYMENT', '42.42']]);

    const quiet = await writeReports('2026-01-01');
    const quietFile = quiet.body.files.find((f) => f.customerId === CUSTOMER && f.kind === 'transactionItems')!;
    expect(readCsv(quietFile.path).lines.slice(1)).toEqual(['<END>']);
    expect(quiet.body.files.some((f) => f.kind !== 'transactionItems')).toBe(false);
  });

  it('answers requests for the same day that arrive together, each with the day’s whole files', async () => {
    const answers = await Promise.all([writeReports(DAY), writeReports(DAY), writeReports(DAY)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    for (const answer of answers) expect(answer.body.files.map((f) => f.path).sort()).toEqual(listing.files.map((f) => f.path).sort());
    for (const file of listing.files) {
      const content = readFileSync(file.path, 'utf8');
      expect([content.endsWith('\n<END>\n'), content.split('<END>').length]).toEqual([true, 2]);
    }
    expect(readdirSync(path.join(dir, CUSTOMER, '20261127')).filter((name) => !name.endsWith('.csv'))).toEqual([]);
    const transactions = answers[0].body.files.find((f) => f.customerId === CUSTOMER && f.kind === 'transactionItems')!;
    expect(readCsv(transactions.path).rows).toHaveLength(expected.size);
  });

  it('refuses a date that is not a calendar day', async () => {
    expect((await writeReports('2026-02-30')).status).toBe(400);
    expect((await writeReports('27/11/2026')).status).toBe(400);
  });
});

describe('POST /sandbox/reports of a day larger than SANDBOX_REPORT_MAX_ROWS', () => {
  let small: InProcessSandbox;
  let smallDir: string;
  let smallClient: AmsClient;
  const paid: string[] = [];

  beforeAll(async () => {
    smallDir = mkdtempSync(path.join(tmpdir(), 'sandbox-split-reports-'));
    small = await startInProcessSandbox({ SANDBOX_REPORT_DIR: smallDir, SANDBOX_CUSTOMER_ID: CUSTOMER, SANDBOX_REPORT_MAX_ROWS: '2' });
    smallClient = await connect(small.url, newMerchant('SANDBOX_SPLIT_REPORTS'));
    small.sandbox.clock.set(new Date('2026-11-26T16:30:00Z'));
    for (const value of ['100', '200', '300', '400', '500']) {
      const input = payInput({ amount: { currency: 'HKD', value } });
      expect((await smallClient.pay(input)).outcome).toBe('S');
      paid.push(input.paymentRequestId);
    }
    small.sandbox.clock.set(new Date('2026-11-27T16:30:00Z')); // the next day: DAY has closed
  });

  afterAll(async () => {
    smallClient.close();
    await small.close();
    rmSync(smallDir, { recursive: true, force: true });
  });

  it('writes the transaction file and the batch items file as _000, _001, _002, each whole, and one summary counting all', async () => {
    const { status, body } = await requestReports(small.url, DAY);
    expect(status).toBe(200);
    const own = body.files.filter((f) => f.customerId === CUSTOMER);
    expect(own.map((f) => [path.basename(f.path), f.seq, f.rows])).toEqual([
      ['transactionItems_20261127_000.csv', '000', 2],
      ['transactionItems_20261127_001.csv', '001', 2],
      ['transactionItems_20261127_002.csv', '002', 1],
      ['settlementItems_HKD_20261127HKD001_000.csv', '000', 2],
      ['settlementItems_HKD_20261127HKD001_001.csv', '001', 2],
      ['settlementItems_HKD_20261127HKD001_002.csv', '002', 1],
      ['settlementSummary_HKD_20261127HKD001_000.csv', '000', 2],
    ]);
    const requestIds = (kind: string) => own.filter((f) => f.kind === kind).flatMap((f) => readCsv(f.path).rows.map((row) => row.transactionRequestId));
    expect(requestIds('transactionItems')).toEqual(paid);
    expect(requestIds('settlementItems')).toEqual(paid);
    const total = readCsv(own.find((f) => f.kind === 'settlementSummary')!.path).rows.find((row) => row.summaryType === 'TOTAL')!;
    expect([total.count, total.settlementAmountValue]).toEqual(['5', '14.50']);
  });
});
