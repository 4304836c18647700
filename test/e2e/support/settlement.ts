import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, type RunningService } from '@upm/shared-testing';
import { ADMIN_TOKEN, Platform, startPlatform } from './platform';
import type { PosClient } from './pos-client';

export interface Txn {
  ledgerTransactionId: string;
  kind: string;
  status: string;
  merchantId: string;
  paymentId: string | null;
  refundId: string | null;
  amount: { currency: string; value: string };
  reconciliation: string | null;
  businessDay: string;
  settlementBatchId: string | null;
  fee?: { currency: string; value: string };
  entries?: Array<{ account: string; direction: string; amount: string }>;
}
export interface Balances {
  accounts: Array<{ account: string; type: string; merchantId: string; currency: string; debits: string; credits: string; balance: string }>;
  totals: Array<{ currency: string; debits: string; credits: string; balanced: boolean }>;
}
export interface IngestAnswer {
  files: Array<{ path: string; kind: string; status: string; reason?: string; batchId?: string }>;
}
export interface SandboxReport {
  files: Array<{ path: string; customerId: string; kind: string; currency?: string; batchId?: string; rows: number }>;
}

export const balanceOf = (b: Balances, account: string) => BigInt(b.accounts.find((a) => a.account === account)?.balance ?? '0');

/**
 * A settlement suite: the whole platform with the settlement service reading report files from a folder,
 * the sandbox writing them to another, and the steps the suites take between the two. Registers the
 * suite's beforeAll and afterAll (in the describe block it is called from, if any); `platform` and
 * `settlement` are there once beforeAll has run. `sandboxEnv` and `settlementEnv` add to each one's settings.
 */
export function settlementSuite(suite: string, basePort: number, sandboxEnv: Record<string, string> = {}, settlementEnv: Record<string, string> = {}) {
  let sandboxDir = '';
  let inbox = '';
  const running = {} as { platform: Platform; settlement: RunningService };

  beforeAll(async () => {
    sandboxDir = await mkdtemp(path.join(tmpdir(), `${suite}-sandbox-`));
    inbox = await mkdtemp(path.join(tmpdir(), `${suite}-inbox-`));
    running.platform = await startPlatform(suite, basePort, {
      // the suites read the files of the day they are paying on, which Alipay (and the sandbox by default) would not write before it closes
      'alipay-sandbox': { SANDBOX_REPORT_DIR: sandboxDir, SANDBOX_REPORT_OPEN_DAYS: 'true', ...sandboxEnv },
      settlement: { SETTLEMENT_REPORT_DIR: inbox, SETTLEMENT_POLL_INTERVAL_MS: '0', ADMIN_TOKEN, ...settlementEnv },
    });
    running.settlement = await running.platform.start('settlement');
  });

  afterAll(async () => {
    await running.platform?.stop();
    await rm(sandboxDir, { recursive: true, force: true });
    await rm(inbox, { recursive: true, force: true });
  });

  /** One finance API call with the admin token; JSON answers parsed, others (CSV) left as text. */
  async function api<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T; text: string }> {
    const response = await fetch(`${running.settlement.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // CSV answers stay text
    }
    return { status: response.status, body: parsed as T, text };
  }

  /** Asks the sandbox for a day's files; answers where it wrote them. */
  async function sandboxReports(day: string): Promise<SandboxReport['files']> {
    const response = await fetch(`${running.platform.urls.sandbox}/sandbox/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ date: day }) });
    expect(response.status).toBeLessThan(300);
    return ((await response.json()) as SandboxReport).files;
  }

  /**
   * Hands a sandbox file to settlement's folder, optionally changed on the way (a seeded fault) and under
   * another name; answers its path there.
   */
  async function deliver(file: string, change?: (text: string) => string, name?: string): Promise<string> {
    const relative = path.join(path.dirname(path.relative(sandboxDir, file)), name ?? path.basename(file));
    const target = path.join(inbox, relative);
    await mkdir(path.dirname(target), { recursive: true });
    if (change) await writeFile(target, change(await readFile(file, 'utf8')), 'utf8');
    else await copyFile(file, target);
    return relative;
  }

  /** Takes a file back out of settlement's folder. */
  async function withdraw(relative: string): Promise<void> {
    await rm(path.join(inbox, relative));
  }

  async function ingest(): Promise<IngestAnswer['files']> {
    const answer = await api<IngestAnswer>('POST', '/v1/settlement/ingest');
    expect(answer.status).toBe(200);
    return answer.body.files;
  }

  async function transactions(query = ''): Promise<Txn[]> {
    return (await api<{ transactions: Txn[] }>('GET', `/v1/settlement/transactions${query}`)).body.transactions;
  }

  async function balances(query = ''): Promise<Balances> {
    return (await api<Balances>('GET', `/v1/settlement/balances${query}`)).body;
  }

  /** Waits until settlement has applied each payment's last event as the POS API shows it: the ledger follows payments.v1.events. */
  async function caughtUp(pos: PosClient, payments: ReadonlyArray<{ paymentId: string }>): Promise<void> {
    await eventually(async () => {
      for (const p of payments) {
        const latest = (await pos.get(p.paymentId)).body;
        const known = await api<{ sequence: number }>('GET', `/v1/settlement/payments/${p.paymentId}`);
        if (known.status !== 200 || known.body.sequence !== latest.sequence) return undefined;
      }
      return true;
    }, 30_000, 300);
  }

  return { running, api, sandboxReports, deliver, withdraw, ingest, transactions, balances, caughtUp };
}
