import { generateKeyPairSync, KeyObject } from 'node:crypto';
import type { Money } from '@upm/contracts';
import { formatAmsTime, loadPrivateKey, publicKeyPem } from '@upm/alipay';
import type { Logger } from '@upm/shared-observability';
import { AmsEngine } from './ams-engine';
import { AmsGateway } from './ams-gateway';
import { ClientRegistration, ClientRegistry, readKeySource, SandboxClient } from './client-registry';
import { Notifier } from './notifier';
import { CallCounts, NotificationLog, PaymentBook, PaymentRecord, SandboxPaymentStatus } from './payment-book';
import { businessDay, businessDayBounds, nextDay } from './business-time';
import { dueDays, readDeliveryMarker, writeDeliveryMarker } from './report-delivery';
import { buildDayReports, readWrittenReports, recoverReportFolders, ReportFile, ReportKind, transactionRecords, writeReports, WrittenReport } from './reports';
import { SandboxClock } from './sandbox-clock';
import { scaled, SandboxSettings } from './sandbox-settings';
import { TimerSet } from './timer-set';

export interface SandboxDependencies {
  logger: Logger;
  /** observes every AMS answer: api and S/F/U/HTTP_<status> */
  onAnswer?: (api: string, outcome: string) => void;
  clock?: SandboxClock;
}

/** What `GET /sandbox/payments/{paymentRequestId}` shows. */
export interface PaymentView {
  clientId: string;
  paymentRequestId: string;
  status: SandboxPaymentStatus | 'NOT_RECORDED';
  calls: CallCounts;
  customerId?: string;
  paymentId?: string;
  scenario?: string;
  amount?: Money;
  refundedAmount?: Money;
  failure?: { code: string; message: string };
  reversedByCancel?: boolean;
  createdAt?: string;
  paidAt?: string;
  cancelledAt?: string;
  refunds?: Array<{ refundRequestId: string; refundId?: string; status: string; amount: Money; failure?: string; refundTime?: string }>;
  notifications?: NotificationLog[];
}

export interface ReportListing {
  date: string;
  files: Array<{ path: string; customerId: string; kind: ReportKind; currency?: string; batchId?: string; seq: string; rows: number }>;
}

/**
 * A report asked for a day that has not closed on the sandbox clock: Alipay writes day T's files on T+1, after
 * the day's 23:59:59 UTC+8 cut-off (spec §13.1), so a reader never sees part of a day as the whole of it.
 */
export class ReportDayNotClosedError extends Error {
  constructor(
    readonly day: string,
    readonly closesAt: Date,
    readonly now: Date,
  ) {
    super(`the report files of ${day} are written once that day has closed at ${formatAmsTime(closesAt)}; the sandbox clock is at ${formatAmsTime(now)}`);
    this.name = 'ReportDayNotClosedError';
  }
}

/** how often (real time) the sandbox looks whether its clock has passed a day's report delivery */
export const REPORT_DELIVERY_CHECK_MS = 1_000;

const NO_CALLS: CallCounts = { pay: 0, inquiryPayment: 0, cancel: 0, refund: 0, inquiryRefund: 0 };

/** One simulated Alipay: its key, its clients, its memory, its timers, and the AMS gateway over them. */
export class Sandbox {
  readonly clock: SandboxClock;
  readonly registry: ClientRegistry;
  readonly book = new PaymentBook();
  readonly gateway: AmsGateway;
  private readonly timers: TimerSet;
  private readonly privateKey: KeyObject;
  private readonly logger: Logger;
  /** the UTC+8 day the sandbox started on: the first one it delivers, unless it holds earlier transactions */
  private readonly startDay: string;
  /** undefined until the marker is read; then the last delivered day, or null when none */
  private deliveredThrough?: string | null;
  /**
   * Report files are written one day at a time: two writes of a day at once (a request during delivery, two
   * requests) would race on the same files, one failing and the files possibly mixing both.
   */
  private reportWriting: Promise<unknown>;
  /**
   * Whether the report folders are known whole: false at start and after a failed write, until
   * `recoverReportFolders` has put back a day folder a stopped write left in staging. A day read or written before
   * that would miss delivered files that are only in staging.
   */
  private reportFoldersRecovered = false;

