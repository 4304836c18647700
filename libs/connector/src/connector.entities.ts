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
