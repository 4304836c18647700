import { DynamicModule, Module } from '@nestjs/common';
import { SETTLEMENT_DATABASE, SettlementModule } from '@upm/settlement';
import { DatabaseModule } from '@upm/shared-database';
import { KafkaModule } from '@upm/shared-kafka';
import { RuntimeModule } from '@upm/shared-runtime';
import type { AppConfig } from './config';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RuntimeModule.forRoot({ service: config.service, logLevel: config.logLevel }),
        DatabaseModule.forRoot(SETTLEMENT_DATABASE, config.database),
        KafkaModule.forRoot({ ...config.kafka, clientId: config.service, databaseUrl: config.database.url }),
        SettlementModule.register(config.settlement),
      ],
    };
  }
}