  constructor(
    readonly settings: SandboxSettings,
    deps: SandboxDependencies,
  ) {
    this.clock = deps.clock ?? new SandboxClock();
    this.logger = deps.logger;
    this.startDay = businessDay(this.clock.now());
    this.timers = new TimerSet((error) => deps.logger.error({ err: error }, 'sandbox timer task failed'));
    this.privateKey = settings.privateKey ? loadPrivateKey(readKeySource(settings.privateKey)) : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    this.registry = new ClientRegistry(settings.customerId);
    for (const client of settings.clients) this.registry.register({ clientId: client.clientId, publicKey: readKeySource(client.publicKey) });
    const notifier = new Notifier({
      privateKey: this.privateKey,
      clock: this.clock,
      timers: this.timers,
      scale: (ms) => scaled(settings, ms),
      timeoutMs: settings.notifyTimeoutMs,
      logger: deps.logger,
    });
    const engine = new AmsEngine({ book: this.book, clock: this.clock, timers: this.timers, notifier, settings });
    this.gateway = new AmsGateway({
      registry: this.registry,
      engine,
      privateKey: this.privateKey,
      clock: this.clock,
      timers: this.timers,
      latencyMs: settings.latencyMs,
      onAnswer: deps.onAnswer,
    });
    this.reportWriting = this.ensureReportFoldersRecovered().catch((error: unknown) => this.logger.error({ err: error }, 'report folders not recovered at start; trying again before the next report write'));
    if (settings.reportDelivery) this.scheduleDelivery();
  }

  /** The key clients verify answers and notifications with (SubjectPublicKeyInfo PEM). */
  publicKeyPem(): string {
    return publicKeyPem(this.privateKey);
  }

  registerClient(registration: ClientRegistration): SandboxClient {
    return this.registry.register(registration);
  }

  paymentView(paymentRequestId: string, clientId?: string): PaymentView | undefined {
    const payment = this.book.findPayment(paymentRequestId, clientId);
    if (payment) return viewOf(payment, this.book.callsFor(payment.clientId, paymentRequestId) ?? NO_CALLS);
    const caller = clientId ?? this.book.clientsWithCalls(paymentRequestId).at(-1);
    const calls = caller === undefined ? undefined : this.book.callsFor(caller, paymentRequestId);
    if (caller === undefined || calls === undefined) return undefined;
    const closedAt = this.book.closedBeforeArrivalAt(caller, paymentRequestId);
    return { clientId: caller, paymentRequestId, status: 'NOT_RECORDED', calls, ...(closedAt ? { cancelledAt: formatAmsTime(closedAt) } : {}) };
  }

  /** Writes the report files of a UTC+8 day (YYYY-MM-DD) that has closed on the sandbox clock (unless `reportOpenDays`). */
  writeReports(date: string): Promise<ReportListing> {
    return this.oneWriterAtATime(() => this.writeDay(date));
  }

  private async writeDay(date: string): Promise<ReportListing> {
    const now = this.clock.now();
    const closesAt = businessDayBounds(date).end;
    if (!this.settings.reportOpenDays && now < closesAt) throw new ReportDayNotClosedError(date, closesAt, now);
    const built = buildDayReports(this.book.ledger, date, this.registry.customers(), { maxRowsPerFile: this.settings.reportMaxRows, fees: this.settings.fees });
    const listed: ReportListing['files'] = [];
    for (const customerId of [...new Set(built.map((file) => file.customerId))]) {
      const files = built.filter((file) => file.customerId === customerId);
      const kept = await this.deliveredFilesToKeep(customerId, date, files);
      if (kept) {
        listed.push(...kept.map(({ day: _day, ...file }) => file));
        continue;
      }
      const paths = await writeReports(this.settings.reportDir, files);
      listed.push(...files.map((file, i) => ({
        path: paths[i],
        customerId: file.customerId,
        kind: file.kind,
        seq: file.seq,
        rows: file.rows,
        ...(file.currency ? { currency: file.currency, batchId: file.batchId } : {}),
      })));
    }
    return { date, files: listed };
  }

  /**
   * With SANDBOX_REPORT_DELIVERY, a customer's day may already have been delivered: its files are what readers
   * took. The sandbox's memory does not survive a restart, so a day written again after one (a crash between the
   * files and the marker, or a request for a delivered day) would replace the day's transactions with fewer or
   * none. The files on disk are kept then; a day written again with as many transactions or more is rewritten.
   * A transactionItems file on disk means its settlement files are there too: `writeReports` replaces a day folder whole.
   */
  private async deliveredFilesToKeep(customerId: string, date: string, files: readonly ReportFile[]): Promise<WrittenReport[] | undefined> {
    if (!this.settings.reportDelivery) return undefined;
    const written = await readWrittenReports(this.settings.reportDir, customerId, date.replace(/-/g, ''));
    const before = transactionRecords(written);
    const now = transactionRecords(files);
    if (before <= now) return undefined;
    this.logger.warn({ customerId, day: date, writtenTransactions: before, heldTransactions: now }, 'report files of the day hold more transactions than the sandbox does; kept as they are');
    return written;
  }

