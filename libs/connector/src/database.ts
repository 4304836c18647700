import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';

/** The connector service's own database: no other service reads it. */
export const CONNECTOR_DATABASE: DatabaseDefinition = {
  name: 'upm_connector',
  entities: [...KAFKA_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS],
};
