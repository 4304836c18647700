import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { createEnvelope, Envelope, Money, newId, PaymentStatus, PaymentViewV1, RefundViewV1, TOPICS } from '@upm/contracts';
import { prepared } from '@upm/shared-database';
import { appendToOutbox, writeWithOutbox } from '@upm/shared-kafka';
import { Redis } from 'ioredis';
import { LockUnavailable, RedisLocks } from '@upm/shared-redis';
import type { Logger } from '@upm/shared-observability';
import { ApiError, isId, LOGGER } from '@upm/shared-runtime';
import type { CreatePaymentBody, CreateRefundBody } from '../http/schemas';
import type { TerminalContext } from '../registry/registry.service';
import { CancelRefusalRow, PaymentRow, RefundRow } from './payment.entities';
import type { AdmissionTicket } from './admission';
import { PaymentUpdates } from './payment-updates';

const PRODUCER = 'terminal-gateway';
/** the request hash of a row the read model inserted from an event: no POS request of this gateway's made it */
const UNKNOWN_REQUEST = '';
const FINAL: ReadonlySet<PaymentStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'NEEDS_REVIEW']);
export const isFinal = (status: PaymentStatus) => FINAL.has(status);
/** the key of the advisory lock that orders one terminal's stream, for the terminal id in SQL expression `terminalId` */
const terminalStreamKey = (terminalId: string) => `hashtext('terminal-events:' || ${terminalId})`;
/**
 * Orders a void and the merchant's refunds of one payment until the transaction ends: a refund accepted between
 * a void's check for refunds and its command would reach the orchestrator first, which then drops the void
 * while the POS waits for it. Under this lock such a refund waits for the void's command, and the orchestrator
 * then refuses the refund instead.
 */
const lockRefundsOf = (manager: EntityManager, paymentId: string) => manager.query(`SELECT pg_advisory_xact_lock(hashtext('payment-refunds:' || $1))`, [paymentId]);
/** the later of two views of one payment (wake-ups from two replicas may arrive out of order) */
const newer = (view: PaymentViewV1, current: PaymentViewV1) => (view.sequence > current.sequence ? view : current);
/**
 * A payment or refund asked while Redis, which holds their idempotency locks, cannot be reached. Refused rather
 * than taken with the unique constraints as the only guard of its key: money moves only with both guards in
 * place, and a refusal the POS sends again after Retry-After costs a second at the till.
 */
const idempotencyUnavailable = () =>
  new ApiError(503, 'IDEMPOTENCY_UNAVAILABLE', 'payments and refunds cannot be taken right now (their idempotency store is unreachable); send the same request again', undefined, 1);
/**
 * How long each idempotency-lock command waits for Redis before the request is refused as above: a Redis that
 * hangs with its connection open would otherwise hold the cashier until the connection breaks. A lock taken on
 * Redis after the gateway stopped waiting lapses with its ttl; the POS's retry waits for it.
 */
const LOCK_ANSWER_MS = 1000;

/**
 * The POS side of a payment: accepts it exactly once per merchantOrderId, hands it durably to the
 * orchestrator (row + outbox command in one transaction), and answers from the gateway's read model.
 */
