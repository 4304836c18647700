import { createLogger, Logger } from '@upm/shared-observability';

/** A logger for tests: quiet unless TEST_LOG_LEVEL asks for more. */
export function testLogger(service = 'test'): Logger {
  return createLogger(service, process.env.TEST_LOG_LEVEL ?? 'silent');
}
