import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { Admin, Kafka, Producer } from 'kafkajs';
import { DataSource } from 'typeorm';
import { Logger, Metrics } from '@upm/shared-observability';
import { TablePruner } from '@upm/shared-database';
import { LOGGER, Readiness } from '@upm/shared-runtime';
import { ConsumerOptions, IdempotentConsumer } from './consumer';
import { inboxPruner } from './inbox-pruner';
import { createKafka, KafkaSettings } from './kafka';
import { ConsumerLag } from './lag';
import { OutboxRelay } from './outbox';

export const KAFKA_SETTINGS = Symbol('KAFKA_SETTINGS');

export interface KafkaModuleOptions extends KafkaSettings {
  databaseUrl: string;
}

/**
 * The service's Kafka side: one idempotent producer, the outbox relay, the consumers the service
 * registers, and the pruning of their inbox. Consumers start once the application is up and stop first
 * on shutdown; the relay then publishes what is left and the producer disconnects last.
 */
@Injectable()
export class KafkaRuntime implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly consumers: IdempotentConsumer[] = [];
  readonly relay: OutboxRelay;
  readonly producer: Producer;
  private admin?: Admin;
  private readonly lag: ConsumerLag;
  private readonly pruner: TablePruner;

  constructor(
    @Inject(Kafka) readonly kafka: Kafka,
    @Inject(KAFKA_SETTINGS) readonly settings: KafkaModuleOptions,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) private readonly metrics: Metrics,
    private readonly readiness: Readiness,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.relay = new OutboxRelay(dataSource, this.producer, logger, metrics, { topicPrefix: settings.topicPrefix, databaseUrl: settings.databaseUrl });
    this.lag = new ConsumerLag(() => this.admin, () => this.consumers, logger, metrics, { topicPrefix: settings.topicPrefix });
    this.pruner = inboxPruner(dataSource, logger, metrics, { retentionHours: this.inboxRetentionHours });
  }

  /** How long a consumed message id is remembered: longer than Kafka can deliver the message again. */
  get inboxRetentionHours(): number {
    return this.settings.inboxRetentionHours ?? 336;
  }

  /** Registers a consumer; it starts with the application. */
  consume(options: ConsumerOptions): IdempotentConsumer {
    const consumer = new IdempotentConsumer(this.kafka, this.producer, this.dataSource, this.logger, this.metrics, this.settings.topicPrefix, {
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      ...options,
    });
    this.consumers.push(consumer);
    return consumer;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.readiness.register('kafka', async () => {
      const cluster = await this.admin!.describeCluster();
      if (!cluster.brokers.length) throw new Error('no brokers');
    });
    await this.producer.connect();
    await this.relay.start();
    await Promise.all(this.consumers.map((c) => c.start()));
    this.pruner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pruner.stop();
    await Promise.all(this.consumers.map((c) => c.stop()));
    this.lag.clear();
    await this.relay.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}

@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      module: KafkaModule,
      providers: [
        { provide: KAFKA_SETTINGS, useValue: options },
        { provide: Kafka, inject: [LOGGER], useFactory: (logger: Logger) => createKafka(options, logger) },
        KafkaRuntime,
      ],
      exports: [Kafka, KafkaRuntime, KAFKA_SETTINGS],
    };
  }
}