@Injectable()
export class PaymentsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RedisLocks) private readonly locks: RedisLocks,
    @Inject(Redis) private readonly redis: Redis,
    private readonly updates: PaymentUpdates,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Creates the payment, or returns the one this merchantOrderId already made. A Redis lock lets concurrent
   * duplicates wait for the first; the unique (merchant, merchantOrderId) constraint guarantees one row even
   * if the lock is lost (the insert then does nothing and the existing payment is answered).
   */
  async create(terminal: TerminalContext, body: CreatePaymentBody): Promise<{ payment: PaymentViewV1; created: boolean }> {
    const requestHash = hashOf({ merchantOrderId: body.merchantOrderId, amount: body.amount, paymentCode: body.paymentCode, description: body.description ?? null });
    const lockName = `pay:{${terminal.merchantId}}:${body.merchantOrderId}`;
    return this.underIdempotencyLock(lockName, async () => {
      const payment = await this.insertPayment(terminal, body, requestHash);
      if (payment) return { payment, created: true };
      const existing = await this.findByOrderRow(terminal.merchantId, body.merchantOrderId);
      if (!existing) throw new Error(`payment for order ${body.merchantOrderId} neither inserted nor found`);
      return { payment: samePayment(existing, requestHash), created: false };
    });
  }

  async get(terminal: TerminalContext, paymentId: string): Promise<PaymentViewV1> {
    return (await this.row(terminal, paymentId)).view;
  }

  async findByOrder(terminal: TerminalContext, merchantOrderId: string): Promise<PaymentViewV1> {
    const row = await this.findByOrderRow(terminal.merchantId, merchantOrderId);
    if (!row) throw notFound();
    return row.view;
  }

  /** Waits until the payment's status differs from `unlessStatus` (default: until it is final). */
  async waitForChange(terminal: TerminalContext, paymentId: string, waitSeconds: number, unlessStatus?: PaymentStatus): Promise<PaymentViewV1> {
    const done = (view: PaymentViewV1) => (unlessStatus ? view.status !== unlessStatus : isFinal(view.status));
    return this.updates.waitFor(paymentId, waitSeconds * 1000, () => this.get(terminal, paymentId), done, newer);
  }

  /**
   * Waits for a payment this request has just created to be final, telling its admission ticket how far the
   * payment got: confirmed by the orchestrator (its first event reached the read model), then answered by
   * Alipay (final, or PROCESSING with a later event: waiting for the shopper or inquiring).
   */
  async waitForNew(terminal: TerminalContext, paymentId: string, waitSeconds: number, ticket: AdmissionTicket): Promise<PaymentViewV1> {
    const confirming = (view: PaymentViewV1) => {
      if (view.sequence >= 1 || isFinal(view.status)) ticket.answered();
      else if (view.sequence >= 0) ticket.confirmed();
      return view;
    };
    try {
      return await this.updates.waitFor(
        paymentId,
        waitSeconds * 1000,
        async () => confirming(await this.get(terminal, paymentId)),
        (view) => isFinal(view.status),
        (view, current) => newer(confirming(view), current),
      );
    } finally {
      ticket.release();
    }
  }

  /**
   * Waits until a cancel has ended the payment (a voided sale stays SUCCEEDED until its money is back), or until
   * the orchestrator refused the cancel that `commandId` sent: that answers with the refusal's code (422), as a
   * refused refund does. Its wake-up repeats the payment's sequence, so only a newer view is taken without reading.
   */
  async waitForCancel(terminal: TerminalContext, paymentId: string, waitSeconds: number, commandId?: string): Promise<PaymentViewV1> {
    const load = async (): Promise<PendingCancel> => ({ view: await this.get(terminal, paymentId), refusal: commandId ? await this.cancelRefusal(commandId) : null });
    const done = ({ view, refusal }: PendingCancel) => refusal !== null || (view.status !== 'PROCESSING' && view.status !== 'SUCCEEDED');
    const fromView = (view: PaymentViewV1, current: PendingCancel) => (view.sequence > current.view.sequence ? { ...current, view } : undefined);
    const { view, refusal } = await this.updates.waitFor(paymentId, waitSeconds * 1000, load, done, fromView);
    if (refusal) throw cancelRefusal(refusal);
    return view;
  }

  /**
   * Cashier abort or void: asks the orchestrator to cancel; a final FAILED/CANCELLED payment stays as it is.
   * A void reverses the whole amount, so a payment with a refund of the merchant's is refused here as the
   * orchestrator would: one that succeeded, is under way, or was given up on as unknown (it may have paid
   * out). A refund that ended FAILED gave nothing back and blocks nothing, whether the orchestrator refused it
   * or Alipay did. The full refund the saga makes of a paid payment Alipay would not cancel is that cancel
   * under way, not a refund of the merchant's: a cashier's repeated abort goes on as the cancel it is.
   */
  async cancel(terminal: TerminalContext, paymentId: string): Promise<{ payment: PaymentViewV1; commandId?: string }> {
    const row = await this.row(terminal, paymentId);
    if (row.status === 'FAILED' || row.status === 'CANCELLED') return { payment: row.view };
    const cancel = command('CancelPayment', paymentId, { paymentId, reason: 'POS_ABORT', requestedAt: new Date().toISOString() });
    await this.dataSource.transaction(async (manager) => {
      await lockRefundsOf(manager, paymentId);
      if (await this.hasMerchantRefunds(manager, paymentId)) {
        throw new ApiError(422, 'PAYMENT_NOT_CANCELLABLE', CANCEL_REFUSALS.PAYMENT_NOT_CANCELLABLE);
      }
      await appendToOutbox(manager, TOPICS.paymentCommands.name, cancel);
    });
    return { payment: row.view, commandId: cancel.id };
  }

  /**
   * Accepts a refund once per refundRequestId; the orchestrator serialises refunds and has the last word on
   * amounts. As for payments, the Redis lock lets concurrent duplicates wait for the first, and the unique
   * (payment, refundRequestId) constraint guarantees one refund and one command if the lock is lost.
   */
  async refund(terminal: TerminalContext, paymentId: string, body: CreateRefundBody): Promise<{ refund: RefundViewV1; created: boolean }> {
    const payment = await this.row(terminal, paymentId);
    const requestHash = hashOf({ refundRequestId: body.refundRequestId, amount: body.amount, reason: body.reason ?? null });
    return this.underIdempotencyLock(`refund:{${paymentId}}:${body.refundRequestId}`, async () => {
      const existing = await this.findRefundRow(paymentId, body.refundRequestId);
      if (existing) return { refund: sameRefund(existing, requestHash, body.amount), created: false };
      checkRefundable(payment.view, body);
      const refund = await this.insertRefund(paymentId, body, requestHash);
      if (refund) return { refund, created: true };
      const first = await this.findRefundRow(paymentId, body.refundRequestId);
      if (!first) throw new Error(`refund ${body.refundRequestId} of ${paymentId} neither inserted nor found`);
      return { refund: sameRefund(first, requestHash, body.amount), created: false };
    });
  }

  async getRefund(terminal: TerminalContext, paymentId: string, refundId: string): Promise<RefundViewV1> {
    await this.row(terminal, paymentId);
    const refund = isId(refundId) ? await this.dataSource.getRepository(RefundRow).findOneBy({ paymentId, refundId }) : null;
    if (!refund) throw notFound();
    return refund.view;
  }

  async waitForRefund(terminal: TerminalContext, paymentId: string, refundId: string, waitSeconds: number): Promise<RefundViewV1> {
    return this.updates.waitFor(paymentId, waitSeconds * 1000, () => this.getRefund(terminal, paymentId, refundId), (r) => r.status !== 'PROCESSING');
  }

  /**
   * Applies one payments.v1.events message to the read model; older or repeated events change nothing.
   * One statement moves the payment's view forward (an older event arriving late from the retry topic
   * would show the POS a status already left behind) and, only if it moved or the event settled one of its
   * refunds, appends the event to its terminal's stream under a per-terminal advisory lock held until
   * commit, taken before the insert draws the row's id: one terminal's rows commit in id order, so a reader
   * that has seen id N can never later find a row below N appear, and resuming after N loses nothing. A
   * refund's outcome is the answer the POS waits for even when the payment did not move: a refund the
   * orchestrator refused repeats the payment's current sequence, and one whose event arrives after a newer
   * event of its payment (redriven from the dead-letter topic) carries an older one. Such an outcome is appended
   * with the payment's stored view, so an older view of the payment never reaches the stream; a refund settles
   * once, so a repeat appends nothing.
   */
  async applyEvent(manager: EntityManager, envelope: Envelope): Promise<void> {
    if (envelope.type === 'PaymentCancelRefused') return this.recordCancelRefusal(manager, envelope);
    const { payment, refund } = viewsOf(envelope);
    // A refund the gateway did not accept (the saga's reversal of a sale Alipay would not cancel) is inserted unless a
    // refund of the merchant's already holds its refundRequestId, which a POS may choose freely: that refund stays as it
    // is, and the payment's view and stream move on all the same, rather than the event failing on every delivery.
    const settled: Array<{ status: RefundViewV1['status'] }> = refund
      ? await manager.query(
        prepared(`WITH updated AS (
           UPDATE refunds SET status = $4, view = $5 WHERE refund_id = $1 AND status = 'PROCESSING' RETURNING status
         ), inserted AS (
           INSERT INTO refunds (refund_id, payment_id, refund_request_id, request_hash, status, view)
           SELECT $1, $2, $3, '${UNKNOWN_REQUEST}', $4, $5 WHERE NOT EXISTS (SELECT 1 FROM refunds WHERE refund_id = $1)
           ON CONFLICT DO NOTHING RETURNING status
         )
         SELECT status FROM updated UNION ALL SELECT status FROM inserted`),
        [refund.refundId, refund.paymentId, refund.refundRequestId, refund.status, JSON.stringify(refund)],
      )
      : [];
    await manager.query(
      prepared(`WITH moved AS (
         INSERT INTO payments (payment_id, merchant_id, merchant_order_id, terminal_id, request_hash, status, sequence, view)
         VALUES ($1, $2, $3, $4, '${UNKNOWN_REQUEST}', $5, $6, $7)
         ON CONFLICT (payment_id) DO UPDATE SET status = EXCLUDED.status, sequence = EXCLUDED.sequence, view = EXCLUDED.view
         WHERE payments.sequence < EXCLUDED.sequence RETURNING payment_id, merchant_id, terminal_id
       ), changed AS (
         SELECT payment_id, merchant_id, terminal_id, $10::jsonb AS data FROM moved
         UNION ALL
         SELECT payment_id, merchant_id, terminal_id, $10::jsonb || jsonb_build_object('payment', view) FROM payments
          WHERE $11::boolean AND payment_id = $1 AND NOT EXISTS (SELECT 1 FROM moved)
       )
       INSERT INTO terminal_events (terminal_id, merchant_id, payment_id, event_id, type, data)
       SELECT changed.terminal_id, changed.merchant_id, changed.payment_id, $8, $9, changed.data
       FROM changed, LATERAL pg_advisory_xact_lock(${terminalStreamKey('changed.terminal_id')})`),
      [
        payment.paymentId, payment.merchantId, payment.merchantOrderId, payment.terminalId, payment.status, payment.sequence, JSON.stringify(payment),
        envelope.id, envelope.type, JSON.stringify(refund ? { payment, refund } : { payment }), settled.some((r) => r.status !== 'PROCESSING'),
      ],
    );
  }

  /**
   * Takes the stream locks of every terminal a batch of events touches, in one order, before the batch is
   * applied. Payments, not terminals, are spread over partitions, so two lanes can hold events for the same
   * two terminals in opposite orders; taken event by event, each would hold one lock and wait for the other
   * (a deadlock PostgreSQL breaks after a second, failing a batch the POS is waiting for).
   */
  async lockTerminals(manager: EntityManager, envelopes: Envelope[]): Promise<void> {
    const terminals = new Set(envelopes.map((envelope) => viewsOf(envelope).payment.terminalId));
    if (terminals.size < 2) return; // a single lock cannot close a cycle
    await manager.query(
      prepared(`SELECT pg_advisory_xact_lock(key) FROM (SELECT DISTINCT ${terminalStreamKey('terminal_id')} AS key FROM unnest($1::text[]) terminal_id) keys ORDER BY key`),
      [[...terminals]],
    );
  }

  /**
   * Runs `work` under the Redis lock of one idempotency key. Without a ready connection the request is refused
   * at once (the command would otherwise queue for the client's reconnection attempts, seconds the cashier
   * waits for the same refusal), and so is one whose lock command failed because Redis went away meanwhile.
   */
  private async underIdempotencyLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw idempotencyUnavailable();
    let locked = false;
    try {
      return await this.locks.withLock(name, { ttlMs: 10_000, waitMs: 15_000, answerMs: LOCK_ANSWER_MS }, () => {
        locked = true;
        return work();
      });
    } catch (error) {
      // before `work`, only the lock's own commands can fail; LockUnavailable is another attempt holding it
      if (!locked && !(error instanceof LockUnavailable)) throw idempotencyUnavailable();
      throw error;
    }
  }

  /** Inserts the payment and its command, or returns undefined when this merchantOrderId already has one. */
  private async insertPayment(terminal: TerminalContext, body: CreatePaymentBody, requestHash: string): Promise<PaymentViewV1 | undefined> {
    const now = new Date().toISOString();
    const paymentId = newId('pay');
    const view: PaymentViewV1 = {
      paymentId, merchantOrderId: body.merchantOrderId, merchantId: terminal.merchantId, storeId: terminal.storeId, terminalId: terminal.terminalId,
      amount: body.amount, status: 'PROCESSING', refundedAmount: { currency: body.amount.currency, value: '0' }, sequence: -1, createdAt: now, updatedAt: now,
    };
    // the unique (merchant, merchantOrderId) constraint decides who created the payment; a replay inserts
    // nothing, and then no command is written either
    const inserted = await writeWithOutbox(
      this.dataSource,
      `INSERT INTO payments (payment_id, merchant_id, merchant_order_id, terminal_id, request_hash, status, sequence, view)
       VALUES ($1, $2, $3, $4, $5, 'PROCESSING', -1, $6) ON CONFLICT ON CONSTRAINT "UQ_payments_merchant_order" DO NOTHING RETURNING payment_id`,
      [paymentId, terminal.merchantId, body.merchantOrderId, terminal.terminalId, requestHash, JSON.stringify(view)],
      TOPICS.paymentCommands.name,
      command('RequestPayment', paymentId, {
        paymentId, merchantOrderId: body.merchantOrderId, amount: body.amount, paymentCode: body.paymentCode, description: body.description,
        merchant: {
          merchantId: terminal.merchantId, merchantName: terminal.merchantName, merchantMcc: terminal.merchantMcc,
          storeId: terminal.storeId, storeName: terminal.storeName, storeMcc: terminal.storeMcc, terminalId: terminal.terminalId,
        },
        requestedAt: now,
      }),
    );
    if (!inserted) return undefined;
    this.logger.info({ paymentId, merchantOrderId: body.merchantOrderId, merchantId: terminal.merchantId, terminalId: terminal.terminalId, amount: body.amount }, 'payment accepted');
    return view;
  }

  /** Inserts the refund and its command, or returns undefined when this refundRequestId already has one. */
  private async insertRefund(paymentId: string, body: CreateRefundBody, requestHash: string): Promise<RefundViewV1 | undefined> {
    const view: RefundViewV1 = { paymentId, refundId: newId('ref'), refundRequestId: body.refundRequestId, amount: body.amount, status: 'PROCESSING', origin: 'MERCHANT' };
    const inserted = await this.dataSource.transaction(async (manager) => {
      await lockRefundsOf(manager, paymentId);
      return writeWithOutbox(
        manager,
        `INSERT INTO refunds (refund_id, payment_id, refund_request_id, request_hash, status, view)
         VALUES ($1, $2, $3, $4, 'PROCESSING', $5) ON CONFLICT ON CONSTRAINT "UQ_refunds_payment_request" DO NOTHING RETURNING refund_id`,
        [view.refundId, paymentId, body.refundRequestId, requestHash, JSON.stringify(view)],
        TOPICS.paymentCommands.name,
        command('RequestRefund', paymentId, {
          paymentId, refundId: view.refundId, refundRequestId: body.refundRequestId, amount: body.amount, reason: body.reason, requestedAt: new Date().toISOString(),
        }),
      );
    });
    return inserted ? view : undefined;
  }

  private findRefundRow(paymentId: string, refundRequestId: string): Promise<RefundRow | null> {
    return this.dataSource.getRepository(RefundRow).findOneBy({ paymentId, refundRequestId });
  }

  /**
   * Whether the payment has a refund of the merchant's that gave, or may still give, money back (each one is a
   * row from the moment the gateway accepted it). One that ended FAILED does not count, whoever refused it: the
   * orchestrator before Alipay saw it, or Alipay. A refund given up on as unknown stays PROCESSING here.
   */
  private async hasMerchantRefunds(manager: EntityManager, paymentId: string): Promise<boolean> {
    const [{ found }]: Array<{ found: boolean }> = await manager.query(
      prepared(`SELECT EXISTS (SELECT 1 FROM refunds WHERE payment_id = $1 AND view->>'origin' = 'MERCHANT' AND status <> 'FAILED') AS found`),
      [paymentId],
    );
    return found;
  }

  /**
   * Keeps a refused cancel for the POS request waiting on it, by the refused command's id (the event's causationId),
   * and, the first time it is kept, appends it to the stream of the terminal that owns the payment, under that
   * stream's lock as any other event, for a POS that listens only to its stream. The payment is unchanged, so its
   * view is not written. A refusal is read only while its POS waits (30 s at most): the rows of an hour ago go as a
   * new one comes.
   */
  private async recordCancelRefusal(manager: EntityManager, envelope: Envelope): Promise<void> {
    const { payment, failure } = envelope.data as { payment: PaymentViewV1; failure: { code: string; message: string } };
    if (!envelope.causationId) return;
    await manager.query(prepared(`DELETE FROM cancel_refusals WHERE refused_at < now() - interval '1 hour'`));
    await manager.query(
      prepared(`WITH kept AS (
         INSERT INTO cancel_refusals (command_id, payment_id, code, message) VALUES ($1, $2, $3, $4) ON CONFLICT (command_id) DO NOTHING RETURNING payment_id
       )
       INSERT INTO terminal_events (terminal_id, merchant_id, payment_id, event_id, type, data)
       SELECT payments.terminal_id, payments.merchant_id, payments.payment_id, $5, $6, $7::jsonb
       FROM kept JOIN payments USING (payment_id), LATERAL pg_advisory_xact_lock(${terminalStreamKey('payments.terminal_id')})`),
      [envelope.causationId, payment.paymentId, failure.code, failure.message, envelope.id, envelope.type, JSON.stringify({ payment, failure })],
    );
  }

  private async cancelRefusal(commandId: string): Promise<CancelRefusalRow | null> {
    return this.dataSource.getRepository(CancelRefusalRow).findOneBy({ commandId });
  }

  private findByOrderRow(merchantId: string, merchantOrderId: string): Promise<PaymentRow | null> {
    return this.dataSource.getRepository(PaymentRow).findOneBy({ merchantId, merchantOrderId });
  }

  /** Another merchant's payment is indistinguishable from a payment that does not exist, and so is an id no payment can have. */
  private async row(terminal: TerminalContext, paymentId: string): Promise<PaymentRow> {
    const row = isId(paymentId) ? await this.dataSource.getRepository(PaymentRow).findOneBy({ paymentId, merchantId: terminal.merchantId }) : null;
    if (!row) throw notFound();
    return row;
  }
}

