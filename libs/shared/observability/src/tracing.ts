import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { Context, context, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

let sdk: NodeSDK | undefined;

type Instrumentation = ReturnType<typeof getNodeAutoInstrumentations>[number];

/**
 * What is instrumented when spans are recorded: HTTP in and out, Express/Nest routes, fetch, PostgreSQL
 * and Redis.
 */
function recordedInstrumentations(): Instrumentation[] {
  return getNodeAutoInstrumentations({
    '@opentelemetry/instrumentation-fs': { enabled: false },
    '@opentelemetry/instrumentation-dns': { enabled: false },
    '@opentelemetry/instrumentation-net': { enabled: false },
    '@opentelemetry/instrumentation-pino': { enabled: false },
    // a query belongs to a request, a message or a timer; background polls (relay, timers) are not traces
    '@opentelemetry/instrumentation-pg': { requireParentSpan: true },
    '@opentelemetry/instrumentation-ioredis': { requireParentSpan: true },
    // Kafka context travels in our own envelope headers (libs/shared/kafka); the relay's batches are not a payment's span
    '@opentelemetry/instrumentation-kafkajs': { enabled: false },
  });
}

/**
 * What carries a trace between processes, all that is instrumented when nothing is recorded: HTTP in and
 * out (`traceparent` read and sent) and fetch. Route, middleware, query and Redis spans would only be
 * created and dropped on every call; leaving them out saves about a twentieth of the platform's CPU per
 * payment (docs/benchmarks.md).
 */
function carryingInstrumentations(): Instrumentation[] {
  return [new HttpInstrumentation(), new UndiciInstrumentation()];
}

/**
 * Starts OpenTelemetry before anything else is loaded (apps call it from `instrumentation.ts`, the first
 * import of `main.ts`). Spans are always created, so trace ids reach every log line and travel in Kafka
 * headers as W3C `traceparent`; they are recorded and exported only when the standard `OTEL_*` variables
 * ask for it (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`, sampled by `OTEL_TRACES_SAMPLER`). `OTEL_SDK_DISABLED=true` turns tracing off entirely.
 */
export function startTracing(service: string): void {
  if (sdk || process.env.OTEL_SDK_DISABLED === 'true') return;
  const exporting = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_TRACES_EXPORTER);
  sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? service,
    // Without an exporter nothing is recorded: spans are created unsampled, which still gives every request
    // and message a real trace id (for log lines and the traceparent it carries on) at a fraction of the cost.
    // OTEL_TRACES_SAMPLER (e.g. parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG) chooses otherwise.
    ...(exporting ? {} : { spanProcessors: [new tracing.NoopSpanProcessor()] }),
    ...(exporting || process.env.OTEL_TRACES_SAMPLER ? {} : { sampler: new tracing.AlwaysOffSampler() }),
    // metrics are Prometheus (/metrics) and logs are JSON on stdout; OTLP pushes of either only on request
    ...(process.env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(process.env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
    instrumentations: exporting ? recordedInstrumentations() : carryingInstrumentations(),
  });
  sdk.start();
}

/** Flushes the spans still buffered for export and stops the SDK; bounded so a dead collector cannot hold a shutdown. */
export async function stopTracing(timeoutMs = 2000): Promise<void> {
  const current = sdk;
  sdk = undefined;
  if (!current) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    current.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

const tracer = trace.getTracer('upm');

/**
 * Runs `work` in a new span (a root when nothing is active): for work that starts on its own, such as a
 * durable timer firing, so that its queries, log lines and the messages it writes share one trace id.
 */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  work: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes, kind: options.kind ?? SpanKind.INTERNAL }, options.parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
