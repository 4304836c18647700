import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { TimerName } from '@upm/payments-domain';
import { prepared } from '@upm/shared-database';
import { collectOutbox } from '@upm/shared-kafka';
import { Logger, Metrics, withSpan } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { SagaRunner } from './saga-runner';

export const TIMER_POLL_MS = Symbol('TIMER_POLL_MS');

/** How long the due timers of a saga that failed to fire wait before the next try, so they cannot hold up the others. */
const FAILED_FIRE_RETRY_SECONDS = 5;

/**
 * Fires due timers. Any replica may fire any timer: the saga row is taken with FOR UPDATE SKIP LOCKED, so
 * a saga that another replica (or a consumer) is working on is left for the next round, and the timer row
 * is read again under that lock, so a timer the consumer just moved or removed is not fired.
 */
@Injectable()
export class TimerPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private running = false;
  private loop?: Promise<void>;
  private readonly fired;
  private readonly failed;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly runner: SagaRunner,
    @Inject(TIMER_POLL_MS) private readonly pollMs: number,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.fired = metrics.counter('upm_saga_timers_fired_total', 'Saga timers fired', ['name']);
    this.failed = metrics.counter('upm_saga_timer_failures_total', 'Sagas whose due timers failed to fire (tried again later)');
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /**
   * Fires every timer due now; returns how many fired. A saga whose timers fail to fire has them postponed
   * and the round goes on with the next: one broken saga must not stop every other payment's inquiries and
   * cancels. When even postponing fails, the database is away and the round ends.
   */
  async fireDue(limit = 100): Promise<number> {
    const due: Array<{ payment_id: string }> = await this.dataSource.query(
      prepared('SELECT DISTINCT payment_id, min(due_at) AS due FROM timers WHERE due_at <= now() GROUP BY payment_id ORDER BY due LIMIT $1'),
      [limit],
    );
    let fired = 0;
    for (const { payment_id: paymentId } of due) {
      try {
        fired += await withSpan('saga timer fire', { 'upm.payment.id': paymentId }, () => this.fire(paymentId));
      } catch (error) {
        this.failed.inc();
        this.logger.error({ err: error, paymentId }, `firing the saga's timers failed; trying again in ${FAILED_FIRE_RETRY_SECONDS} s`);
        await this.dataSource.query(
          prepared('UPDATE timers SET due_at = now() + make_interval(secs => $2) WHERE payment_id = $1 AND due_at <= now()'),
          [paymentId, FAILED_FIRE_RETRY_SECONDS],
        );
      }
    }
    return fired;
  }

  /**
   * Fires one saga's due timers in one transaction; a saga another replica or a consumer holds is left for the next
   * round. The timers are counted once it committed: a fire that fails is tried again.
   */
  private async fire(paymentId: string): Promise<number> {
    const timers = await this.dataSource.transaction(async (manager) =>
      (await collectOutbox(manager, () => this.runner.inBatch(manager, [paymentId], () => this.fireLocked(manager, paymentId), { skipLocked: true }))) ?? [],
    );
    for (const timer of timers) this.fired.inc({ name: timer.name });
    return timers.length;
  }

  private async fireLocked(manager: EntityManager, paymentId: string): Promise<Array<{ name: TimerName; attempt: number }>> {
    // TypeORM answers a DELETE … RETURNING with [rows, affected]
    const [timers]: [Array<{ name: TimerName; attempt: number }>, number] = await manager.query(
      prepared('DELETE FROM timers WHERE payment_id = $1 AND due_at <= now() RETURNING name, attempt'),
      [paymentId],
    );
    for (const timer of timers) {
      await this.runner.run(manager, paymentId, { type: 'TimerFired', data: { timer: timer.name, attempt: timer.attempt } });
    }
    return timers;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if ((await this.fireDue()) > 0) continue;
      } catch (error) {
        this.logger.error({ err: error }, 'firing timers failed; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
