import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';
import { GatewayRegistryAndPayments1764205200000 } from './migrations';
import { PaymentRow, RefundRow } from './payments/payment.entities';
import { MerchantRow, StoreRow, TerminalRow } from './registry/registry.entities';

/** The gateway's own database: no other service reads it. */
export const GATEWAY_DATABASE: DatabaseDefinition = {
  name: 'upm_gateway',
  entities: [...KAFKA_ENTITIES, MerchantRow, StoreRow, TerminalRow, PaymentRow, RefundRow],
  migrations: [...KAFKA_MIGRATIONS, GatewayRegistryAndPayments1764205200000],
};
