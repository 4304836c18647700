import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';

/** The orchestrator service's own database: no other service reads it. */
export const ORCHESTRATOR_DATABASE: DatabaseDefinition = {
  name: 'upm_orchestrator',
  entities: [...KAFKA_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS],
};
