import { isRecord, parseJson, resultOf } from './classify';
import type { AmsNotification, AmsResult } from './models';
import { KeyInput } from './keys';
import { HeaderBag, headerValue, verifySignature } from './signature';
import { formatAmsTime } from './time';

/**
 * The one answer that tells Alipay a notification arrived (spec §9). Anything else (another body, a non-200,
 * a timeout) makes Alipay send it again.
 */
export const NOTIFICATION_ACK = '{"result":{"resultCode":"SUCCESS","resultStatus":"S","resultMessage":"success"}}';

export interface NotificationAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The acknowledgement to send once a notification is verified and durably recorded. */
export function notificationAck(clientId: string, now: Date = new Date()): NotificationAnswer {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'client-id': clientId, 'response-time': formatAmsTime(now) },
    body: NOTIFICATION_ACK,
  };
}

/** Whether a merchant's answer acknowledges a notification: HTTP 200 and the SUCCESS result, whatever the JSON spacing. */
export function isNotificationAck(status: number, body: string | Buffer): boolean {
  if (status !== 200) return false;
  const parsed = parseJson(body);
  if (!isRecord(parsed) || !isRecord(parsed.result)) return false;
  const { resultCode, resultStatus, resultMessage } = parsed.result;
  return resultCode === 'SUCCESS' && resultStatus === 'S' && resultMessage === 'success';
}

export interface IncomingNotification {
  /** the path (and query) the notification was posted to, host excluded, exactly as received */
  path: string;
  headers: HeaderBag;
  /** the exact bytes received */
  rawBody: Buffer | string;
}

/** Alipay's public key, or a lookup by the notification's client id when several client ids are configured. */
export type AlipayKeyResolver = KeyInput | ((clientId: string) => KeyInput | undefined);

/** Why a notification is refused, every one of them (e.g. to show each reason's counter from start-up). */
export const NOTIFICATION_REJECTIONS = ['MISSING_HEADERS', 'UNKNOWN_CLIENT', 'INVALID_SIGNATURE', 'MALFORMED_BODY'] as const;

export type NotificationRejection = (typeof NOTIFICATION_REJECTIONS)[number];

export type ParsedNotification =
  | { ok: true; clientId: string; requestTime: string; notification: AmsNotification }
  | { ok: false; reason: NotificationRejection; message: string };

/**
 * Verifies a notifyPayment / notifyRefund over `POST <path>\n<client-id>.<request-time>.<raw body>` with
 * Alipay's key, then checks its shape. Only an `ok` notification may be acted on and acknowledged.
 */
export function parseNotification(input: IncomingNotification, alipayPublicKey: AlipayKeyResolver): ParsedNotification {
  return parseSigned(input, alipayPublicKey, []);
}

/**
 * Verifies and reads a notification kept earlier and replayed by an operator: as `parseNotification`, except that
 * a signature made with one of Alipay's retired keys also verifies, so a replay still works after Alipay rotated
 * its key. The client id must still have a current key. Never for a post that has just arrived.
 */
export function parseReplayedNotification(input: IncomingNotification, alipayPublicKey: AlipayKeyResolver, retiredKeys: readonly KeyInput[]): ParsedNotification {
  return parseSigned(input, alipayPublicKey, retiredKeys);
}

function parseSigned(input: IncomingNotification, alipayPublicKey: AlipayKeyResolver, retiredKeys: readonly KeyInput[]): ParsedNotification {
  const clientId = headerValue(input.headers, 'client-id');
  const requestTime = headerValue(input.headers, 'request-time');
  const signature = headerValue(input.headers, 'signature');
  if (!clientId || !requestTime || !signature) return reject('MISSING_HEADERS', 'client-id, request-time and signature are required');

  const key = typeof alipayPublicKey === 'function' ? alipayPublicKey(clientId) : alipayPublicKey;
  if (key === undefined) return reject('UNKNOWN_CLIENT', `no Alipay key for client id ${clientId}`);
  const signed = { path: input.path, clientId, time: requestTime, body: input.rawBody };
  if (![key, ...retiredKeys].some((candidate) => verifySignature(signed, signature, candidate))) {
    return reject('INVALID_SIGNATURE', 'signature does not verify');
  }
  return readNotification(clientId, requestTime, input.rawBody);
}

function readNotification(clientId: string, requestTime: string, rawBody: Buffer | string): ParsedNotification {
  const notification = notificationOf(parseJson(rawBody));
  if (!notification) return reject('MALFORMED_BODY', 'not a PAYMENT_RESULT or REFUND_RESULT notification with an S or F result');
  return { ok: true, clientId, requestTime, notification };
}

function notificationOf(body: unknown): AmsNotification | undefined {
  const result = resultOf(body);
  if (!isRecord(body) || !result || !isFinal(result)) return undefined;
  switch (body.notifyType) {
    case 'PAYMENT_RESULT':
      return hasStrings(body, ['paymentRequestId', 'paymentId']) && isAmount(body.paymentAmount) ? (body as unknown as AmsNotification) : undefined;
    case 'REFUND_RESULT':
      return hasStrings(body, ['refundRequestId']) && isAmount(body.refundAmount) ? (body as unknown as AmsNotification) : undefined;
    default:
      return undefined;
  }
}

// Alipay never notifies U (removed in 2022): a notification claiming it is not one we can act on.
function isFinal(result: AmsResult): boolean {
  return result.resultStatus === 'S' || result.resultStatus === 'F';
}

function hasStrings(body: Record<string, unknown>, names: string[]): boolean {
  return names.every((name) => typeof body[name] === 'string' && body[name] !== '');
}

function isAmount(value: unknown): boolean {
  return isRecord(value) && typeof value.currency === 'string' && typeof value.value === 'string';
}

function reject(reason: NotificationRejection, message: string): ParsedNotification {
  return { ok: false, reason, message };
}
