import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';
import { WebhookDeliveryFailureCodes1764892800000, WebhookDeliveryStreams1764979200000, WebhookEndpointDisabling1765065600000, WebhookDeliveryStreamsOptional1765152000000, WebhookEndpointsAndDeliveries1764300000000, WebhookLogRetention1765238400000, WebhookRedeliverySchedule1764835200000, WebhookStreamsUsedAt1765324800000, WebhookDeliveryLeases1765411200000, WebhookEndpointBackoff1765497600000 } from './migrations';
import { WEBHOOK_ENTITIES } from './webhooks/webhook.entities';

/** The notification service's own database: no other service reads it. */
export const NOTIFICATION_DATABASE: DatabaseDefinition = {
  name: 'upm_notification',
  entities: [...KAFKA_ENTITIES, ...WEBHOOK_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS, WebhookEndpointsAndDeliveries1764300000000, WebhookRedeliverySchedule1764835200000, WebhookDeliveryFailureCodes1764892800000, WebhookDeliveryStreams1764979200000, WebhookEndpointDisabling1765065600000, WebhookDeliveryStreamsOptional1765152000000, WebhookLogRetention1765238400000, WebhookStreamsUsedAt1765324800000, WebhookDeliveryLeases1765411200000, WebhookEndpointBackoff1765497600000],
};
