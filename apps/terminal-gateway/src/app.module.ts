import { DynamicModule, Module } from '@nestjs/common';
import { GATEWAY_DATABASE, GatewayModule } from '@upm/gateway';
import { DatabaseModule } from '@upm/shared-database';
import { KafkaModule } from '@upm/shared-kafka';
import { RedisModule } from '@upm/shared-redis';
import { RuntimeModule } from '@upm/shared-runtime';
import type { AppConfig } from './config';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RuntimeModule.forRoot({ service: config.service, logLevel: config.logLevel }),
        DatabaseModule.forRoot(GATEWAY_DATABASE, config.database),
        KafkaModule.forRoot({ ...config.kafka, clientId: config.service, databaseUrl: config.database.url }),
        // reads need Redis for nothing but the rate limit, which falls back to each replica's own; every replica
        // shares this Redis, so taking them all out of the load balancer would only stop the reads too
        RedisModule.forRoot(config.redisUrl, 'gw:', { requiredForReadiness: false }),
        GatewayModule.register(config.gateway),
      ],
    };
  }
}
