import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { Logger, LoggerOptions } from 'pino';
import { REDACT_PATHS } from './redaction';

export type { Logger };

/** JSON logs with the service name, the active trace id, and the central redaction list applied. */
export function createLogger(service: string, level: string = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      if (!spanContext || !isSpanContextValid(spanContext)) return {};
      return { traceId: spanContext.traceId, spanId: spanContext.spanId };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
