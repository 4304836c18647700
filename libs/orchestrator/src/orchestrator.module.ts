import { DynamicModule, Module, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Envelope, TOPICS } from '@upm/contracts';
import type { SagaConfig, SagaInput } from '@upm/payments-domain';
import { ConsumerOptions, KafkaRuntime, MessageContext } from '@upm/shared-kafka';
import { SAGA_CONFIG, SagaRunner } from './saga-runner';
import { TIMER_POLL_MS, TimerPoller } from './timer-poller';

export interface OrchestratorOptions {
  saga: SagaConfig;
  timerPollMs: number;
}

/**
 * The payment saga: POS commands, Alipay results and the reviews settlement settled from Alipay's reports in,
 * Alipay commands and payment events out, timers as rows.
 */
@Module({})
export class OrchestratorModule implements OnModuleInit {
  constructor(
    private readonly kafka: KafkaRuntime,
    private readonly runner: SagaRunner,
  ) {}

  static register(options: OrchestratorOptions): DynamicModule {
    return {
      module: OrchestratorModule,
      providers: [{ provide: SAGA_CONFIG, useValue: options.saga }, { provide: TIMER_POLL_MS, useValue: options.timerPollMs }, SagaRunner, TimerPoller],
      exports: [SagaRunner, TimerPoller],
    };
  }

  onModuleInit(): void {
    for (const consumer of sagaConsumers(this.runner)) this.kafka.consume(consumer);
  }
}

/**
 * The saga's three consumer groups: POS commands, Alipay results, and the reviews settlement settled from Alipay's
 * reports. Each message is applied once per group (the inbox), in the transaction that stores the saga it moved.
 */
export function sagaConsumers(runner: SagaRunner): ConsumerOptions[] {
  // The catalog validated each message against its schema, so its type and data are those of a SagaInput.
  const toSaga = (envelope: Envelope) => ({ type: envelope.type, data: envelope.data }) as SagaInput;
  const sagaSteps = {
    // a batch's sagas are locked and loaded together, and stored together once its messages are applied
    withBatch: <T>(envelopes: Envelope[], manager: EntityManager, handleAll: () => Promise<T>) => runner.inBatch(manager, envelopes.map((e) => e.key), handleAll),
    handle: async (envelope: Envelope, { manager }: MessageContext) => void (await runner.run(manager, envelope.key, toSaga(envelope), envelope)),
  };
  return [
    { groupId: 'payment-orchestrator.commands', topic: TOPICS.paymentCommands.name, ...sagaSteps },
    { groupId: 'payment-orchestrator.results', topic: TOPICS.alipayResults.name, ...sagaSteps },
    // settlement.v1.events: only a review the report files settled is the saga's; the ledger's and batches' events
    // (one or more per payment) are passed over as they are read
    { groupId: 'payment-orchestrator.reviews', topic: TOPICS.settlementEvents.name, types: new Set(['PaymentReviewResolved']), ...sagaSteps },
  ];
}
