import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A payment event as a terminal's server-sent event stream shows it; `id` is the SSE id a POS resumes from
 * with Last-Event-ID. Written by the read-model consumer in the transaction that applied the event.
 */
@Entity({ name: 'terminal_events' })
@Index('IDX_terminal_events_terminal', ['terminalId', 'id'])
export class TerminalEventRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text', name: 'terminal_id' })
  terminalId!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  /** the envelope id, the same event id merchants' webhooks carry */
  @Column({ type: 'text', name: 'event_id' })
  eventId!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'jsonb' })
  data!: unknown;

  @Index('IDX_terminal_events_created_at')
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/**
 * The newest of a terminal's events ever deleted (by the retention): a POS that resumes from an older id missed
 * events that can no longer be replayed. Kept by a trigger on `terminal_events`, in the statement that deletes.
 */
@Entity({ name: 'terminal_event_horizons' })
export class TerminalEventHorizonRow {
  @PrimaryColumn({ type: 'text', name: 'terminal_id' })
  terminalId!: string;

  @Column({ type: 'bigint', name: 'pruned_through' })
  prunedThrough!: string;
}