/** What a payment event carries: the payment's view, and a refund event the refund's as well. */
function viewsOf(envelope: Envelope): { payment: PaymentViewV1; refund?: RefundViewV1 } {
  return envelope.data as { payment: PaymentViewV1; refund?: RefundViewV1 };
}

/**
 * The rules the orchestrator refuses a refund by before anything reaches Alipay, by the code its RefundFailed
 * carries, with what the POS is told. The gateway checks the same rules against its read model first; the
 * orchestrator has the last word (it also counts the refunds under way). Either way the POS gets the same
 * answer: this status and code, never a refund that failed, so a FAILED refund always means Alipay said no.
 */
const REFUND_REFUSALS: Readonly<Record<string, { status: number; message: string }>> = {
  PAYMENT_NOT_REFUNDABLE: { status: 422, message: 'only a succeeded payment can be refunded' },
  REFUND_EXCEEDS_PAID: { status: 422, message: 'the refunds would exceed the amount paid' },
  REFUND_CURRENCY_MISMATCH: { status: 422, message: 'the refund is not in the currency of the payment' },
  REFUND_AMOUNT_INVALID: { status: 422, message: 'a refund must be more than zero' },
  IDEMPOTENCY_CONFLICT: { status: 409, message: 'this refundRequestId was used with another body' },
};

