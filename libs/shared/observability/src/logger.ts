import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { Logger, LoggerOptions } from 'pino';
import { ERROR_VALUE_FIELDS, REDACT_PATHS } from './redaction';

export type { Logger };

/**
 * JSON logs with the service name, the active trace id, and the central redaction list applied; an error
 * logged as `err` keeps none of the statement values a database error carries, whoever logs it.
 */
export function createLogger(service: string, level: string = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: { err: serializeError },
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      if (!spanContext || !isSpanContextValid(spanContext)) return {};
      return { traceId: spanContext.traceId, spanId: spanContext.spanId };
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

type SerializedError = ReturnType<typeof pino.stdSerializers.err>;

/** pino's own error serializer, less `ERROR_VALUE_FIELDS` on the error and on every error it holds. */
function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error);
  if (serialized === err) return err;
  withoutValues(serialized, Object.getPrototypeOf(serialized) as object);
  return serialized;
}

/** `serialized` and the errors inside it (objects of pino's own serialized-error prototype) are new objects, so this mutates nothing that was logged. */
function withoutValues(serialized: SerializedError, prototype: object): void {
  for (const field of ERROR_VALUE_FIELDS) delete serialized[field];
  for (const value of Object.values(serialized)) {
    for (const inner of Array.isArray(value) ? value : [value]) {
      if (inner !== null && typeof inner === 'object' && Object.getPrototypeOf(inner) === prototype) withoutValues(inner as SerializedError, prototype);
    }
  }
}
