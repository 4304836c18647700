import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry before anything else is loaded (apps call it from `instrumentation.ts`, the first
 * import of `main.ts`). Spans are always created, so trace ids reach every log line and travel in Kafka
 * headers as W3C `traceparent`; they are exported only when the standard `OTEL_*` variables ask for it
 * (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`). `OTEL_SDK_DISABLED=true` turns tracing off entirely.
 */
export function startTracing(service: string): void {
  if (sdk || process.env.OTEL_SDK_DISABLED === 'true') return;
  const exporting = Boolean(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_TRACES_EXPORTER);
  sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? service,
    // without an exporter, a processor that drops spans still makes the SDK record real trace ids
    ...(exporting ? {} : { spanProcessors: [new tracing.NoopSpanProcessor()] }),
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        '@opentelemetry/instrumentation-pino': { enabled: false },
        // Kafka context travels in our own envelope headers (libs/shared/kafka); the relay's batches are not a payment's span
        '@opentelemetry/instrumentation-kafkajs': { enabled: false },
      }),
    ],
  });
  sdk.start();
}

export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
