import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';

/** The gateway service's own database: no other service reads it. */
export const GATEWAY_DATABASE: DatabaseDefinition = {
  name: 'upm_gateway',
  entities: [...KAFKA_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS],
};
