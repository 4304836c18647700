import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger, Metrics as MetricsType } from '@upm/shared-observability';
import { Metrics, stopTracing } from '@upm/shared-observability';
import { httpMetricsMiddleware } from './http-metrics.middleware';
import { NestPinoLogger } from './nest-logger';
import { Readiness } from './readiness';
import { LOGGER } from './tokens';

export interface ServeOptions {
  port: number;
  host: string;
  shutdownGraceMs: number;
  /** keep each request's exact bytes as `req.rawBody` (needed to verify signed webhooks) */
  rawBody?: boolean;
  /** app-specific HTTP setup (OpenAPI, body limits) before listening */
  configure?: (app: NestExpressApplication) => void | Promise<void>;
}

/**
 * Creates the Nest application, serves HTTP and shuts down gracefully on SIGTERM/SIGINT: readiness turns
 * false at once, consumers and relays stop through their lifecycle hooks, the HTTP server drains, and a
 * process that is still busy after the grace period is ended.
 */
export async function runService(module: unknown, options: ServeOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module as never, { bufferLogs: true, abortOnError: false, rawBody: options.rawBody ?? false });
  const logger = app.get<Logger>(LOGGER);
  app.useLogger(new NestPinoLogger(logger));
  app.use(httpMetricsMiddleware(app.get<MetricsType>(Metrics)));
  app.set('trust proxy', true);
  app.disable('x-powered-by');
  await options.configure?.(app);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.get(Readiness).markShuttingDown();
    setTimeout(() => {
      logger.error({ graceMs: options.shutdownGraceMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, options.shutdownGraceMs).unref();
    app.close().then(
      async () => {
        logger.info('stopped');
        await stopTracing();
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  await app.listen(options.port, options.host);
  logger.info({ port: options.port, host: options.host }, 'listening');
  return app;
}

/** For main.ts: a service that cannot start logs why and exits non-zero. */
export function exitOnStartupFailure(error: unknown): never {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'startup failed', err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) })}\n`);
  process.exit(1);
}
