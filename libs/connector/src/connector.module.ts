import { DynamicModule, Inject, Module, OnModuleInit, OnApplicationShutdown } from '@nestjs/common';
import { ADMIN_TOKEN, AdminTokenGuard, JsonBodyGuard } from '@upm/shared-runtime';
import { AmsClient, AmsCredentials, KeyInput, loadPublicKey } from '@upm/alipay';
import { TOPICS } from '@upm/contracts';
import { ConsumerOptions, KafkaRuntime } from '@upm/shared-kafka';
import { CONNECTOR_OPTIONS, ConnectorOptions } from './connector.options';
import { AmsAnswer, ConnectorService } from './connector.service';
import { ALIPAY_PUBLIC_KEYS, ALIPAY_RETIRED_PUBLIC_KEYS, NotificationIntake } from './notification-intake';
import { NotifyController } from './notify.controller';
import { UnparsableNotifications, UnparsableNotificationsRetention } from './unparsable-notifications';
import { UnparsableNotificationsController } from './unparsable-notifications.controller';

export interface ConnectorModuleOptions extends ConnectorOptions {
  baseUrl: string;
  timeoutMs: number;
  credentials: AmsCredentials[];
  /** Alipay's public keys retired by a rotation: a replayed kept notification may verify with them, a post never */
  retiredAlipayPublicKeys?: KeyInput[];
  /** guards the admin API (the kept unread notifications) */
  adminToken: string;
}

/**
 * How the connector consumes alipay.v1 commands: each AMS call is made in `prepare`, outside any transaction
 * (and only once the command's key is not parked), and its answer recorded in `handle`.
 */
export function commandConsumer(connector: ConnectorService): ConsumerOptions {
  return {
    groupId: 'alipay-connector.commands',
    topic: TOPICS.alipayCommands.name,
    prepare: (envelope) => connector.call(envelope),
    handle: (envelope, { manager, prepared }) => connector.record(manager, envelope, prepared as AmsAnswer),
  };
}

/** Every call to Alipay AMS, the webhook Alipay calls back, and the admin API over the notifications it could not read. */
@Module({})
export class ConnectorModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly kafka: KafkaRuntime,
    private readonly connector: ConnectorService,
    @Inject(AmsClient) private readonly client: AmsClient,
  ) {}

  static register(options: ConnectorModuleOptions): DynamicModule {
    // parsed once: a notification is verified with a ready KeyObject, not a PEM parsed per request
    const keys = new Map<string, KeyInput>(options.credentials.map((c) => [c.clientId, loadPublicKey(c.alipayPublicKey)]));
    const retiredKeys: KeyInput[] = (options.retiredAlipayPublicKeys ?? []).map((key) => loadPublicKey(key));
    return {
      module: ConnectorModule,
      controllers: [NotifyController, UnparsableNotificationsController],
      providers: [
        { provide: CONNECTOR_OPTIONS, useValue: options },
        { provide: ALIPAY_PUBLIC_KEYS, useValue: keys },
        { provide: ALIPAY_RETIRED_PUBLIC_KEYS, useValue: retiredKeys },
        { provide: AmsClient, useFactory: () => new AmsClient({ baseUrl: options.baseUrl, credentials: options.credentials, timeoutMs: options.timeoutMs, maxSockets: options.maxConcurrency }) },
        ConnectorService,
        NotificationIntake,
        UnparsableNotifications,
        UnparsableNotificationsRetention,
        { provide: ADMIN_TOKEN, useValue: options.adminToken },
        AdminTokenGuard,
        JsonBodyGuard,
      ],
    };
  }

  onModuleInit(): void {
    this.kafka.consume(commandConsumer(this.connector));
  }

  onApplicationShutdown(): void {
    this.client.close();
  }
}