/**
 * The error a refund the orchestrator refused is answered with, or undefined for any other refund. It names
 * the refund, which stays readable and answers every replay of its refundRequestId the same way.
 */
export function refundRefusal(refund: RefundViewV1): ApiError | undefined {
  const code = refund.status === 'FAILED' ? refund.failure?.code : undefined;
  if (code === undefined || !Object.hasOwn(REFUND_REFUSALS, code)) return undefined;
  const { status, message } = REFUND_REFUSALS[code];
  return new ApiError(status, code, message, [{ refundId: refund.refundId }]);
}

/** What the POS is told, by code, when a cancel is refused: by the gateway before it sends it, or by the orchestrator. */
const CANCEL_REFUSALS: Readonly<Record<string, string>> = {
  PAYMENT_NOT_CANCELLABLE: 'the payment has refunds; refund the rest instead of cancelling',
};

/** The error a cancel the orchestrator refused is answered with: 422 with its code, as a refused refund is. */
function cancelRefusal(refusal: CancelRefusalRow): ApiError {
  const message = Object.hasOwn(CANCEL_REFUSALS, refusal.code) ? CANCEL_REFUSALS[refusal.code] : refusal.message;
  return new ApiError(422, refusal.code, message);
}

/** A cancel a POS request waits on: the payment, and the orchestrator's refusal of the cancel once it came. */
interface PendingCancel {
  view: PaymentViewV1;
  refusal: CancelRefusalRow | null;
}

