import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { Metrics } from '@upm/shared-observability';
import type { ErrorBody } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

/** how long a refused POS should wait before sending the same request again */
const RETRY_AFTER_SECONDS = 1;

/**
 * How many payments this replica lets wait for Alipay's first answer at once: the limit grows by one with
 * each answer that came within the target while at least half the limit was in use, and shrinks by a tenth
 * with each that did not (additive increase, multiplicative decrease), within these bounds.
 */
export const UNANSWERED_LIMIT = { initial: 50, min: 20, max: 10_000, backoff: 0.9 } as const;

/**
 * A new payment request let in. It counts from `received`, once its body has arrived: until then the wait is the
 * POS's network, not the platform. The gateway then tells it how far the payment got: `confirmed` once the
 * orchestrator took it (its first event reached the read model), `answered` once Alipay's first answer did
 * (the payment final, or PROCESSING with `sequence` ≥ 1: waiting for the shopper or inquiring), `release`
 * when the request ends or the order turned out to exist. Each step counts once; later calls do nothing.
 */
export interface AdmissionTicket {
  received(): void;
  confirmed(): void;
  answered(): void;
  release(): void;
}

const NO_TICKET: AdmissionTicket = { received: () => undefined, confirmed: () => undefined, answered: () => undefined, release: () => undefined };

/**
 * Load shedding for new payments, with two rules. Every `POST /v1/payments` this replica lets in holds a
 * ticket, which counts from the moment its body has arrived (before authentication, the idempotency lock and
 * the insert): a body still on its way is the POS's network, and one POS sending slowly, on a poor store line
 * or on purpose, would otherwise age the oldest ticket and close the door on every other. New payments are
 * refused with `503 OVERLOADED` and `Retry-After` while either rule says the platform is behind:
 *
 * - **unconfirmed**: the oldest ticket the orchestrator has not confirmed has waited longer than
 *   `shedAfterMs`. It catches a stall at the front (the orchestrator down or lagging, this replica's own
 *   pool and event loop) at any rate.
 * - **unanswered**: as many payments as the limit wait for Alipay's first answer. The limit adapts to how
 *   long answers take from the moment a payment was let in (see `UNANSWERED_LIMIT`): above
 *   `answerTargetMs`, payments queue somewhere on the way to Alipay and back (the connector, the results,
 *   the read model), which the first rule does not see once the orchestrator has confirmed, and fewer are
 *   let in. Bounding the payments under way, not their age, keeps the queue short at once: a rule that
 *   waited for slow answers would let in a burst at the arrival rate for as long as an answer takes, and
 *   close only once that burst was already queued. A request that ends before its payment was answered
 *   counts the wait so far, a lower bound, so a platform too slow to answer within the POS's wait shrinks
 *   the limit too.
 *
 * The refusal comes before any other work (see `admitAtTheDoor`: no framework, no authentication, no
 * database), so it stays cheap when the POS fleet sends far more than the platform can carry, and the
 * payments already accepted finish in seconds instead of everything slowing down together. As for any 503,
 * the POS retries the same request: a retry of an order that was created is answered once the platform has
 * caught up. Reads, cancels and refunds are never refused.
 */
@Injectable()
export class Admission {
  /** ticket number → when it was let in, until confirmed; a Map keeps insertion order, so the first entry is the oldest */
  private readonly unconfirmed = new Map<number, number>();
  /** tickets let in whose payment has not had Alipay's first answer, and whose request has not ended */
  private unanswered = 0;
  private limit: number = UNANSWERED_LIMIT.initial;
  private issued = 0;
  private readonly tickets = new WeakMap<IncomingMessage, AdmissionTicket>();
  private readonly shedAfterMs: number;
  private readonly answerTargetMs: number;
  private readonly refused;

  constructor(@Inject(GATEWAY_OPTIONS) options: GatewayOptions, @Inject(Metrics) metrics: Metrics) {
    this.shedAfterMs = options.shedAfterMs ?? 0;
    this.answerTargetMs = options.answerTargetMs ?? 0;
    this.refused = metrics.counter('upm_gateway_payments_refused_total', 'New payments refused with 503 OVERLOADED while the platform was behind');
    const age = metrics.gauge('upm_gateway_unconfirmed_age_seconds', 'How long the oldest new payment this replica let in has waited for the orchestrator', [], () => {
      age.set(this.oldestWaitMs() / 1000);
    });
    const waiting = metrics.gauge('upm_gateway_unconfirmed_payments', 'New payments this replica let in that the orchestrator has not confirmed yet', [], () => {
      waiting.set(this.unconfirmed.size);
    });
    const unanswered = metrics.gauge('upm_gateway_unanswered_payments', "New payments this replica let in that wait for Alipay's first answer", [], () => {
      unanswered.set(this.unanswered);
    });
    const limit = metrics.gauge('upm_gateway_unanswered_limit', "How many new payments this replica lets wait for Alipay's first answer at once", [], () => {
      limit.set(this.unansweredLimit());
    });
  }

