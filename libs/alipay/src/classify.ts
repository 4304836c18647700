import type { KeyObject } from 'node:crypto';
import type { AmsResult, Outcome } from './models';
import { HeaderBag, headerValue, verifySignature } from './signature';

/**
 * Why an answer was not taken at its word. Every one of them makes the outcome U: only a signed, parsable
 * HTTP 200 answer from Alipay can say S or F (spec §2.6, §4.4).
 */
export type AmsProblem =
  | 'TIMEOUT'
  | 'NETWORK_ERROR'
  | 'HTTP_STATUS'
  | 'UNSIGNED_RESPONSE'
  | 'INVALID_RESPONSE_SIGNATURE'
  | 'UNPARSABLE_RESPONSE'
  /** a signed answer naming another request than the one sent (a misrouted or replayed answer) */
  | 'MISMATCHED_RESPONSE'
  /** nothing was sent: the payment code failed the local format check (outcome F, nothing can have been charged) */
  | 'REJECTED_LOCALLY';

export interface Classification<TBody> {
  outcome: Outcome;
  /** Alipay's code when the answer is trusted; otherwise the problem */
  resultCode: string;
  resultMessage: string;
  /** the verified body; absent when the answer was not trusted */
  body?: TBody;
  problem?: AmsProblem;
  /** what an untrusted answer (unsigned, bad signature, non-200) claimed, for diagnosis only */
  claimedResult?: AmsResult;
}

export interface RawAnswer {
  status: number;
  headers: HeaderBag;
  body: Buffer;
}

export interface VerificationContext {
  /** the request path exactly as signed */
  path: string;
  /** the request's client id (the Java SDK verifies with it, whatever the answer echoes) */
  clientId: string;
  alipayPublicKey: KeyObject;
  /** the request's own ids (`paymentRequestId`, `refundRequestId`): an answer that names one must name the same */
  requestIds?: Readonly<Record<string, string>>;
}

const STATUSES: readonly string[] = ['S', 'F', 'U'];

export function classifyAnswer<TBody>(answer: RawAnswer, context: VerificationContext): Classification<TBody> {
  const parsed = parseJson(answer.body);
  const claimed = resultOf(parsed);
  if (answer.status !== 200) return unknown('HTTP_STATUS', `HTTP ${answer.status}${describe(claimed)}`, claimed);

  const signature = headerValue(answer.headers, 'signature');
  const responseTime = headerValue(answer.headers, 'response-time');
  if (!signature) return unknown('UNSIGNED_RESPONSE', `answer without signature${describe(claimed)}`, claimed);
  const content = { path: context.path, clientId: context.clientId, time: responseTime ?? '', body: answer.body };
  if (responseTime === undefined || !verifySignature(content, signature, context.alipayPublicKey)) {
    return unknown('INVALID_RESPONSE_SIGNATURE', `answer signature does not verify${describe(claimed)}`, claimed);
  }
  if (!claimed) return unknown('UNPARSABLE_RESPONSE', 'signed answer without a valid result');
  for (const [field, sent] of Object.entries(context.requestIds ?? {})) {
    const named = (parsed as Record<string, unknown>)[field];
    if (typeof named === 'string' && named !== sent) return unknown('MISMATCHED_RESPONSE', `signed answer for ${field} ${named}, sent ${sent}${describe(claimed)}`, claimed);
  }
  return { outcome: claimed.resultStatus, resultCode: claimed.resultCode, resultMessage: claimed.resultMessage, body: parsed as TBody };
}

export function classifyTransportFailure(kind: 'TIMEOUT' | 'NETWORK_ERROR', message: string): Classification<never> {
  return unknown(kind, message);
}

/** The `result` of an AMS body, if it has a well-formed one. */
export function resultOf(body: unknown): AmsResult | undefined {
  if (!isRecord(body) || !isRecord(body.result)) return undefined;
  const { resultCode, resultStatus, resultMessage } = body.result;
  if (typeof resultCode !== 'string' || resultCode === '' || typeof resultStatus !== 'string' || !STATUSES.includes(resultStatus)) return undefined;
  return { resultCode, resultStatus: resultStatus as Outcome, resultMessage: typeof resultMessage === 'string' ? resultMessage : '' };
}

export function parseJson(body: Buffer | string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknown(problem: AmsProblem, message: string, claimedResult?: AmsResult): Classification<never> {
  return { outcome: 'U', resultCode: problem, resultMessage: message, problem, ...(claimedResult ? { claimedResult } : {}) };
}

function describe(claimed: AmsResult | undefined): string {
  return claimed ? ` claiming ${claimed.resultStatus} ${claimed.resultCode}` : '';
}