/** What a request answers whose idempotency key has been used: the same body, what it made; another, a conflict. */
function sameRequest<T>(row: { requestHash: string; view: T }, requestHash: string, key: 'merchantOrderId' | 'refundRequestId'): T {
  if (row.requestHash !== requestHash) throw new ApiError(409, 'IDEMPOTENCY_CONFLICT', `this ${key} was used with another body`);
  return row.view;
}

/**
 * As `sameRequest`. A payment the read model inserted from an event (the gateway's own row lost, or its database
 * restored from an older backup) has no request hash, and its view lacks the payment code: a retry cannot be told
 * from a new sale under a reused order id (another shopper's code, the same price), which must never be answered
 * with a payment someone else paid. It is the conflict, and the POS reads the payment by its order id.
 */
function samePayment(row: PaymentRow, requestHash: string): PaymentViewV1 {
  if (row.requestHash === UNKNOWN_REQUEST) {
    throw new ApiError(409, 'IDEMPOTENCY_CONFLICT', 'this merchantOrderId belongs to a payment whose request this gateway cannot compare (it knows it from the platform\'s events only): read it with GET /v1/payments?merchantOrderId=');
  }
  return sameRequest(row, requestHash, 'merchantOrderId');
}

/**
 * As `sameRequest`; the refund the saga made to reverse a sale answers no merchant's request, whatever it asks. A
 * refund the read model inserted from an event has no request hash and is judged by its amount: its key is already
 * the payment's and the refundRequestId, and only the reason, which moves no money, is not in its view.
 */
