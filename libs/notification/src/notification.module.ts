import { ADMIN_TOKEN, AdminTokenGuard, JsonBodyGuard } from '@upm/shared-runtime';
import { DynamicModule, Inject, Module, OnModuleInit } from '@nestjs/common';
import { TOPICS } from '@upm/contracts';
import { KafkaRuntime } from '@upm/shared-kafka';
import { WebhooksAdminController } from './http/webhooks-admin.controller';
import { NOTIFICATION_OPTIONS, NotificationOptions } from './notification.options';
import { SecretBox } from './webhooks/secret-box';
import { enqueueWebhookDeliveries } from './webhooks/webhook-deliveries.consumer';
import { WebhookEndpointsService } from './webhooks/webhook-endpoints.service';
import { WebhookLogRetention } from './webhooks/webhook-log-retention';
import { WebhookWorker } from './webhooks/webhook.worker';

/** Merchant webhooks: a consumer that only writes delivery rows, and a worker pool that sends them. */
@Module({})
export class NotificationModule implements OnModuleInit {
  constructor(
    private readonly kafka: KafkaRuntime,
    private readonly worker: WebhookWorker,
    @Inject(NOTIFICATION_OPTIONS) private readonly options: NotificationOptions,
  ) {}

  static register(options: NotificationOptions): DynamicModule {
    return {
      module: NotificationModule,
      controllers: [WebhooksAdminController],
      providers: [
        { provide: NOTIFICATION_OPTIONS, useValue: options },
        { provide: ADMIN_TOKEN, useValue: options.adminToken },
        { provide: SecretBox, useValue: new SecretBox(options.secretKeys) },
        AdminTokenGuard,
        JsonBodyGuard,
        WebhookEndpointsService,
        WebhookWorker,
        WebhookLogRetention,
      ],
    };
  }

  onModuleInit(): void {
    // messages whose transaction wrote deliveries: only those wake the worker once committed (most events of a
    // merchant without endpoints write none, and the worker's poll catches anything missed)
    const wrote = new Set<string>();
    for (const [groupId, topic] of [['notification.webhooks', TOPICS.paymentEvents.name], ['notification.settlement-webhooks', TOPICS.settlementEvents.name]] as const) {
      this.kafka.consume({
        groupId,
        topic,
        handleBatch: async (envelopes, manager) => {
          for (const id of await enqueueWebhookDeliveries(manager, envelopes, this.options.retry.horizonMs)) wrote.add(id);
        },
        onProcessed: (envelope, applied) => {
          if (wrote.delete(envelope.id) && applied) this.worker.wake();
        },
      });
    }
  }
}
