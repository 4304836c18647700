/**
 * Why an attempt failed, as a stable code a merchant or operator can act on (docs/webhooks.md), and the raw
 * detail behind it (Node's error code and message, the HTTP status) for whoever digs further.
 */
export const DELIVERY_FAILURE_CODES = [
  /** the endpoint answered a status other than 2xx or 3xx (the status is recorded beside the code) */
  'ENDPOINT_REJECTED',
  /** the endpoint answered a redirect, which is not followed */
  'ENDPOINT_REDIRECTED',
  /** no answer within the timeout, or the connection could not be made in the operating system's time */
  'ENDPOINT_TIMEOUT',
  /** no connection: refused, or the host or its network is unreachable */
  'ENDPOINT_UNREACHABLE',
  /** connected, but the endpoint closed or reset the connection before it answered */
  'ENDPOINT_CONNECTION_CLOSED',
  /** the URL's host name does not resolve */
  'ENDPOINT_DNS_ERROR',
  /** the TLS handshake failed: an untrusted, expired or mismatched certificate, or no TLS on the port */
  'ENDPOINT_TLS_ERROR',
  /** the endpoint answered something that is not HTTP */
  'ENDPOINT_INVALID_RESPONSE',
  /** the host is, or resolves to, an address that is not public (address-policy.ts): nothing was sent */
  'ENDPOINT_NOT_PUBLIC',
  /** the platform could not read the endpoint's signing secret (WEBHOOK_SECRET_KEYS): nothing was sent */
  'SIGNING_SECRET_UNREADABLE',
  /**
   * not an attempt's: the delivery's retry horizon passed while its endpoint was held back (endpoint-backoff.ts), so
   * it was dead-lettered without being sent again; only the delivery carries it, no attempt is logged
   */
  'ENDPOINT_HELD_BACK',
] as const;

export type DeliveryFailureCode = (typeof DELIVERY_FAILURE_CODES)[number];

export interface DeliveryFailure {
  code: DeliveryFailureCode;
  /** the raw reason: `HTTP 503`, `ECONNREFUSED: connect ECONNREFUSED 203.0.113.7:443`, … */
  detail: string;
}

/** The failure an answer's status means, or undefined for a 2xx (delivered). */
export function failureOfStatus(statusCode: number): DeliveryFailure | undefined {
  if (statusCode >= 200 && statusCode < 300) return undefined;
  return { code: statusCode >= 300 && statusCode < 400 ? 'ENDPOINT_REDIRECTED' : 'ENDPOINT_REJECTED', detail: `HTTP ${statusCode}` };
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);
const TLS = new Set([
  'EPROTO', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'HOSTNAME_MISMATCH',
]);

/**
 * The failure a network error means, by Node's code: name resolution, TLS, a connection closed or never made, an
 * answer that is not HTTP. A code not known here counts as unreachable, with the code kept in the detail.
 */
export function failureOfNetworkError(error: { code?: string; message: string }): DeliveryFailure {
  const code = error.code ?? '';
  const detail = !code || error.message.includes(code) ? error.message : `${code}: ${error.message}`;
  if (DNS.has(code)) return { code: 'ENDPOINT_DNS_ERROR', detail };
  if (TIMEOUT.has(code)) return { code: 'ENDPOINT_TIMEOUT', detail };
  if (CLOSED.has(code)) return { code: 'ENDPOINT_CONNECTION_CLOSED', detail };
  if (TLS.has(code) || /^(ERR_TLS_|ERR_SSL_|CERT_)/.test(code)) return { code: 'ENDPOINT_TLS_ERROR', detail };
  if (code.startsWith('HPE_')) return { code: 'ENDPOINT_INVALID_RESPONSE', detail };
  return { code: 'ENDPOINT_UNREACHABLE', detail };
}
