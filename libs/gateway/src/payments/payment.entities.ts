import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import type { PaymentStatus, PaymentViewV1, RefundViewV1 } from '@upm/contracts';

/**
 * The gateway's own view of a payment: written when the POS creates it (the idempotency record), then kept
 * up to date from payments.v1.events. `sequence` lets late or repeated events be ignored.
 */
@Entity({ name: 'payments' })
@Unique('UQ_payments_merchant_order', ['merchantId', 'merchantOrderId'])
export class PaymentRow {
  @PrimaryColumn({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text', name: 'merchant_order_id' })
  merchantOrderId!: string;

  @Index('IDX_payments_terminal')
  @Column({ type: 'text', name: 'terminal_id' })
  terminalId!: string;

  /** hash of the request that created it: the same key with another body is a conflict */
  @Column({ type: 'text', name: 'request_hash' })
  requestHash!: string;

  @Column({ type: 'text' })
  status!: PaymentStatus;

  @Column({ type: 'integer', default: -1 })
  sequence!: number;

  @Column({ type: 'jsonb' })
  view!: PaymentViewV1;
}

@Entity({ name: 'refunds' })
@Unique('UQ_refunds_payment_request', ['paymentId', 'refundRequestId'])
export class RefundRow {
  @PrimaryColumn({ type: 'text', name: 'refund_id' })
  refundId!: string;

  @Column({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text', name: 'refund_request_id' })
  refundRequestId!: string;

  @Column({ type: 'text', name: 'request_hash' })
  requestHash!: string;

  @Column({ type: 'text' })
  status!: RefundViewV1['status'];

  @Column({ type: 'jsonb' })
  view!: RefundViewV1;
}

/**
 * A cancel the orchestrator refused (its PaymentCancelRefused), by the id of the CancelPayment command the gateway
 * sent: the POS request waiting on that cancel answers with the refusal. Kept only while a POS may still wait.
 */
@Entity({ name: 'cancel_refusals' })
export class CancelRefusalRow {
  @PrimaryColumn({ type: 'text', name: 'command_id' })
  commandId!: string;

  @Column({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  message!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'refused_at' })
  refusedAt!: Date;
}
