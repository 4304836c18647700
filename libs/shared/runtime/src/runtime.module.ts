import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { createLogger, Metrics } from '@upm/shared-observability';
import { HealthController } from './health.controller';
import { HttpErrorFilter } from './http-error.filter';
import { Readiness } from './readiness';
import { LOGGER, SERVICE_NAME } from './tokens';

export interface RuntimeOptions {
  service: string;
  logLevel: string;
}

/** What every service has: its logger, its metrics registry, readiness checks, health and metrics endpoints, error bodies. */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(options: RuntimeOptions): DynamicModule {
    return {
      module: RuntimeModule,
      controllers: [HealthController],
      providers: [
        { provide: SERVICE_NAME, useValue: options.service },
        { provide: LOGGER, useValue: createLogger(options.service, options.logLevel) },
        { provide: Metrics, useValue: new Metrics(options.service) },
        Readiness,
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
      exports: [SERVICE_NAME, LOGGER, Metrics, Readiness],
    };
  }
}
