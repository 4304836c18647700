import { context, propagation, ROOT_CONTEXT, Span, SpanKind } from '@opentelemetry/api';
import { withSpan } from '@upm/shared-observability';

/** The W3C trace context of the current span, to travel in Kafka headers. */
export function currentTraceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Runs `work` in a consumer span whose parent is the trace context the message carries. */
export function withConsumerSpan<T>(
  name: string,
  headers: Record<string, string>,
  attributes: Record<string, string | number>,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return withSpan(name, attributes, work, { kind: SpanKind.CONSUMER, parent: propagation.extract(ROOT_CONTEXT, headers) });
}
