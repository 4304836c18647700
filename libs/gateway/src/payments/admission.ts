import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { Metrics } from '@upm/shared-observability';
import type { ErrorBody } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

/** how long a refused POS should wait before sending the same request again */
const RETRY_AFTER_SECONDS = 1;

/** A new payment request let in: released once the orchestrator confirms it or the request ends (idempotent). */
export interface AdmissionTicket {
  release(): void;
}

const NO_TICKET: AdmissionTicket = { release: () => undefined };

/**
 * Load shedding for new payments. Every `POST /v1/payments` this replica lets in holds a ticket from the
 * moment it is let in (before authentication, the idempotency lock and the insert) until the orchestrator
 * has confirmed the payment (its first event reached the read model), the order turned out to exist
 * already, or the request ended. While the oldest ticket has waited longer than `shedAfterMs`, the platform
 * is behind, wherever the queue is (this replica's own pool and event loop included), and new payments are
 * refused with `503 OVERLOADED` and `Retry-After`.
 *
 * The refusal comes before any other work (see `admitAtTheDoor`: no framework, no authentication, no
 * database), so it stays cheap when the POS fleet sends far more than the platform can carry, and the
 * payments already accepted finish in seconds instead of everything slowing down together. As for any 503,
 * the POS retries the same request: a retry of an order that was created is answered once the platform has
 * caught up. Reads, cancels and refunds are never refused.
 */
@Injectable()
export class Admission {
  /** ticket number → when it was let in; a Map keeps insertion order, so the first entry is the oldest */
  private readonly waiting = new Map<number, number>();
  private issued = 0;
  private readonly tickets = new WeakMap<IncomingMessage, AdmissionTicket>();
  private readonly shedAfterMs: number;
  private readonly refused;

  constructor(@Inject(GATEWAY_OPTIONS) options: GatewayOptions, @Inject(Metrics) metrics: Metrics) {
    this.shedAfterMs = options.shedAfterMs ?? 0;
    this.refused = metrics.counter('upm_gateway_payments_refused_total', 'New payments refused with 503 OVERLOADED while the platform was behind');
    const age = metrics.gauge('upm_gateway_unconfirmed_age_seconds', 'How long the oldest new payment this replica let in has waited for the orchestrator', [], () => {
      age.set(this.oldestWaitMs() / 1000);
    });
    const waiting = metrics.gauge('upm_gateway_unconfirmed_payments', 'New payments this replica let in that the orchestrator has not confirmed yet', [], () => {
      waiting.set(this.waiting.size);
    });
  }

  /** A ticket for a new payment request, or undefined (counted as refused) while the platform is behind. */
  admit(request: IncomingMessage): AdmissionTicket | undefined {
    if (!this.shedAfterMs) return NO_TICKET;
    if (this.oldestWaitMs() > this.shedAfterMs) {
      this.refused.inc();
      return undefined;
    }
    const number = this.issued++;
    this.waiting.set(number, Date.now());
    const ticket = { release: () => this.waiting.delete(number) };
    this.tickets.set(request, ticket);
    return ticket;
  }

  /** The ticket this request was let in with (one that does nothing for requests admission never saw). */
  ticketOf(request: IncomingMessage): AdmissionTicket {
    return this.tickets.get(request) ?? NO_TICKET;
  }

  oldestWaitMs(): number {
    const oldest = this.waiting.values().next();
    return oldest.done ? 0 : Date.now() - oldest.value;
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
