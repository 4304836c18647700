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

/**
 * A key of a group whose messages go through the retry topic, in order, because one of them is waiting
 * there: set when a message fails or is held, cleared once the last one held there is done with.
 */
@Entity({ name: 'parked_keys' })
export class ParkedKeyRow {
  @PrimaryColumn({ type: 'text', name: 'consumer_group' })
  consumerGroup!: string;

  @PrimaryColumn({ type: 'text' })
  key!: string;

  /** the envelope id of the key's last message sent to the retry topic */
  @Column({ type: 'text', name: 'last_message_id' })
  lastMessageId!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'parked_at' })
  parkedAt!: Date;
}

export const KAFKA_ENTITIES = [OutboxRow, InboxRow, ParkedKeyRow];
