import { commonEnv, ConfigError, databaseEnv, databaseSettings, defineConfig, env, kafkaEnv, kafkaSettings } from '@upm/shared-config';
import { DEFAULT_SAGA_CONFIG, SagaConfig, sagaConfigProblems } from '@upm/payments-domain';

const d = DEFAULT_SAGA_CONFIG;

/** The variable each saga setting comes from, so a refused value is named as the operator wrote it. */
const SAGA_ENV: Record<keyof SagaConfig, string> = {
  httpTimeoutMs: 'ALIPAY_HTTP_TIMEOUT_MS',
  resultGraceMs: 'SAGA_RESULT_GRACE_MS',
  firstInquiryDelayMs: 'SAGA_FIRST_INQUIRY_DELAY_MS',
  inquiryIntervalMs: 'SAGA_INQUIRY_INTERVAL_MS',
  maxInquiries: 'SAGA_MAX_INQUIRIES',
  cancelRetryDelaysMs: 'SAGA_CANCEL_RETRY_DELAYS_MS',
  refundInquiryDelaysMs: 'SAGA_REFUND_INQUIRY_DELAYS_MS',
};

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
      saga: sagaConfig({
        httpTimeoutMs: e.ALIPAY_HTTP_TIMEOUT_MS,
        resultGraceMs: e.SAGA_RESULT_GRACE_MS,
        firstInquiryDelayMs: e.SAGA_FIRST_INQUIRY_DELAY_MS,
        inquiryIntervalMs: e.SAGA_INQUIRY_INTERVAL_MS,
        maxInquiries: e.SAGA_MAX_INQUIRIES,
        cancelRetryDelaysMs: e.SAGA_CANCEL_RETRY_DELAYS_MS,
        refundInquiryDelaysMs: e.SAGA_REFUND_INQUIRY_DELAYS_MS,
      }),
    },
  }),
);

/** The saga's timing as the saga itself checks it (a delay of zero passes the variables' own format). */
function sagaConfig(saga: SagaConfig): SagaConfig {
  const problems = sagaConfigProblems(saga).map((problem) => problem.replace(/^\w+/, (name) => SAGA_ENV[name as keyof SagaConfig] ?? name));
  if (problems.length) throw new ConfigError(problems);
  return saga;
}

export type AppConfig = ReturnType<typeof configDefinition.map>;
