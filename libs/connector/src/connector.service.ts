import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AmsCallResult, AmsClient, AUTHENTICATION_FAILURE_CODES, isUntrustedAnswer, UntrustedAnswerProblem, untrustedAnswerCause } from '@upm/alipay';
import { createEnvelope, Envelope, PayCommandV1, RefundCommandV1, TOPICS } from '@upm/contracts';
import { writeWithOutbox } from '@upm/shared-kafka';
import { Logger, maskCodesInText, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { AmsThrottle } from './ams-throttle';
import { cancelResult, inquireRefundResult, inquiryResult, payResult, payInput, refundRequest, refundResult } from './ams-translation';
import { CONNECTOR_OPTIONS, ConnectorOptions } from './connector.options';

const PRODUCER = 'alipay-connector';

/** Every AMS API the connector calls, as its metrics name them. */
const AMS_APIS = ['pay', 'inquiryPayment', 'cancel', 'refund', 'inquiryRefund'] as const;
type AmsApi = (typeof AMS_APIS)[number];

/**
 * The untrusted answers a misconfiguration brings, shown at 0 from start-up so that the first one counts in
 * Prometheus' increase() (UpmAlipayAnswersUntrusted): a wrong private key or client id gets Alipay's unsigned
 * authentication failures (or no result at all, NONE), a wrong Alipay public key fails Alipay's own answers: SUCCESS,
 * and from a pay or a refund mostly the in-process code only that API answers (spec §4, §7). Any other claimed code
 * appears when it first happens.
 */
function foreseenUntrusted(api: AmsApi): Array<{ problem: UntrustedAnswerProblem; result_code: string }> {
  const inProcess: Partial<Record<AmsApi, string>> = { pay: 'PAYMENT_IN_PROCESS', refund: 'REFUND_IN_PROCESS' };
  return [
    ...[...AUTHENTICATION_FAILURE_CODES, 'NONE'].map((code) => ({ problem: 'UNSIGNED_RESPONSE' as const, result_code: code })),
    ...['SUCCESS', ...(inProcess[api] ? [inProcess[api]] : [])].map((code) => ({ problem: 'INVALID_RESPONSE_SIGNATURE' as const, result_code: code })),
  ];
}

type Ref = { paymentId: string; paymentRequestId: string; attempt: number };
type InquireRefund = Ref & { refundId: string; refundRequestId: string };

/** What one AMS call answered, ready to be recorded. */
export interface AmsAnswer {
  type: string;
  data: unknown;
  endpoint: string;
  ref: Ref;
  result: AmsCallResult<unknown>;
}

/**
 * Carries out one alipay.v1 command: calls AMS, then records the exchange in the audit log and the result
 * in the outbox in the consumer's transaction. A redelivered command calls AMS again, which is safe: every
 * AMS call we make is idempotent on paymentRequestId / refundRequestId.
 */
@Injectable()
export class ConnectorService {
  private readonly throttle: AmsThrottle;
  private readonly calls;
  private readonly latency;
  private readonly untrusted;

  constructor(
    @Inject(AmsClient) private readonly client: AmsClient,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(CONNECTOR_OPTIONS) private readonly options: ConnectorOptions,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.throttle = new AmsThrottle(options.maxConcurrency);
    this.calls = metrics.counter('upm_alipay_requests_total', 'AMS calls by endpoint and outcome', ['endpoint', 'outcome', 'result_code']);
    this.latency = metrics.histogram('upm_alipay_request_seconds', 'AMS call latency', ['endpoint', 'outcome'], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 8, 15]);
    this.untrusted = metrics.counter(
      'upm_alipay_untrusted_answers_total',
      'AMS answers without a signature or with one that does not verify, by api and the result code they claim',
      ['api', 'problem', 'result_code'],
    );
    for (const api of AMS_APIS) for (const { problem, result_code } of foreseenUntrusted(api)) this.untrusted.inc({ api, problem, result_code }, 0);
  }

  /**
   * Calls AMS for one command, outside any database transaction: nothing is held while Alipay answers. A
   * refund's route is written first, on its own, so its notification can be routed even if it arrives
   * before the result is recorded.
   */
  async call(command: Envelope): Promise<AmsAnswer> {
    switch (command.type) {
      case 'Pay': {
        const data = command.data as PayCommandV1;
        const result = await this.send('pay', () => this.client.pay(payInput(data, this.options.notifyUrl)));
        return { type: 'PayResult', data: payResult(data, result), endpoint: 'pay', ref: data, result };
      }
      case 'InquirePayment': {
        const data = command.data as Ref;
        const result = await this.send('inquiryPayment', () => this.client.inquiryPayment({ paymentRequestId: data.paymentRequestId }));
        return { type: 'InquiryResult', data: inquiryResult(data, result), endpoint: 'inquiryPayment', ref: data, result };
      }
      case 'CancelPayment': {
        const data = command.data as Ref;
        const result = await this.send('cancel', () => this.client.cancel({ paymentRequestId: data.paymentRequestId }));
        return { type: 'CancelResult', data: cancelResult(data, result), endpoint: 'cancel', ref: data, result };
      }
      case 'Refund': {
        const data = command.data as RefundCommandV1;
        await this.dataSource.query('INSERT INTO refund_routes (refund_id, payment_id, refund_request_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [data.refundId, data.paymentId, data.refundRequestId]);
        const result = await this.send('refund', () => this.client.refund(refundRequest(data, this.options.notifyUrl)));
        return { type: 'RefundResult', data: refundResult(data, result), endpoint: 'refund', ref: data, result };
      }
      case 'InquireRefund': {
        const data = command.data as InquireRefund;
        const result = await this.send('inquiryRefund', () => this.client.inquiryRefund({ refundRequestId: data.refundId }));
        return { type: 'InquireRefundResult', data: inquireRefundResult(data, result), endpoint: 'inquiryRefund', ref: data, result };
      }
      default:
        throw new Error(`no handler for ${command.type}`);
    }
  }

  /** Records the exchange in the audit log and the result in the outbox, in one statement of the consumer's transaction. */
  async record(manager: EntityManager, command: Envelope, answer: AmsAnswer): Promise<void> {
    const { result, ref, endpoint } = answer;
    const { exchange } = result;
    await writeWithOutbox(
      manager,
      `INSERT INTO ams_exchanges (payment_id, api, attempt, client_id, outcome, result_code, http_status, duration_ms, request_body, response_body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [ref.paymentId, endpoint, ref.attempt, exchange.clientId, result.outcome, result.resultCode, result.httpStatus ?? null, Math.round(result.durationMs),
        maskCodesInText(exchange.requestBody), exchange.responseBody === undefined ? null : maskCodesInText(exchange.responseBody)],
      TOPICS.alipayResults.name,
      createEnvelope({ type: answer.type, key: command.key, data: answer.data, producer: PRODUCER, cause: command }),
    );
    const log = { paymentId: ref.paymentId, endpoint, attempt: ref.attempt, outcome: result.outcome, resultCode: result.resultCode, problem: result.problem, durationMs: Math.round(result.durationMs) };
    if (result.outcome === 'U') this.logger.warn(log, 'AMS outcome unknown');
    else this.logger.info(log, 'AMS call');
  }

  private async send<T>(endpoint: AmsApi, call: () => Promise<AmsCallResult<T>>): Promise<AmsCallResult<T>> {
    const result = await this.throttle.run(call);
    this.calls.inc({ endpoint, outcome: result.outcome, result_code: result.resultCode });
    this.latency.observe({ endpoint, outcome: result.outcome }, result.durationMs / 1000);
    if (isUntrustedAnswer(result.problem)) this.reportUntrusted(endpoint, result.problem, result);
    return result;
  }

  /**
   * An unsigned or badly signed answer stays U (anyone on the path could have sent it), but a run of them
   * almost always means our own keys or client id are wrong: say so at once instead of letting every
   * payment drift through inquiries and cancels to NEEDS_REVIEW.
   */
  private reportUntrusted(endpoint: string, problem: UntrustedAnswerProblem, result: AmsCallResult<unknown>): void {
    const claimed = result.claimedResult;
    this.untrusted.inc({ api: endpoint, problem, result_code: claimedCodeLabel(claimed?.resultCode) });
    this.logger.error(
      { endpoint, clientId: result.exchange.clientId, problem, claimedResultCode: claimed?.resultCode, claimedResultStatus: claimed?.resultStatus },
      `AMS answer not trusted (${problem}${claimed ? ` claiming ${claimed.resultStatus} ${claimed.resultCode}` : ''}), outcome left unknown; likely cause: ${untrustedAnswerCause(problem, claimed)}`,
    );
  }
}

/** The claimed code as a metric label: an untrusted answer may claim anything, so only code-shaped values pass. */
function claimedCodeLabel(code: string | undefined): string {
  if (code === undefined) return 'NONE';
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}
