import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';

/** The notification service's own database: no other service reads it. */
export const NOTIFICATION_DATABASE: DatabaseDefinition = {
  name: 'upm_notification',
  entities: [...KAFKA_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS],
};
