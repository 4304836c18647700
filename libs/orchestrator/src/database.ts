import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';
import { SagasAndTimers1764208800000 } from './migrations';
import { SagaRow, TimerRow } from './saga.entities';

/** The orchestrator's own database: no other service reads it. */
export const ORCHESTRATOR_DATABASE: DatabaseDefinition = {
  name: 'upm_orchestrator',
  entities: [...KAFKA_ENTITIES, SagaRow, TimerRow],
  migrations: [...KAFKA_MIGRATIONS, SagasAndTimers1764208800000],
};
