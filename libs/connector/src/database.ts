import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';
import { AmsExchangeRow, RefundRouteRow, UnparsableNotificationRow } from './connector.entities';
import { AmsAuditAndRefundRoutes1764212400000, UnparsableNotifications1765584000000, UnparsableNotificationsReplayed1765670400000, UnparsableNotificationsRetention1765756800000, UnparsableNotificationsVerified1795910400000 } from './migrations';

/** The connector's own database: no other service reads it. */
export const CONNECTOR_DATABASE: DatabaseDefinition = {
  name: 'upm_connector',
  entities: [...KAFKA_ENTITIES, AmsExchangeRow, RefundRouteRow, UnparsableNotificationRow],
  migrations: [...KAFKA_MIGRATIONS, AmsAuditAndRefundRoutes1764212400000, UnparsableNotifications1765584000000, UnparsableNotificationsReplayed1765670400000, UnparsableNotificationsRetention1765756800000, UnparsableNotificationsVerified1795910400000],
};
