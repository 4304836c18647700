import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import { Metrics } from '@upm/shared-observability';
import { ApiError } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

/** how long a refused POS should wait before sending the same request again */
const RETRY_AFTER_SECONDS = 1;

/**
 * Load shedding for new payments. This replica remembers the payments it accepted whose creation the
 * orchestrator has not confirmed yet (no event for them has reached the read model). While the oldest of
 * them has waited longer than `shedAfterMs`, the platform is behind, and `POST /v1/payments` is refused with
 * `503 OVERLOADED` and `Retry-After` before any other work (no authentication, no database), so refusing
 * stays cheap when the POS fleet sends far more than the platform can carry, and the payments already
 * accepted finish in seconds instead of everything slowing down together. As for any 503, the POS retries
 * the same request: a retry of an order that was created is answered once the platform has caught up.
 * Reads, cancels and refunds are never refused.
 */
@Injectable()
export class Admission {
  /** payment id → when it was accepted; a Map keeps insertion order, so the first entry is the oldest */
  private readonly unconfirmed = new Map<string, number>();
  private readonly shedAfterMs: number;
  private readonly refused;

  constructor(@Inject(GATEWAY_OPTIONS) options: GatewayOptions, @Inject(Metrics) metrics: Metrics) {
    this.shedAfterMs = options.shedAfterMs ?? 0;
    this.refused = metrics.counter('upm_gateway_payments_refused_total', 'New payments refused with 503 OVERLOADED while the platform was behind');
    const age = metrics.gauge('upm_gateway_unconfirmed_age_seconds', 'How long the oldest payment this replica accepted has waited for the orchestrator', [], () => {
      age.set(this.oldestWaitMs() / 1000);
    });
  }

  /** Whether a new payment may be accepted now. */
  admits(): boolean {
    return !this.shedAfterMs || this.oldestWaitMs() <= this.shedAfterMs;
  }

  /** The error a refused payment is answered with (and counted). */
  refusal(): ApiError {
    this.refused.inc();
    return new ApiError(503, 'OVERLOADED', 'the platform is behind: retry the same request shortly', undefined, RETRY_AFTER_SECONDS);
  }

  /** Remembers a payment just accepted; returns what marks it confirmed (safe to call more than once). */
  accepted(paymentId: string): () => void {
    if (!this.shedAfterMs) return () => undefined;
    this.unconfirmed.set(paymentId, Date.now());
    return () => this.unconfirmed.delete(paymentId);
  }

  oldestWaitMs(): number {
    const oldest = this.unconfirmed.values().next();
    return oldest.done ? 0 : Date.now() - oldest.value;
  }
}

/** Refuses `POST /v1/payments` while the platform is behind; registered ahead of authentication. */
@Injectable()
export class AdmissionMiddleware implements NestMiddleware {
  constructor(private readonly admission: Admission) {}

  use(_request: unknown, _response: unknown, next: () => void): void {
    if (!this.admission.admits()) throw this.admission.refusal();
    next();
  }
}