function sameRefund(row: RefundRow, requestHash: string, amount: Money): RefundViewV1 {
  if (row.view.origin !== 'MERCHANT') throw new ApiError(409, 'IDEMPOTENCY_CONFLICT', 'this refundRequestId was used with another body');
  if (row.requestHash === UNKNOWN_REQUEST && !sameMoney(row.view.amount, amount)) throw new ApiError(409, 'IDEMPOTENCY_CONFLICT', 'this refundRequestId was used with another amount');
  return row.requestHash === UNKNOWN_REQUEST ? row.view : sameRequest(row, requestHash, 'refundRequestId');
}

const sameMoney = (a: Money, b: Money) => a.currency === b.currency && a.value === b.value;

function checkRefundable(payment: PaymentViewV1, body: CreateRefundBody): void {
  if (payment.status !== 'SUCCEEDED') throw new ApiError(422, 'PAYMENT_NOT_REFUNDABLE', `a ${payment.status} payment cannot be refunded`);
  if (body.amount.currency !== payment.amount.currency) throw new ApiError(422, 'CURRENCY_MISMATCH', `the payment is in ${payment.amount.currency}`);
  if (BigInt(body.amount.value) > BigInt(payment.amount.value) - BigInt(payment.refundedAmount.value)) {
    throw new ApiError(422, 'REFUND_EXCEEDS_PAID', REFUND_REFUSALS.REFUND_EXCEEDS_PAID.message);
  }
}

function command(type: 'RequestPayment' | 'CancelPayment' | 'RequestRefund', paymentId: string, data: unknown): Envelope {
  return createEnvelope({ type, key: paymentId, data, producer: PRODUCER, correlationId: paymentId });
}

const notFound = () => new ApiError(404, 'PAYMENT_NOT_FOUND', 'no such payment');

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
