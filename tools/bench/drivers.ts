import { AmsClient, formatAmsTime } from '@upm/alipay';
import { errorCode, JsonAnswer, JsonHttp } from './http';
import type { PaymentDriver, PaymentRecord } from './load';

export const FINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'NEEDS_REVIEW']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** 24-digit Alipay+ code: issuer `281012`, `02`, 14 digits unique to the payment, the scenario's two digits. */
export function paymentCode(unique: number, scenario: string): string {
  return `28101202${String(unique % 1e14).padStart(14, '0')}${scenario}`;
}

export interface BenchTerminal {
  terminalId: string;
  storeId: string;
  merchantId: string;
  key: string;
}

/**
 * A cashier's POS against the POS API: create with `waitSeconds`, long-poll while PROCESSING, retry the
 * same request on 429/503/network errors (CONTRACTS §1) a few times, no sooner than Retry-After says, as a
 * real POS would.
 */
export function posDriver(gateway: JsonHttp, terminals: BenchTerminal[], codeBase: number, waitSeconds: number, deadlineMs: number): PaymentDriver {
  let unique = 0;
  return async (record: PaymentRecord, now: () => number) => {
    const terminal = terminals[record.terminal % terminals.length];
    const body = { merchantOrderId: record.merchantOrderId, amount: { currency: 'HKD', value: '1250' }, paymentCode: paymentCode(codeBase + unique++, record.scenario), description: 'bench', waitSeconds };
    let answer: JsonAnswer | undefined;
    for (let attempt = 0; attempt < 5 && !answer; attempt++) {
      let retryAfterS = 0;
      const sentAt = now();
      try {
        const a = await gateway.request('POST', '/v1/payments', { token: terminal.key, body, timeoutMs: (waitSeconds + 10) * 1000 });
        if (a.status === 200 || a.status === 201 || a.status === 202) {
          answer = a;
          record.acceptedAt = sentAt;
        } else {
          record.errors.push(errorCode(a));
          if (a.status !== 429 && a.status !== 503 && a.status < 500) return;
          retryAfterS = a.retryAfterS ?? 0;
        }
      } catch (error) {
        record.errors.push(errorCode(error as Error));
      }
      if (!answer) await sleep(Math.max(200 * (attempt + 1), retryAfterS * 1000));
    }
    if (!answer) return;
    record.paymentId = String(answer.body.paymentId);
    let status = String(answer.body.status);
    while (!FINAL_STATUSES.has(status) && now() - record.dueAt < deadlineMs) {
      try {
        const a = await gateway.request('GET', `/v1/payments/${record.paymentId}?waitSeconds=${waitSeconds}&ifStatus=PROCESSING`, { token: terminal.key, timeoutMs: (waitSeconds + 10) * 1000 });
        if (a.status === 200) status = String(a.body.status);
        else {
          record.errors.push(errorCode(a));
          await sleep(200);
        }
      } catch (error) {
        record.errors.push(errorCode(error as Error));
        await sleep(200);
      }
    }
    if (FINAL_STATUSES.has(status)) {
      record.status = status;
      record.finalAt = now();
    }
  };
}

export interface DirectTiming {
  firstInquiryDelayMs: number;
  inquiryIntervalMs: number;
  maxInquiries: number;
  cancelRetryDelaysMs: number[];
}

/**
 * What a POS calling Alipay directly would do: pay, and on U the same inquiry loop and cancel the
 * platform's saga runs (same timing), all in the POS.
 */
export function directDriver(client: AmsClient, terminals: BenchTerminal[], codeBase: number, timing: DirectTiming, runId: string): PaymentDriver {
  let unique = 0;
  return async (record: PaymentRecord, now: () => number) => {
    const terminal = terminals[record.terminal % terminals.length];
    const paymentRequestId = `${runId}-${record.merchantOrderId}`.slice(0, 64);
    record.paymentId = paymentRequestId;
    const end = (status: string) => {
      record.status = status;
      record.finalAt = now();
    };
    const pay = await client.pay({
      paymentRequestId,
      paymentCode: paymentCode(codeBase + unique++, record.scenario),
      amount: { currency: 'HKD', value: '1250' },
      referenceOrderId: record.merchantOrderId,
      orderDescription: 'bench',
      merchant: { referenceMerchantId: terminal.merchantId, merchantName: 'Bench Chain', merchantMCC: '5812', store: { referenceStoreId: terminal.storeId, storeName: 'Bench Store', storeMCC: '5812' } },
      env: { storeTerminalId: terminal.terminalId, storeTerminalRequestTime: formatAmsTime(new Date()) },
    });
    if (pay.outcome === 'S') return end('SUCCEEDED');
    if (pay.outcome === 'F') return end('FAILED');
    if (pay.problem) record.errors.push(`pay ${pay.problem}`);
    await sleep(timing.firstInquiryDelayMs);
    for (let i = 0; i < timing.maxInquiries; i++) {
      if (i > 0) await sleep(timing.inquiryIntervalMs);
      const inquiry = await client.inquiryPayment({ paymentRequestId });
      if (inquiry.outcome === 'S') {
        const status = inquiry.body?.paymentStatus;
        if (status === 'SUCCESS') return end('SUCCEEDED');
        if (status === 'FAIL') return end('FAILED');
        if (status === 'CANCELLED') return end('CANCELLED');
      } else if (inquiry.problem) record.errors.push(`inquiryPayment ${inquiry.problem}`);
    }
    for (const delay of [0, ...timing.cancelRetryDelaysMs]) {
      await sleep(delay);
      const cancel = await client.cancel({ paymentRequestId });
      if (cancel.outcome === 'S') return end('CANCELLED');
      // as the saga: Alipay has no record of a pay that timed out, so nothing was charged
      if (cancel.outcome === 'F' && cancel.resultCode === 'ORDER_NOT_EXIST') return end('FAILED');
      if (cancel.outcome === 'F') {
        record.errors.push(`cancel ${cancel.resultCode}`);
        return end('NEEDS_REVIEW');
      }
    }
    end('NEEDS_REVIEW');
  };
}
