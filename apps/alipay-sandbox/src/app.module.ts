import { DynamicModule, Module } from '@nestjs/common';
import { SandboxModule } from '@upm/sandbox';
import { RuntimeModule } from '@upm/shared-runtime';
import type { AppConfig } from './config';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [RuntimeModule.forRoot({ service: config.service, logLevel: config.logLevel }), SandboxModule.register(config.sandbox)],
    };
  }
}
