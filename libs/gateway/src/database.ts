import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';
import { GatewayRegistryAndPayments1764205200000, GatewayTerminalsOfTheirStoresMerchant1795910400000 } from './migrations';
import { CancelRefusalRow, PaymentRow, RefundRow } from './payments/payment.entities';
import { GatewayCancelRefusals1764979200000 } from './payments/payments.migration';
import { MerchantRow, StoreRow, TerminalRow } from './registry/registry.entities';
import { TerminalEventHorizonRow, TerminalEventRow } from './terminal-events/terminal-event.entity';
import { GatewayTerminalEventHorizons1764864000000, GatewayTerminalEvents1764303600000 } from './terminal-events/terminal-events.migration';

/** The gateway's own database: no other service reads it. */
export const GATEWAY_DATABASE: DatabaseDefinition = {
  name: 'upm_gateway',
  entities: [...KAFKA_ENTITIES, MerchantRow, StoreRow, TerminalRow, PaymentRow, RefundRow, CancelRefusalRow, TerminalEventRow, TerminalEventHorizonRow],
  migrations: [...KAFKA_MIGRATIONS, GatewayRegistryAndPayments1764205200000, GatewayTerminalEvents1764303600000, GatewayTerminalEventHorizons1764864000000, GatewayCancelRefusals1764979200000,
    GatewayTerminalsOfTheirStoresMerchant1795910400000],
};
