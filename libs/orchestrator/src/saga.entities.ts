import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { SagaState } from '@upm/payments-domain';

/** One payment saga: its whole state as the pure workflow defines it. */
@Entity({ name: 'sagas' })
export class SagaRow {
  @PrimaryColumn({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Index('IDX_sagas_status')
  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'jsonb' })
  state!: SagaState;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}

/** A saga's pending timer: data, so that any replica fires it and a restart loses none. */
@Entity({ name: 'timers' })
export class TimerRow {
  @PrimaryColumn({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @PrimaryColumn({ type: 'text' })
  name!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Index('IDX_timers_due_at')
  @Column({ type: 'timestamptz', name: 'due_at' })
  dueAt!: Date;
}
