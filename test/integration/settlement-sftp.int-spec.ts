import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createEnvelope, PaymentEventType, PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { buildDayReports, LedgerEntry, writeReports } from '@upm/sandbox';
import { LedgerStore, PaymentEventsHandler, ReportIngestion, SETTLEMENT_DATABASE, SftpReportSource } from '@upm/settlement';
import { eventually, freshDatabase, testLogger } from '@upm/shared-testing';

/**
 * Report files over SFTP: a real OpenSSH server on loopback (deploy/local/sftp-test-server.sh) serves files the
 * sandbox's own report writer produced; the settlement ingestion fetches them over SFTP into a real PostgreSQL
 * ledger. KRW (no decimals) and USD (two) both convert exactly.
 */
jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../..');
const CUSTOMER = '1022188000000000777';
const DAY = '2026-11-27';
const MERCHANT = 'mer_SFTP01';

let sshd: ChildProcess | undefined;
let work: string;
let served: string;
let port: number;
let dataSource: DataSource;
let clientKey: string;
let fingerprint: string;
let sshdLog = '';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
  });
}

const listening = (p: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: p });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

function view(paymentId: string, amount: { currency: string; value: string }, status: PaymentViewV1['status'], sequence: number, refunded = '0'): PaymentViewV1 {
  return {
    paymentId, merchantOrderId: `ORD-${paymentId}`, merchantId: MERCHANT, storeId: 'sto_SFTP01', terminalId: 'ter_SFTP01', amount, status, sequence,
    alipay: { paymentRequestId: paymentId, paymentId: `A-${paymentId}`, paymentTime: `${DAY}T12:00:00+08:00` },
    refundedAmount: { currency: amount.currency, value: refunded }, createdAt: `${DAY}T04:00:00.000Z`, updatedAt: `${DAY}T04:00:01.000Z`,
  };
}

async function apply(handler: PaymentEventsHandler, type: PaymentEventType, data: { payment: PaymentViewV1; refund?: RefundViewV1 }): Promise<void> {
  await dataSource.transaction((manager) => handler.apply(manager, createEnvelope({ type, key: data.payment.paymentId, data, producer: 'test' })));
}

const entry = (over: Partial<LedgerEntry> & Pick<LedgerEntry, 'type' | 'amount' | 'transactionId' | 'transactionRequestId'>): LedgerEntry => ({
  customerId: CUSTOMER, at: new Date(`${DAY}T04:00:00.000Z`), originalTransactionId: '', originalTransactionRequestId: '', referenceTransactionId: 'ORD',
  referenceMerchantId: MERCHANT, referenceStoreId: 'sto_SFTP01', orderDescription: 'tea', ...over,
});

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'settle-sftp-'));
  served = path.join(work, 'served');
  port = await freePort();
  sshd = spawn('bash', [path.join(ROOT, 'deploy/local/sftp-test-server.sh'), path.join(work, 'state'), String(port), served], { stdio: ['ignore', 'pipe', 'pipe'] });
  sshd.stdout?.on('data', (c: Buffer) => (sshdLog += c.toString()));
  sshd.stderr?.on('data', (c: Buffer) => (sshdLog += c.toString()));
  // the first run on a new machine installs openssh-server first
  await eventually(async () => {
    if (sshd?.exitCode !== null) throw new Error(`sshd exited: ${sshdLog}`);
    return (await listening(port)) ? true : undefined;
  }, 200_000, 200);
  clientKey = await readFile(path.join(work, 'state/client_key'), 'utf8');
  fingerprint = (await readFile(path.join(work, 'state/host_key.sha256'), 'utf8')).trim();
  ({ dataSource } = await freshDatabase('upm_test_settle_sftp', SETTLEMENT_DATABASE));
});

