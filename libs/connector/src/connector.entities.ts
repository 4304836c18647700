import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** Every AMS exchange, as sent and as answered, with payment codes masked: what an auditor or support asks for. */
@Entity({ name: 'ams_exchanges' })
export class AmsExchangeRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Index('IDX_ams_exchanges_payment')
  @Column({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text' })
  api!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: 'text', name: 'client_id' })
  clientId!: string;

  @Column({ type: 'text' })
  outcome!: string;

  @Column({ type: 'text', name: 'result_code' })
  resultCode!: string;

  @Column({ type: 'integer', name: 'http_status', nullable: true })
  httpStatus!: number | null;

  @Column({ type: 'integer', name: 'duration_ms' })
  durationMs!: number;

  @Column({ type: 'text', name: 'request_body' })
  requestBody!: string;

  @Column({ type: 'text', name: 'response_body', nullable: true })
  responseBody!: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/**
 * Alipay's refundRequestId must be unique across all payments, so the connector sends our refund id; a
 * refund notification names only that, and this maps it back to the payment and the merchant's request id.
 */
@Entity({ name: 'refund_routes' })
export class RefundRouteRow {
  @PrimaryColumn({ type: 'text', name: 'refund_id' })
  refundId!: string;

  @Column({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text', name: 'refund_request_id' })
  refundRequestId!: string;
}

/**
 * A notification signed by Alipay that the connector could not read: kept as received (the headers the
 * signature depends on and the exact bytes), so an operator can see it and post it again once the connector
 * reads it. Alipay's retries of the same body count as attempts of one row.
 */
@Entity({ name: 'unparsable_notifications' })
export class UnparsableNotificationRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Index('UQ_unparsable_notifications_body', { unique: true })
  @Column({ type: 'text', name: 'body_sha256' })
  bodySha256!: string;

  @Column({ type: 'text', name: 'client_id' })
  clientId!: string;

  /** the path the signature covers */
  @Column({ type: 'text' })
  path!: string;

  /** client-id, request-time, signature and content-type of the latest attempt */
  @Column({ type: 'jsonb' })
  headers!: Record<string, string>;

  @Column({ type: 'bytea' })
  body!: Buffer;

  @Column({ type: 'text' })
  problem!: string;

  @Column({ type: 'integer', default: 1 })
  attempts!: number;

  @CreateDateColumn({ type: 'timestamptz', name: 'first_received_at' })
  firstReceivedAt!: Date;

  @Index('IDX_unparsable_notifications_last_received_at')
  @Column({ type: 'timestamptz', name: 'last_received_at', default: () => 'now()' })
  lastReceivedAt!: Date;

  /** when its signature last verified on receipt (NULL for rows kept before it was recorded): information only, a replay verifies the signature again */
  @Column({ type: 'timestamptz', name: 'verified_at', nullable: true })
  verifiedAt!: Date | null;

  /** when an operator replayed it and the connector took it */
  @Column({ type: 'timestamptz', name: 'replayed_at', nullable: true })
  replayedAt!: Date | null;
}
