import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AmsClient } from '@upm/alipay';
import { REPORT_DELIVERY_CHECK_MS, REPORT_DELIVERY_MARKER } from '@upm/sandbox';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { postJson, requestReports } from './testing/http';
import { connect, newMerchant, payInput } from './testing/merchant';

const CUSTOMER = '1022188000000007777';
const DELAY_MS = 30 * 60_000;
const DELIVERY = { SANDBOX_REPORT_DELIVERY: 'true', SANDBOX_REPORT_DELIVERY_DELAY_MS: String(DELAY_MS), SANDBOX_CUSTOMER_ID: CUSTOMER };
let dir: string;
let sandbox: InProcessSandbox;
let client: AmsClient;

const dayFolder = (yyyymmdd: string) => path.join(dir, CUSTOMER, yyyymmdd);
const transactionFile = (yyyymmdd: string) => path.join(dayFolder(yyyymmdd), `transactionItems_${yyyymmdd}_000.csv`);
const marker = () => JSON.parse(readFileSync(path.join(dir, REPORT_DELIVERY_MARKER), 'utf8')) as { deliveredThrough: string };
const folderContents = (yyyymmdd: string) => Object.fromEntries(readdirSync(dayFolder(yyyymmdd)).sort().map((name) => [name, readFileSync(path.join(dayFolder(yyyymmdd), name), 'utf8')]));

async function eventually(check: () => boolean, withinMs = 5 * REPORT_DELIVERY_CHECK_MS): Promise<void> {
  const until = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandbox-delivery-'));
  sandbox = await startInProcessSandbox({ ...DELIVERY, SANDBOX_REPORT_DIR: dir });
  client = await connect(sandbox.url, newMerchant('SANDBOX_DELIVERY'));
  sandbox.sandbox.clock.set(new Date('2026-11-26T16:30:00Z')); // 00:30 UTC+8 on the 27th
  expect((await client.pay(payInput({ amount: { currency: 'HKD', value: '1250' } }))).outcome).toBe('S');
});

afterAll(async () => {
  client.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SANDBOX_REPORT_DELIVERY: the day’s files written by the sandbox itself on T+1', () => {
  it('writes nothing of a day before its close plus SANDBOX_REPORT_DELIVERY_DELAY_MS', async () => {
    sandbox.sandbox.clock.set(new Date('2026-11-27T16:29:00Z')); // 00:29 UTC+8 on the 28th: closed, but not yet delivered
    expect(await sandbox.sandbox.deliverDueReports()).toEqual([]);
    expect(existsSync(dayFolder('20261127'))).toBe(false);
    expect(existsSync(path.join(dir, REPORT_DELIVERY_MARKER))).toBe(false);
  });

  it('writes the day once the clock passes it, without being asked: the files POST /sandbox/reports writes', async () => {
    expect((await postJson(`${sandbox.url}/sandbox/clock`, { now: '2026-11-27T16:30:00Z' })).status).toBe(200);
    await eventually(() => existsSync(path.join(dir, REPORT_DELIVERY_MARKER)));
    const delivered = folderContents('20261127');
    expect(Object.keys(delivered)).toEqual(['settlementItems_HKD_20261127HKD001_000.csv', 'settlementSummary_HKD_20261127HKD001_000.csv', 'transactionItems_20261127_000.csv']);
    expect(delivered['transactionItems_20261127_000.csv']).toContain(',PAYMENT,');
    expect(marker()).toEqual({ deliveredThrough: '2026-11-27' });

    const asked = await requestReports(sandbox.url, '2026-11-27');
    expect(asked.status).toBe(200);
    expect(asked.body.files.map((f) => path.basename(f.path)).sort()).toEqual(Object.keys(delivered));
    expect(folderContents('20261127')).toEqual(delivered);
  });

  it('delivers a day once: later days follow, a delivered one is not written again', async () => {
    writeFileSync(transactionFile('20261127'), 'kept\n');
    sandbox.sandbox.clock.set(new Date('2026-11-28T16:45:00Z')); // the 28th has closed, quiet
    await sandbox.sandbox.deliverDueReports();
    expect(readFileSync(transactionFile('20261128'), 'utf8').split('\n').slice(1)).toEqual(['<END>', '']);
    expect(readFileSync(transactionFile('20261127'), 'utf8')).toBe('kept\n');
    expect(marker()).toEqual({ deliveredThrough: '2026-11-28' });
  });

  it('after a restart, delivers the days that closed while it was down and none it had delivered', async () => {
    writeFileSync(transactionFile('20261128'), 'kept\n');
    client.close();
    await sandbox.close();
    sandbox = await startInProcessSandbox({ ...DELIVERY, SANDBOX_REPORT_DIR: dir });
    client = await connect(sandbox.url, newMerchant('SANDBOX_DELIVERY'));
    sandbox.sandbox.clock.set(new Date('2026-11-30T17:00:00Z')); // 01:00 UTC+8 on 1 December

    await sandbox.sandbox.deliverDueReports();
    expect(existsSync(transactionFile('20261129'))).toBe(true);
    expect(existsSync(transactionFile('20261130'))).toBe(true);
    expect(readFileSync(transactionFile('20261127'), 'utf8')).toBe('kept\n');
    expect(readFileSync(transactionFile('20261128'), 'utf8')).toBe('kept\n');
    expect(marker()).toEqual({ deliveredThrough: '2026-11-30' });
  });
});