afterAll(async () => {
  sshd?.kill('SIGTERM');
  await dataSource?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('settlement over SFTP', () => {
  const options = () => ({ host: '127.0.0.1', port, username: userInfo().username, privateKey: clientKey, remoteDir: path.join(served, 'v1/settlements'), hostKeySha256: fingerprint });

  it('fetches the day’s files from a real SFTP server, matches and posts them, and ignores them the second time', async () => {
    const ledger = new LedgerStore('settlement');
    const handler = new PaymentEventsHandler(ledger, 10n);
    const won = view('pay_SFTP_KRW', { currency: 'KRW', value: '15000' }, 'SUCCEEDED', 2);
    const usd = view('pay_SFTP_USD', { currency: 'USD', value: '1999' }, 'SUCCEEDED', 2);
    await apply(handler, 'PaymentSucceeded', { payment: won });
    await apply(handler, 'PaymentSucceeded', { payment: usd });
    const refund: RefundViewV1 = {
      paymentId: usd.paymentId, refundId: 'ref_SFTP_USD', refundRequestId: 'R-1', amount: { currency: 'USD', value: '499' }, status: 'SUCCEEDED',
      alipayRefundId: 'A-ref_SFTP_USD', refundTime: `${DAY}T13:00:00+08:00`, origin: 'MERCHANT',
    };
    await apply(handler, 'RefundSucceeded', { payment: { ...usd, sequence: 4, refundedAmount: { currency: 'USD', value: '499' } }, refund });

    // the files exactly as the sandbox writes them, under Alipay's folder layout
    const files = buildDayReports([
      entry({ type: 'PAYMENT', amount: won.amount, transactionId: 'A-pay_SFTP_KRW', transactionRequestId: won.paymentId }),
      entry({ type: 'PAYMENT', amount: usd.amount, transactionId: 'A-pay_SFTP_USD', transactionRequestId: usd.paymentId }),
      entry({ type: 'REFUND', amount: refund.amount, transactionId: 'A-ref_SFTP_USD', transactionRequestId: refund.refundId, originalTransactionId: 'A-pay_SFTP_USD', originalTransactionRequestId: usd.paymentId, at: new Date(`${DAY}T05:00:00.000Z`) }),
    ], DAY, [CUSTOMER]);
    expect(files.find((f) => f.kind === 'transactionItems')!.content).toContain('15000,KRW');
    expect(files.find((f) => f.kind === 'transactionItems')!.content).toContain('-4.99,USD');
    await writeReports(path.join(served, 'v1/settlements'), files);

    const ingestion = new ReportIngestion(dataSource, ledger, [new SftpReportSource(options())], 10n, 'settlement', testLogger());
    const results = await ingestion.ingest();
    expect(results.map((r) => `${r.kind} ${r.status}`).sort()).toEqual(['settlementItems INGESTED', 'settlementItems INGESTED', 'transactionItems INGESTED']);
    expect(results.every((r) => r.source.startsWith('sftp://'))).toBe(true);

    const moves: Array<{ kind: string; status: string; reconciliation: string; currency: string; amount: string }> = await dataSource.query(
      "SELECT kind, status, reconciliation, currency, amount::text FROM ledger_transactions WHERE kind <> 'SETTLEMENT' ORDER BY kind, currency",
    );
    expect(moves).toEqual([
      { kind: 'PAYMENT', status: 'POSTED', reconciliation: 'MATCHED', currency: 'KRW', amount: '15000' },
      { kind: 'PAYMENT', status: 'POSTED', reconciliation: 'MATCHED', currency: 'USD', amount: '1999' },
      { kind: 'REFUND', status: 'POSTED', reconciliation: 'MATCHED', currency: 'USD', amount: '499' },
    ]);
    const batches: Array<{ batch_id: string; gross: string; fees: string; net: string; status: string }> = await dataSource.query(
      'SELECT batch_id, gross::text, fees::text, net::text, status FROM settlement_batches ORDER BY batch_id',
    );
    expect(batches).toEqual([
      { batch_id: '20261127KRW001', gross: '15000', fees: '-10', net: '14990', status: 'RECONCILED' },
      { batch_id: '20261127USD001', gross: '1500', fees: '-20', net: '1480', status: 'RECONCILED' },
    ]);
    const receivable: Array<{ currency: string; balance: string }> = await dataSource.query(
      `SELECT currency, SUM(CASE direction WHEN 'DEBIT' THEN amount ELSE -amount END)::text AS balance FROM ledger_entries
       WHERE account_type = 'ALIPAY_RECEIVABLE' GROUP BY currency ORDER BY currency`,
    );
    expect(receivable).toEqual([{ currency: 'KRW', balance: '0' }, { currency: 'USD', balance: '0' }]);
    const unbalanced = await dataSource.query(
      "SELECT currency FROM ledger_entries GROUP BY currency HAVING SUM(CASE direction WHEN 'DEBIT' THEN amount ELSE -amount END) <> 0",
    );
    expect(unbalanced).toEqual([]);
    const [{ count: outboxBefore }] = await dataSource.query('SELECT count(*)::int AS count FROM outbox');

    const again = await ingestion.ingest();
    expect(again.map((r) => r.status)).toEqual(['DUPLICATE', 'DUPLICATE', 'DUPLICATE']);
    const [{ count: outboxAfter }] = await dataSource.query('SELECT count(*)::int AS count FROM outbox');
    expect(outboxAfter).toBe(outboxBefore);
  });

  it('refuses a server whose host key is not the one configured', async () => {
    const source = new SftpReportSource({ ...options(), hostKeySha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    const ingestion = new ReportIngestion(dataSource, new LedgerStore('settlement'), [source], 10n, 'settlement', testLogger());
    // nothing is fetched from it: the look answers that the source failed, and why
    expect(await ingestion.ingest()).toEqual([{ path: '', source: source.name, kind: 'source', status: 'FAILED', reason: expect.stringMatching(/verification failed/) }]);
  });
});
