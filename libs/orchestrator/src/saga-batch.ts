import type { EntityManager } from 'typeorm';
import { initialState, PendingTimer, SagaState, TimerName } from '@upm/payments-domain';
import { prepared } from '@upm/shared-database';

type TimerChange = { paymentId: string; name: TimerName } & ({ kind: 'schedule'; attempt: number; delayMs: number } | { kind: 'cancel' });

/**
 * The sagas one transaction works on: locked and loaded with one statement, changed in memory step by step
 * (a payment with several messages in the batch goes through them in order), and stored at the end with
 * one statement, whatever the number of sagas, steps and timers.
 */
export class SagaBatch {
  private readonly changed = new Map<string, { state: SagaState; updatedAt: Date }>();
  /** the last change to each (payment, timer), so one statement can apply them all */
  private readonly timers = new Map<string, TimerChange>();

  private constructor(private readonly states: Map<string, SagaState | undefined>) {}

  /**
   * Locks the saga rows of `paymentIds` (in a fixed order, so two batches cannot deadlock) and loads them.
   * With `skipLocked` it waits for no row and answers undefined unless it locked a row for every id (for
   * sagas that exist, such as those with timers).
   */
  static async lock(manager: EntityManager, paymentIds: string[], skipLocked = false): Promise<SagaBatch | undefined> {
    const ids = [...new Set(paymentIds)].sort();
    const rows: Array<{ payment_id: string; state: SagaState }> = await manager.query(
      prepared(`SELECT payment_id, state FROM sagas WHERE payment_id = ANY($1::text[]) ORDER BY payment_id FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`),
      [ids],
    );
    if (skipLocked && rows.length < ids.length) return undefined;
    const states = new Map<string, SagaState | undefined>(ids.map((id) => [id, undefined]));
    for (const row of rows) states.set(row.payment_id, row.state);
    return new SagaBatch(states);
  }

  /** The saga's state as of the last step of this batch; only for a payment the batch locked. */
  state(paymentId: string): SagaState {
    if (!this.states.has(paymentId)) throw new Error(`saga ${paymentId} was not locked by this transaction`);
    return this.states.get(paymentId) ?? initialState();
  }

  update(paymentId: string, state: SagaState, at: Date): void {
    this.states.set(paymentId, state);
    // a payment that never got past NEW (a refused first command) has no row
    if (state.status !== 'NEW') this.changed.set(paymentId, { state, updatedAt: at });
  }

  /**
   * The saga set `timer` due at its `now` plus a delay; the row is due that delay after the database's clock
   * as the row is written, the clock the timer poller fires by, so a replica whose clock is off fires its timers
   * neither early (inquiries run out before the shopper could confirm) nor late. The clock as written, not the
   * transaction's start (`now()`): a batch that waited for saga locks or ran other steps first would otherwise
   * date its timers back by that long.
   */
  schedule(paymentId: string, timer: PendingTimer, now: Date): void {
    const delayMs = Date.parse(timer.dueAt) - now.getTime();
    this.timers.set(`${paymentId}/${timer.name}`, { kind: 'schedule', paymentId, name: timer.name, attempt: timer.attempt, delayMs });
  }

  cancel(paymentId: string, names: TimerName[]): void {
    for (const name of names) this.timers.set(`${paymentId}/${name}`, { kind: 'cancel', paymentId, name });
  }

  /** Writes the sagas and timers changed since `lock`, in the caller's transaction. */
  async store(manager: EntityManager): Promise<void> {
    if (!this.changed.size && !this.timers.size) return;
    const sagas = [...this.changed].map(([paymentId, { state, updatedAt }]) => ({ payment_id: paymentId, status: state.status, state, updated_at: updatedAt }));
    const timers = [...this.timers.values()];
    const scheduled = timers.filter((t) => t.kind === 'schedule').map((t) => ({ payment_id: t.paymentId, name: t.name, attempt: t.attempt, delay_ms: t.delayMs }));
    const cancelled = timers.filter((t) => t.kind === 'cancel').map((t) => ({ payment_id: t.paymentId, name: t.name }));
    // Each (payment, timer) is either scheduled or cancelled here, never both, so the three parts touch
    // different rows and can run as one statement.
    await manager.query(
      prepared(`WITH saved AS (
         INSERT INTO sagas (payment_id, status, state, updated_at)
         SELECT payment_id, status, state, updated_at FROM jsonb_to_recordset($1::jsonb) AS s(payment_id text, status text, state jsonb, updated_at timestamptz)
         ON CONFLICT (payment_id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
       ), cleared AS (
         DELETE FROM timers t USING jsonb_to_recordset($3::jsonb) AS c(payment_id text, name text)
         WHERE t.payment_id = c.payment_id AND t.name = c.name
       )
       INSERT INTO timers (payment_id, name, attempt, due_at)
       SELECT payment_id, name, attempt, clock_timestamp() + make_interval(secs => delay_ms / 1000.0)
       FROM jsonb_to_recordset($2::jsonb) AS s(payment_id text, name text, attempt integer, delay_ms bigint)
       ON CONFLICT (payment_id, name) DO UPDATE SET attempt = EXCLUDED.attempt, due_at = EXCLUDED.due_at`),
      [JSON.stringify(sagas), JSON.stringify(scheduled), JSON.stringify(cancelled)],
    );
    this.changed.clear();
    this.timers.clear();
  }
}
