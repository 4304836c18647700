import { DynamicModule, Module, OnModuleInit } from '@nestjs/common';
import { PaymentViewV1, TOPICS } from '@upm/contracts';
import { KafkaRuntime } from '@upm/shared-kafka';
import { ADMIN_TOKEN, AdminTokenGuard, JsonBodyGuard } from '@upm/shared-runtime';
import { TerminalGuard, TerminalRateLimitGuard } from './http/auth.guards';
import { AdminController } from './http/admin.controller';
import { PosController } from './http/pos.controller';
import { GATEWAY_OPTIONS, GatewayOptions } from './gateway.options';
import { Admission } from './payments/admission';
import { PaymentUpdates } from './payments/payment-updates';
import { PaymentsService } from './payments/payments.service';
import { TerminalRateLimiter } from './payments/rate-limiter';
import { RegistryService } from './registry/registry.service';
import { TerminalEventsController } from './http/terminal-events.controller';
import { TerminalEventsRetention } from './terminal-events/retention';
import { TerminalEventsHub } from './terminal-events/terminal-events';

/** The POS API, the registry and the read model of payments kept from payments.v1.events. */
@Module({})
export class GatewayModule implements OnModuleInit {
  constructor(
    private readonly kafka: KafkaRuntime,
    private readonly payments: PaymentsService,
    private readonly updates: PaymentUpdates,
    private readonly terminalEvents: TerminalEventsHub,
  ) {}

  static register(options: GatewayOptions): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [PosController, AdminController, TerminalEventsController],
      providers: [{ provide: GATEWAY_OPTIONS, useValue: options }, RegistryService, Admission, PaymentsService, PaymentUpdates, TerminalRateLimiter, TerminalGuard, TerminalRateLimitGuard, JsonBodyGuard, { provide: ADMIN_TOKEN, useValue: options.adminToken }, AdminTokenGuard, TerminalEventsHub, TerminalEventsRetention],
    };
  }

  onModuleInit(): void {
    this.kafka.consume({
      groupId: 'terminal-gateway.read-model',
      topic: TOPICS.paymentEvents.name,
      withBatch: async (envelopes, manager, handleAll) => {
        await this.payments.lockTerminals(manager, envelopes);
        return handleAll();
      },
      handle: (envelope, { manager }) => this.payments.applyEvent(manager, envelope),
      onProcessed: (envelope) => {
        const { payment } = envelope.data as { payment?: PaymentViewV1 };
        if (!payment) return;
        this.updates.publish(payment).catch(() => undefined);
        this.terminalEvents.publish(payment.terminalId).catch(() => undefined);
      },
    });
  }
}