  /**
   * Alipay's own delivery (SANDBOX_REPORT_DELIVERY, spec §13.1): writes, as `writeReports` does, every day whose
   * close plus `reportDeliveryDelayMs` the clock has passed and that was not delivered yet, oldest first, and
   * records each in the report folder's marker. The first day is the one the sandbox started on, or the day of
   * its earliest transaction when the clock was set back. Runs after any report write in progress; answers the days written.
   */
  deliverDueReports(): Promise<ReportListing[]> {
    return this.oneWriterAtATime(() => this.deliverOnce());
  }

  private oneWriterAtATime<T>(write: () => Promise<T>): Promise<T> {
    const run = this.reportWriting.then(async () => {
      await this.ensureReportFoldersRecovered();
      try {
        return await write();
      } catch (error) {
        this.reportFoldersRecovered = false;
        throw error;
      }
    });
    this.reportWriting = run.catch(() => undefined);
    return run;
  }

  private async ensureReportFoldersRecovered(): Promise<void> {
    if (this.reportFoldersRecovered) return;
    await recoverReportFolders(this.settings.reportDir, this.logger);
    this.reportFoldersRecovered = true;
  }

  private async deliverOnce(): Promise<ReportListing[]> {
    const dir = this.settings.reportDir;
    if (this.deliveredThrough === undefined) this.deliveredThrough = (await readDeliveryMarker(dir))?.deliveredThrough ?? null;
    const first = this.deliveredThrough === null ? this.firstDeliveryDay() : nextDay(this.deliveredThrough);
    const { days, skipped } = dueDays(first, this.clock.now(), this.settings.reportDeliveryDelayMs);
    if (skipped > 0) this.logger.warn({ from: first, skipped, resumeAt: days[0] }, 'report delivery fell behind by more than the catch-up limit; the oldest days are not delivered');
    const listings: ReportListing[] = [];
    for (const day of days) {
      const listing = await this.writeDay(day);
      await writeDeliveryMarker(dir, { deliveredThrough: day });
      this.deliveredThrough = day;
      this.logger.info({ day, files: listing.files.length }, 'report files delivered');
      listings.push(listing);
    }
    return listings;
  }

  private firstDeliveryDay(): string {
    return this.book.ledger.reduce((first, entry) => {
      const day = businessDay(entry.at);
      return day < first ? day : first;
    }, this.startDay);
  }

  private scheduleDelivery(): void {
    this.timers.after(REPORT_DELIVERY_CHECK_MS, () => {
      void this.deliverDueReports()
        .catch((error: unknown) => this.logger.error({ err: error }, 'report delivery failed; trying again at the next check'))
        .finally(() => this.scheduleDelivery());
    });
  }

  /** Ends held answers, PIN timers, notification retries and report delivery. */
  close(): void {
    this.timers.close();
  }
}

function viewOf(payment: PaymentRecord, calls: CallCounts): PaymentView {
  const refunded = payment.refunds.filter((r) => r.status === 'SUCCESS').reduce((sum, r) => sum + BigInt(r.request.refundAmount.value), 0n);
  return {
    clientId: payment.clientId,
    paymentRequestId: payment.paymentRequestId,
    status: payment.status,
    calls,
    customerId: payment.customerId,
    paymentId: payment.paymentId,
    scenario: payment.scenario.name,
    amount: payment.amount,
    refundedAmount: { currency: payment.amount.currency, value: String(refunded) },
    ...(payment.failure ? { failure: payment.failure } : {}),
    reversedByCancel: payment.reversed,
    createdAt: formatAmsTime(payment.createdAt),
    ...(payment.paidAt ? { paidAt: formatAmsTime(payment.paidAt) } : {}),
    ...(payment.cancelledAt ? { cancelledAt: formatAmsTime(payment.cancelledAt) } : {}),
    refunds: payment.refunds.map((r) => ({
      refundRequestId: r.refundRequestId,
      status: r.status,
      amount: r.request.refundAmount,
      ...(r.refundId ? { refundId: r.refundId } : {}),
      ...(r.failure ? { failure: r.failure.code } : {}),
      ...(r.refundTime ? { refundTime: formatAmsTime(r.refundTime) } : {}),
    })),
    notifications: payment.notifications,
  };
}
