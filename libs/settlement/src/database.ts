import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';

/** The settlement service's own database: no other service reads it. */
export const SETTLEMENT_DATABASE: DatabaseDefinition = {
  name: 'upm_settlement',
  entities: [...KAFKA_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS],
};