describe('a crash between writing a day’s files and recording their delivery', () => {
  it('keeps the day’s files when the restarted sandbox, its memory empty, delivers that day again', async () => {
    const crashDir = mkdtempSync(path.join(tmpdir(), 'sandbox-delivery-crash-'));
    const env = { ...DELIVERY, SANDBOX_REPORT_DIR: crashDir };
    const files = (yyyymmdd: string) => {
      const folder = path.join(crashDir, CUSTOMER, yyyymmdd);
      return Object.fromEntries(readdirSync(folder).sort().map((name) => [name, readFileSync(path.join(folder, name), 'utf8')]));
    };
    let crashed = await startInProcessSandbox(env);
    const merchant = newMerchant('SANDBOX_DELIVERY_CRASH');
    let payer = await connect(crashed.url, merchant);
    try {
      crashed.sandbox.clock.set(new Date('2026-11-26T16:30:00Z')); // 00:30 UTC+8 on the 27th
      expect((await payer.pay(payInput({ amount: { currency: 'HKD', value: '1250' } }))).outcome).toBe('S');
      crashed.sandbox.clock.set(new Date('2026-11-27T16:30:00Z')); // the 27th is due
      await crashed.sandbox.deliverDueReports();
      const delivered = files('20261127');
      expect(delivered['transactionItems_20261127_000.csv']).toContain(',PAYMENT,');
      // what the folder holds when the process dies after the files and before the marker: the day not marked
      writeFileSync(path.join(crashDir, REPORT_DELIVERY_MARKER), `${JSON.stringify({ deliveredThrough: '2026-11-26' })}\n`);
      payer.close();
      await crashed.close();

      crashed = await startInProcessSandbox(env);
      payer = await connect(crashed.url, merchant);
      crashed.sandbox.clock.set(new Date('2026-11-27T16:45:00Z'));
      const listings = await crashed.sandbox.deliverDueReports();

      expect(files('20261127')).toEqual(delivered);
      expect(listings.map((l) => l.date)).toEqual(['2026-11-27']);
      expect(listings[0].files.map((f) => [path.basename(f.path), f.rows]).sort()).toEqual([
        ['settlementItems_HKD_20261127HKD001_000.csv', 1],
        ['settlementSummary_HKD_20261127HKD001_000.csv', 2],
        ['transactionItems_20261127_000.csv', 1],
      ]);
      expect(JSON.parse(readFileSync(path.join(crashDir, REPORT_DELIVERY_MARKER), 'utf8'))).toEqual({ deliveredThrough: '2026-11-27' });
    } finally {
      payer.close();
      await crashed.close();
      rmSync(crashDir, { recursive: true, force: true });
    }
  });
});

describe('without SANDBOX_REPORT_DELIVERY', () => {
  it('writes report files on request only', async () => {
    const quietDir = mkdtempSync(path.join(tmpdir(), 'sandbox-no-delivery-'));
    const quiet = await startInProcessSandbox({ SANDBOX_REPORT_DIR: quietDir, SANDBOX_CUSTOMER_ID: CUSTOMER });
    try {
      quiet.sandbox.clock.set(new Date('2026-11-28T16:00:00Z'));
      await new Promise((resolve) => setTimeout(resolve, 2 * REPORT_DELIVERY_CHECK_MS));
      expect(readdirSync(quietDir)).toEqual([]);
    } finally {
      await quiet.close();
      rmSync(quietDir, { recursive: true, force: true });
    }
  });
});