  /** A ticket for a new payment request, or undefined (counted as refused) while the platform is behind. */
  admit(request: IncomingMessage): AdmissionTicket | undefined {
    if (!this.shedAfterMs && !this.answerTargetMs) return NO_TICKET;
    if (this.behind()) {
      this.refused.inc();
      return undefined;
    }
    const ticket = this.issue();
    this.tickets.set(request, ticket);
    return ticket;
  }

  /** The ticket this request was let in with (one that does nothing for requests admission never saw). */
  ticketOf(request: IncomingMessage): AdmissionTicket {
    return this.tickets.get(request) ?? NO_TICKET;
  }

  oldestWaitMs(): number {
    const oldest = this.unconfirmed.values().next();
    return oldest.done ? 0 : Date.now() - oldest.value;
  }

  /** How many payments may wait for their first answer at once now (whole payments). */
  unansweredLimit(): number {
    return Math.floor(this.limit);
  }

  private behind(): boolean {
    if (this.shedAfterMs && this.oldestWaitMs() > this.shedAfterMs) return true;
    return this.answerTargetMs > 0 && this.unanswered >= this.unansweredLimit();
  }

  /** Adapts the limit to one payment's time to its first answer (measured while it still counted as unanswered). */
  private learn(tookMs: number): void {
    if (tookMs > this.answerTargetMs) this.limit = Math.max(UNANSWERED_LIMIT.min, this.limit * UNANSWERED_LIMIT.backoff);
    else if (this.unanswered * 2 >= this.limit) this.limit = Math.min(UNANSWERED_LIMIT.max, this.limit + 1);
  }

  private issue(): AdmissionTicket {
    const number = this.issued++;
    /** when the request's body had arrived: from then on it waits on the platform, and counts */
    let letIn: number | undefined;
    let confirmed = false;
    let open = true;
    const close = (learn: boolean) => {
      open = false;
      if (letIn === undefined) return;
      this.unconfirmed.delete(number);
      if (learn && this.answerTargetMs) this.learn(Date.now() - letIn);
      this.unanswered--;
    };
    return {
      received: () => {
        if (!open || letIn !== undefined) return;
        letIn = Date.now();
        if (!confirmed) this.unconfirmed.set(number, letIn);
        this.unanswered++;
      },
      confirmed: () => {
        confirmed = true;
        this.unconfirmed.delete(number);
      },
      answered: () => {
        if (open) close(true);
      },
      // still unanswered: a confirmed payment's wait so far is a lower bound of its answer time; an order
      // that existed, or one the orchestrator never took, says nothing about the way to Alipay
      release: () => {
        if (open) close(confirmed);
      },
    };
  }
}

const REFUSAL = JSON.stringify({ error: { code: 'OVERLOADED', message: 'the platform is behind: retry the same request shortly' } } satisfies ErrorBody);

/**
 * Puts admission in front of the HTTP framework: the server's request listener decides on every
 * `POST /v1/payments` before Express parses, routes or authenticates anything, so a refusal costs little
 * more than reading the request line. A request let in counts once its body has been read, and keeps its
 * ticket until it ends (an answer, an error, the POS hanging up), unless the payment was confirmed or found
 * to exist before that.
 */
export function admitAtTheDoor(server: Server, admission: Admission): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (isNewPayment(request)) {
      const ticket = admission.admit(request);
      if (!ticket) return refuse(response);
      request.once('end', ticket.received);
      response.once('close', ticket.release);
    }
    for (const listener of listeners) listener.call(server, request, response);
  });
}

function isNewPayment(request: IncomingMessage): boolean {
  if (request.method !== 'POST' || !request.url) return false;
  // the path as the router reads it, from any form of request target (a proxy's absolute form, a fragment), and
  // whatever its case, as the router matches paths: or such a POST /v1/payments would walk past the door
  const path = pathOf(request.url).toLowerCase();
  return path === '/v1/payments' || path === '/v1/payments/';
}

function pathOf(target: string): string {
  try {
    return new URL(target, 'http://door').pathname;
  } catch {
    return target; // not a URL: nothing the router would route either
  }
}

function refuse(response: ServerResponse): void {
  response.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(REFUSAL), 'Retry-After': String(RETRY_AFTER_SECONDS) });
  response.end(REFUSAL);
}
