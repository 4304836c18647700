import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { Metrics } from '@upm/shared-observability';
import type { ErrorBody } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

/** how long a refused POS should wait before sending the same request again */
const RETRY_AFTER_SECONDS = 1;
/** the window of recent first answers the second rule looks at, and how many it needs to judge */
const ANSWER_WINDOW_MS = 1000;
const MIN_ANSWERS = 5;

/**
 * A new payment request let in. The gateway tells it how far the payment got: `confirmed` once the
 * orchestrator took it (its first event reached the read model), `answered` once Alipay's first answer did
 * (the payment final, or PROCESSING with `sequence` ≥ 1: waiting for the shopper or inquiring), `release`
 * when the request ends or the order turned out to exist. Each step counts once; later calls do nothing.
 */
export interface AdmissionTicket {
  confirmed(): void;
  answered(): void;
  release(): void;
}

const NO_TICKET: AdmissionTicket = { confirmed: () => undefined, answered: () => undefined, release: () => undefined };

/**
 * Load shedding for new payments, with two rules. Every `POST /v1/payments` this replica lets in holds a
 * ticket from the moment it is let in (before authentication, the idempotency lock and the insert); new
 * payments are refused with `503 OVERLOADED` and `Retry-After` while either rule says the platform is behind:
 *
 * - **unconfirmed**: the oldest ticket the orchestrator has not confirmed has waited longer than
 *   `shedAfterMs`. It catches a stall at the front (the orchestrator down or lagging, this replica's own
 *   pool and event loop) at any rate.
 * - **slow answers**: at least five payments got Alipay's first answer in the last second and even the
 *   fastest of them took longer than `shedAnswerAfterMs` from being let in. Some payments take long by
 *   nature (no answer from Alipay until the call times out), but when the fastest is slow, every payment
 *   waits in a queue somewhere on the way to Alipay and back (the connector, the results, the read model),
 *   which the first rule does not see once the orchestrator has confirmed. A request that ends before its
 *   payment is answered counts the wait so far, a lower bound, so a platform too slow to answer within the
 *   POS's wait is seen as well. The window forgets within a second, so shedding stops by itself once the
 *   payments let in answer in time again.
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
  /** the first answers of the last `ANSWER_WINDOW_MS`, oldest first: when each came and how long it took */
  private answers: { at: number; tookMs: number }[] = [];
  private issued = 0;
  private readonly tickets = new WeakMap<IncomingMessage, AdmissionTicket>();
  private readonly shedAfterMs: number;
  private readonly shedAnswerAfterMs: number;
  private readonly refused;

  constructor(@Inject(GATEWAY_OPTIONS) options: GatewayOptions, @Inject(Metrics) metrics: Metrics) {
    this.shedAfterMs = options.shedAfterMs ?? 0;
    this.shedAnswerAfterMs = options.shedAnswerAfterMs ?? 0;
    this.refused = metrics.counter('upm_gateway_payments_refused_total', 'New payments refused with 503 OVERLOADED while the platform was behind');
    const age = metrics.gauge('upm_gateway_unconfirmed_age_seconds', 'How long the oldest new payment this replica let in has waited for the orchestrator', [], () => {
      age.set(this.oldestWaitMs() / 1000);
    });
    const waiting = metrics.gauge('upm_gateway_unconfirmed_payments', 'New payments this replica let in that the orchestrator has not confirmed yet', [], () => {
      waiting.set(this.unconfirmed.size);
    });
    const fastest = metrics.gauge('upm_gateway_fastest_answer_seconds', "The fastest Alipay first answer of the last second's payments, from being let in (0 with fewer than five)", [], () => {
      fastest.set(this.fastestRecentAnswerMs() / 1000);
    });
  }

  /** A ticket for a new payment request, or undefined (counted as refused) while the platform is behind. */
  admit(request: IncomingMessage): AdmissionTicket | undefined {
    if (!this.shedAfterMs && !this.shedAnswerAfterMs) return NO_TICKET;
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

  /** The fastest first answer of the window, or 0 when it holds too few to judge. */
  fastestRecentAnswerMs(): number {
    const now = Date.now();
    const first = this.answers.findIndex((answer) => now - answer.at <= ANSWER_WINDOW_MS);
    if (first !== 0) this.answers = first < 0 ? [] : this.answers.slice(first);
    if (this.answers.length < MIN_ANSWERS) return 0;
    return Math.min(...this.answers.map((answer) => answer.tookMs));
  }

  private behind(): boolean {
    if (this.shedAfterMs && this.oldestWaitMs() > this.shedAfterMs) return true;
    return this.shedAnswerAfterMs > 0 && this.fastestRecentAnswerMs() > this.shedAnswerAfterMs;
  }

  private issue(): AdmissionTicket {
    const number = this.issued++;
    const letIn = Date.now();
    let confirmed = false;
    let done = false;
    const answer = () => {
      const now = Date.now();
      done = true;
      this.answers.push({ at: now, tookMs: now - letIn });
    };
    this.unconfirmed.set(number, letIn);
    return {
      confirmed: () => {
        confirmed = true;
        this.unconfirmed.delete(number);
      },
      answered: () => {
        if (done) return;
        this.unconfirmed.delete(number);
        answer();
      },
      release: () => {
        this.unconfirmed.delete(number);
        if (confirmed && !done) answer(); // still unanswered: the wait so far is a lower bound
        done = true;
      },
    };
  }
}

const REFUSAL = JSON.stringify({ error: { code: 'OVERLOADED', message: 'the platform is behind: retry the same request shortly' } } satisfies ErrorBody);

/**
 * Puts admission in front of the HTTP framework: the server's request listener decides on every
 * `POST /v1/payments` before Express parses, routes or authenticates anything, so a refusal costs little
 * more than reading the request line. A request let in keeps its ticket until it ends (an answer, an error,
 * the POS hanging up), unless the payment was confirmed or found to exist before that.
 */
export function admitAtTheDoor(server: Server, admission: Admission): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (isNewPayment(request)) {
      const ticket = admission.admit(request);
      if (!ticket) return refuse(response);
      response.once('close', ticket.release);
    }
    for (const listener of listeners) listener.call(server, request, response);
  });
}

function isNewPayment(request: IncomingMessage): boolean {
  if (request.method !== 'POST' || !request.url) return false;
  const path = request.url.split('?', 1)[0];
  return path === '/v1/payments' || path === '/v1/payments/';
}

function refuse(response: ServerResponse): void {
  response.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(REFUSAL), 'Retry-After': String(RETRY_AFTER_SECONDS) });
  response.end(REFUSAL);
}
