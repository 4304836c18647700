import { BeforeApplicationShutdown, DynamicModule, Inject, Module } from '@nestjs/common';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { AmsController } from './ams.controller';
import { Sandbox } from './sandbox';
import { SandboxAdminController } from './sandbox-admin.controller';
import { SandboxClock } from './sandbox-clock';
import type { SandboxSettings } from './sandbox-settings';

/** The sandbox as a Nest feature: AMS paths, `/sandbox/...` endpoints, and one in-memory Sandbox. */
@Module({})
export class SandboxModule implements BeforeApplicationShutdown {
  constructor(@Inject(Sandbox) private readonly sandbox: Sandbox) {}

  static register(settings: SandboxSettings): DynamicModule {
    return {
      module: SandboxModule,
      controllers: [AmsController, SandboxAdminController],
      providers: [
        { provide: SandboxClock, useValue: new SandboxClock() },
        {
          provide: Sandbox,
          inject: [LOGGER, Metrics, SandboxClock],
          useFactory: (logger: Logger, metrics: Metrics, clock: SandboxClock) => {
            const answers = metrics.counter('sandbox_ams_answers_total', 'AMS answers of the sandbox by API and outcome', ['api', 'outcome']);
            return new Sandbox(settings, { logger, clock, onAnswer: (api, outcome) => answers.inc({ api, outcome }) });
          },
        },
      ],
      exports: [Sandbox, SandboxClock],
    };
  }

  // Before the HTTP server closes: a held answer (scenarios 83/84) would otherwise keep it open for the whole hang.
  beforeApplicationShutdown(): void {
    this.sandbox.close();
  }
}
