import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';

@Entity({ name: 'merchants' })
export class MerchantRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  mcc!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

@Entity({ name: 'stores' })
@Unique('UQ_stores_id_merchant', ['id', 'merchantId']) // what a terminal's store and merchant refer to together
export class StoreRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Index('IDX_stores_merchant')
  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  mcc!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/** A POS terminal. Its key is shown once; only a SHA-256 of the key's secret part is kept. */
@Entity({ name: 'terminals' })
export class TerminalRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Index('IDX_terminals_store')
  @Column({ type: 'text', name: 'store_id' })
  storeId!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  /** the database refuses a terminal whose merchant is not its store's */
  @ManyToOne(() => StoreRow, { onDelete: 'NO ACTION' })
  @JoinColumn([{ name: 'store_id', referencedColumnName: 'id', foreignKeyConstraintName: 'FK_terminals_store_merchant' }, { name: 'merchant_id', referencedColumnName: 'merchantId' }])
  store?: StoreRow;

  /** the public half of the key, used to find the terminal */
  @Index('IDX_terminals_key_id', { unique: true })
  @Column({ type: 'text', name: 'key_id' })
  keyId!: string;

  @Column({ type: 'text', name: 'key_hash' })
  keyHash!: string;

  @Column({ type: 'text', default: 'ACTIVE' })
  status!: 'ACTIVE' | 'REVOKED';

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', name: 'key_rotated_at', nullable: true })
  keyRotatedAt!: Date | null;
}
