import { commonEnv, databaseEnv, databaseSettings, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';
import { DEFAULT_SAGA_CONFIG } from '@upm/payments-domain';

const d = DEFAULT_SAGA_CONFIG;

/** Every environment variable payment-orchestrator reads; the timing ones are CONTRACTS.md §3. */
export const configDefinition = defineConfig(
  {
    PORT: env.port(3001), ...commonEnv, ...kafkaEnv, ...databaseEnv('upm_orchestrator', 20),
    ALIPAY_HTTP_TIMEOUT_MS: env.int(d.httpTimeoutMs, 1),
    SAGA_RESULT_GRACE_MS: env.int(d.resultGraceMs),
    SAGA_FIRST_INQUIRY_DELAY_MS: env.int(d.firstInquiryDelayMs, 1),
    SAGA_INQUIRY_INTERVAL_MS: env.int(d.inquiryIntervalMs, 1),
    SAGA_MAX_INQUIRIES: env.int(d.maxInquiries, 1),
    SAGA_CANCEL_RETRY_DELAYS_MS: env.intList(d.cancelRetryDelaysMs.join(',')),
    SAGA_REFUND_INQUIRY_DELAYS_MS: env.intList(d.refundInquiryDelaysMs.join(',')),
    SAGA_TIMER_POLL_MS: env.int(200, 10),
  },
  (e) => ({
    service: 'payment-orchestrator',
    logLevel: e.LOG_LEVEL,
    http: { port: e.PORT, host: e.HOST, shutdownGraceMs: e.SHUTDOWN_GRACE_MS },
    kafka: kafkaSettings(e),
    database: databaseSettings(e),
    orchestrator: {
      timerPollMs: e.SAGA_TIMER_POLL_MS,
      saga: {
        httpTimeoutMs: e.ALIPAY_HTTP_TIMEOUT_MS,
        resultGraceMs: e.SAGA_RESULT_GRACE_MS,
        firstInquiryDelayMs: e.SAGA_FIRST_INQUIRY_DELAY_MS,
        inquiryIntervalMs: e.SAGA_INQUIRY_INTERVAL_MS,
        maxInquiries: e.SAGA_MAX_INQUIRIES,
        cancelRetryDelaysMs: e.SAGA_CANCEL_RETRY_DELAYS_MS,
        refundInquiryDelaysMs: e.SAGA_REFUND_INQUIRY_DELAYS_MS,
      },
    },
  }),
);

export type AppConfig = ReturnType<typeof configDefinition.map>;
