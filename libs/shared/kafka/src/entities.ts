import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** A message waiting to be published, written in the same transaction as the change that caused it. */
@Entity({ name: 'outbox' })
export class OutboxRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Index('IDX_outbox_id', { unique: true })
  @Column({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text' })
  topic!: string;

  @Column({ type: 'text' })
  key!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  headers!: Record<string, string>;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/** Envelope ids a consumer group has applied: the second delivery of the same id changes nothing. */
@Entity({ name: 'inbox' })
export class InboxRow {
  @PrimaryColumn({ type: 'text', name: 'consumer_group' })
  consumerGroup!: string;

  @PrimaryColumn({ type: 'text', name: 'message_id' })
  messageId!: string;

  @Column({ type: 'text' })
  topic!: string;

  @Index('IDX_inbox_processed_at')
  @CreateDateColumn({ type: 'timestamptz', name: 'processed_at' })
  processedAt!: Date;
}

export const KAFKA_ENTITIES = [OutboxRow, InboxRow];
