import { DEFAULT_SANDBOX_FEES, SandboxFees } from './fees';
import { REPORT_MAX_ROWS_PER_FILE } from './reports';

/** How a sandbox instance behaves; the app maps its environment variables onto this. */
export interface SandboxSettings {
  /** added to every AMS answer */
  latencyMs: number;
  /** divides every simulated delay: PIN entry, hangs, notification retries (≥ 1) */
  timeFactor: number;
  /** how long scenarios 83/84 hold the pay answer, before the time factor */
  hangMs: number;
  /** how long the user takes to enter the PIN in scenarios 80, 81 and 90, before the time factor */
  pinDelayMs: number;
  /** where POST /sandbox/reports writes */
  reportDir: string;
  /** data rows in one report file before the report is split into `_000`, `_001`… (spec §13.1) */
  reportMaxRows: number;
  /**
   * whether POST /sandbox/reports also writes a day the sandbox clock has not closed yet (a partial file), as
   * the endpoint's contract (CONTRACTS.md §2: "writes that day's report files") promises its callers. Alipay
   * writes day T's files on T+1 (spec §13.1): off, the endpoint refuses an open day as Alipay would.
   */
  reportOpenDays: boolean;
  /**
   * whether the sandbox writes each day's report files by itself, once its clock passes the day's close plus
   * `reportDeliveryDelayMs`, as Alipay does on T+1 (spec §13.1). Off: files are written on request only.
   */
  reportDelivery: boolean;
  /** how long after a day's 24:00 UTC+8 close its files are delivered (on the sandbox clock) */
  reportDeliveryDelayMs: number;
  /** the sandbox's own private key (PEM or Base64 DER); generated at start when absent */
  privateKey?: string;
  /** clients accepted from the start, each with a public key given as PEM, Base64 DER or a path to a PEM file */
  clients: PreconfiguredClient[];
  /** the Antom customer id of clients that are registered without one (names the report folders) */
  customerId: string;
  /** whether FAIL results are notified too (sources disagree; spec §9) */
  notifyFailures: boolean;
  /** deadline of one notification delivery attempt */
  notifyTimeoutMs: number;
  /**
   * a payment code pays once: a code an earlier recorded payment took answers F EXPIRED_CODE, as a wallet's
   * one-time codes do (spec §4.4, §4.5, §10.4, §11.1, §15.5). Off by default: CONTRACTS.md §2 picks a behaviour
   * from a code's last two digits alone, so a client may pay with one scenario code again and again.
   */
  singleUseCodes: boolean;
  /** days after payment within which refunds are accepted */
  refundWindowDays: number;
  /**
   * the currencies the merchant contract settles in (fx.ts's); a pay's settlementStrategy picks one, and must
   * when there are several (spec §3.6, §12). Empty: each transaction settles in its own currency.
   */
  settlementCurrencies: string[];
  /**
   * Alipay's fee per payment and refund, shown in the settlement files (fees.ts): Antom's sandbox's fixed 10 minor
   * units by default (spec §13.1); a rate of the gross and a fixed part per currency on request.
   */
  fees: SandboxFees;
}

export interface PreconfiguredClient {
  clientId: string;
  publicKey: string;
}

export const DEFAULT_SANDBOX_SETTINGS: SandboxSettings = {
  latencyMs: 0,
  timeFactor: 1,
  hangMs: 30_000,
  pinDelayMs: 6_000,
  reportDir: 'deploy/local/.state/sandbox-reports',
  reportMaxRows: REPORT_MAX_ROWS_PER_FILE,
  reportOpenDays: true,
  reportDelivery: false,
  reportDeliveryDelayMs: 0,
  clients: [],
  customerId: '1022188000000000001',
  notifyFailures: true,
  notifyTimeoutMs: 5_000,
  singleUseCodes: false,
  refundWindowDays: 365,
  settlementCurrencies: [],
  fees: DEFAULT_SANDBOX_FEES,
};

/** A simulated delay shortened by the time factor. */
export function scaled(settings: Pick<SandboxSettings, 'timeFactor'>, ms: number): number {
  return Math.round(ms / Math.max(1, settings.timeFactor));
}
