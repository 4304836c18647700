import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A merchant's receiver of webhooks and the payment event types it subscribed to. Deleting keeps the row for the delivery log. */
@Entity({ name: 'webhook_endpoints' })
export class WebhookEndpointRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Index('IDX_webhook_endpoints_merchant')
  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  url!: string;

  /** payment event types, or `*` for all of them */
  @Column({ type: 'jsonb', name: 'event_types' })
  eventTypes!: string[];

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'deleted_at', nullable: true })
  deletedAt!: Date | null;

  /** set while the merchant has disabled the endpoint: its deliveries are queued, and wait */
  @Column({ type: 'timestamptz', name: 'disabled_at', nullable: true })
  disabledAt!: Date | null;

  /** timeouts, connection errors and 5xx in a row (endpoint-backoff.ts); any other answer sets it back to 0 */
  @Column({ type: 'integer', name: 'consecutive_failures', default: 0 })
  consecutiveFailures!: number;

  /**
   * set while the endpoint is held back after failing again and again: nothing is sent to it before this time, and
   * then one delivery at a time (the probe) until one is answered
   */
  @Column({ type: 'timestamptz', name: 'backoff_until', nullable: true })
  backoffUntil!: Date | null;
}

/**
 * A signing secret, sealed by SecretBox when keys are configured (HMAC needs the secret itself, so it is
 * encrypted rather than hashed); after a rotation the old secret stays active until `expires_at`, so
 * receivers can switch over without dropping a delivery.
 */
@Entity({ name: 'webhook_secrets' })
export class WebhookSecretRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Index('IDX_webhook_secrets_endpoint')
  @Column({ type: 'text', name: 'endpoint_id' })
  endpointId!: string;

  @Column({ type: 'text' })
  secret!: string;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'expires_at', nullable: true })
  expiresAt!: Date | null;
}

/** HELD: queued for a disabled endpoint; it becomes PENDING, on a fresh retry schedule, when the endpoint is enabled */
export type DeliveryStatus = 'PENDING' | 'HELD' | 'DELIVERED' | 'DEAD_LETTER' | 'CANCELLED';

/**
 * One event for one endpoint: written by the consumer in its inbox transaction, sent by the worker. `leased_until`
 * is a worker's claim; when the worker dies, the claim lapses and any replica sends the row again.
 */
@Entity({ name: 'webhook_deliveries' })
@Unique('UQ_webhook_deliveries_endpoint_event', ['endpointId', 'eventId'])
@Unique('UQ_webhook_deliveries_stream', ['endpointId', 'stream', 'streamSequence'])
@Index('IDX_webhook_deliveries_due', ['status', 'nextAttemptAt'])
@Index('IDX_webhook_deliveries_payment', ['endpointId', 'paymentId'])
@Index('IDX_webhook_deliveries_give_up_at', ['giveUpAt'])
@Index('IDX_webhook_deliveries_leased', ['endpointId', 'leasedUntil'])
export class WebhookDeliveryRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq!: string;

  @Index('IDX_webhook_deliveries_id', { unique: true })
  @Column({ type: 'text' })
  id!: string;

  @Column({ type: 'text', name: 'endpoint_id' })
  endpointId!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  /** the envelope id: stable across retries and re-deliveries, the receiver's idempotency key */
  @Column({ type: 'text', name: 'event_id' })
  eventId!: string;

  @Column({ type: 'text', name: 'event_type' })
  eventType!: string;

  /** the payment the event is about (a settlement event may be about none): what the delivery log filters by */
  @Column({ type: 'text', name: 'payment_id', nullable: true })
  paymentId!: string | null;

  /** the payment's event sequence (0 for settlement events) */
  @Column({ type: 'integer' })
  sequence!: number;

  /**
   * a payment's id for its events, `settlement:<key>` for the settlement events about it: one stream goes out in
   * order. Null for a delivery the previous version wrote while a release rolled out: it goes out unordered.
   */
  @Column({ type: 'text', nullable: true })
  stream!: string | null;

  /** 1, 2, 3, … within the stream and endpoint, without gaps: the order it goes out in, and the number the receiver sees */
  @Column({ type: 'integer', name: 'stream_sequence', nullable: true })
  streamSequence!: number | null;

  /** the exact bytes every attempt sends and signs */
  @Column({ type: 'text' })
  body!: string;

  @Column({ type: 'text' })
  status!: DeliveryStatus;

  /** every attempt ever made, re-deliveries included: it only grows, and each claim's number fences its outcome */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** `attempts` when the delivery was last re-delivered (0 if never): the retry back-off counts from there */
  @Column({ type: 'integer', name: 'redelivered_at_attempt', default: 0 })
  redeliveredAtAttempt!: number;

  @Column({ type: 'timestamptz', name: 'next_attempt_at' })
  nextAttemptAt!: Date;

  /** retries stop here; a re-delivery moves it */
  @Column({ type: 'timestamptz', name: 'give_up_at' })
  giveUpAt!: Date;

  @Column({ type: 'timestamptz', name: 'leased_until', nullable: true })
  leasedUntil!: Date | null;

  @Column({ type: 'integer', name: 'last_status_code', nullable: true })
  lastStatusCode!: number | null;

  /** why the last attempt failed, a DeliveryFailureCode (null before codes were recorded, and once delivered) */
  @Column({ type: 'text', name: 'last_error_code', nullable: true })
  lastErrorCode!: string | null;

  /** the raw detail behind `last_error_code` */
  @Column({ type: 'text', name: 'last_error', nullable: true })
  lastError!: string | null;

  @Column({ type: 'timestamptz', name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'delivered_at', nullable: true })
  deliveredAt!: Date | null;
}

/** The delivery log: one row per HTTP attempt. */
@Entity({ name: 'webhook_attempts' })
@Index('IDX_webhook_attempts_started_at', ['startedAt'])
export class WebhookAttemptRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Index('IDX_webhook_attempts_delivery')
  @Column({ type: 'text', name: 'delivery_id' })
  deliveryId!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: 'timestamptz', name: 'started_at' })
  startedAt!: Date;

  @Column({ type: 'integer', name: 'status_code', nullable: true })
  statusCode!: number | null;

  /** why the attempt failed, a DeliveryFailureCode; null when it was delivered (and for attempts made before codes were recorded) */
  @Column({ type: 'text', name: 'error_code', nullable: true })
  errorCode!: string | null;

  /** the raw detail behind `error_code`: the HTTP status, Node's error code and message */
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ type: 'integer', name: 'latency_ms' })
  latencyMs!: number;
}

/**
 * The last number a stream of one endpoint handed out; its row lock makes two transactions adding to the stream take
 * turns. It outlives the stream's deliveries in the log, and goes once unused for longer than any event of a payment
 * can come after the one before (WebhookLogRetention).
 */
@Entity({ name: 'webhook_streams' })
@Index('IDX_webhook_streams_used_at', ['usedAt'])
export class WebhookStreamRow {
  @PrimaryColumn({ type: 'text', name: 'endpoint_id', primaryKeyConstraintName: 'PK_webhook_streams' })
  endpointId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'PK_webhook_streams' })
  stream!: string;

  @Column({ type: 'integer', name: 'last_sequence' })
  lastSequence!: number;

  /** when it last handed out a number */
  @Column({ type: 'timestamptz', name: 'used_at', default: () => 'now()' })
  usedAt!: Date;
}

export const WEBHOOK_ENTITIES = [WebhookEndpointRow, WebhookSecretRow, WebhookDeliveryRow, WebhookAttemptRow, WebhookStreamRow];
