/**
 * Timing of the saga (CONTRACTS.md §3, spec §10). All values are milliseconds; the runner maps them from
 * the environment and validates them at boot. The saga never reads a clock: it only adds these to `now`.
 */
export interface SagaConfig {
  /** ALIPAY_HTTP_TIMEOUT_MS: the connector gives up on an AMS call after this and answers `U`. */
  httpTimeoutMs: number;
  /**
   * Slack for Kafka and the connector on top of `httpTimeoutMs`. When a command got no answer at all
   * within httpTimeoutMs + resultGraceMs (connector down, lagging), the saga acts as if it had
   * answered `U`, so a payment can never hang in PROCESSING for want of a message.
   */
  resultGraceMs: number;
  /** SAGA_FIRST_INQUIRY_DELAY_MS: "no answer within 5 s after pay" starts the inquiries. */
  firstInquiryDelayMs: number;
  /** SAGA_INQUIRY_INTERVAL_MS: pause between an inquiry's answer and the next inquiry. */
  inquiryIntervalMs: number;
  /** SAGA_MAX_INQUIRIES: inquiries before cancelling (also the budget of the check after a refused cancel). */
  maxInquiries: number;
  /** SAGA_CANCEL_RETRY_DELAYS_MS: one cancel, then one retry per delay; still unknown → NEEDS_REVIEW. */
  cancelRetryDelaysMs: readonly number[];
  /**
   * Pause before each inquiryRefund after a refund answered `U` (back-off). UPM refunds are normally
   * synchronous, so a refund still unknown after all of them is flagged for review.
   */
  refundInquiryDelaysMs: readonly number[];
}

export const DEFAULT_SAGA_CONFIG: SagaConfig = Object.freeze({
  httpTimeoutMs: 8_000,
  resultGraceMs: 2_000,
  firstInquiryDelayMs: 5_000,
  inquiryIntervalMs: 3_000,
  maxInquiries: 15,
  cancelRetryDelaysMs: Object.freeze([2_000, 3_000, 3_000, 5_000, 5_000]),
  refundInquiryDelaysMs: Object.freeze([2_000, 5_000, 10_000, 30_000, 60_000, 120_000]),
});

/** How many cancels the saga sends before it gives up: the first one plus one per retry delay. */
export function maxCancels(config: SagaConfig): number {
  return 1 + config.cancelRetryDelaysMs.length;
}

/** How long the saga waits for any answer to a command before acting as if it had been `U`. */
export function answerDeadlineMs(config: SagaConfig): number {
  return config.httpTimeoutMs + config.resultGraceMs;
}

/** Every wrong setting, named, so a runner can refuse to boot with one clear message. */
export function sagaConfigProblems(config: SagaConfig): string[] {
  const problems: string[] = [];
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value <= 0) problems.push(`${name} must be a positive integer, got ${value}`);
  };
  positive('httpTimeoutMs', config.httpTimeoutMs);
  positive('firstInquiryDelayMs', config.firstInquiryDelayMs);
  positive('inquiryIntervalMs', config.inquiryIntervalMs);
  positive('maxInquiries', config.maxInquiries);
  if (!Number.isInteger(config.resultGraceMs) || config.resultGraceMs < 0) problems.push(`resultGraceMs must be a non-negative integer, got ${config.resultGraceMs}`);
  config.cancelRetryDelaysMs.forEach((d, i) => positive(`cancelRetryDelaysMs[${i}]`, d));
  config.refundInquiryDelaysMs.forEach((d, i) => positive(`refundInquiryDelaysMs[${i}]`, d));
  if (config.refundInquiryDelaysMs.length === 0) problems.push('refundInquiryDelaysMs must list at least one delay');
  return problems;
}
