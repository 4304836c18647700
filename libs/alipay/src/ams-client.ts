import type { KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AmsProblem, Classification, classifyAnswer, classifyTransportFailure } from './classify';
import { HttpTransport, TransportError } from './http-transport';
import { KeyInput, loadPrivateKey, loadPublicKey } from './keys';
import type {
  AmsApiTypes,
  CancelRequest,
  CancelResponse,
  InquiryPaymentRequest,
  InquiryPaymentResponse,
  InquiryRefundRequest,
  InquiryRefundResponse,
  PayResponse,
  RefundRequest,
  RefundResponse,
} from './models';
import { AmsApi, amsPath, isSandboxClientId } from './paths';
import { buildPayRequest, requireOneOf, UpmPayInput, validateRefundRequest } from './requests';
import { signedRequestHeaders } from './signature';

/** One Antom client id with its key pair: typically one per region or per merchant of record. */
export interface AmsCredentials {
  clientId: string;
  /** the merchant's private key: PEM or Base64 DER, PKCS#8 or PKCS#1 */
  privateKey: KeyInput;
  /** Alipay's public key for this client id: PEM or Base64 DER (SPKI) */
  alipayPublicKey: KeyInput;
  /** default 1 */
  keyVersion?: string | number;
  /** overrides the client's baseUrl, e.g. another region's gateway */
  baseUrl?: string;
  /** `/ams/sandbox/api` paths; default: when the client id starts with `SANDBOX_` (spec §2.1) */
  sandbox?: boolean;
}

export interface AmsClientOptions {
  /** scheme and host, e.g. `https://open-sea-global.alipay.com` or `http://127.0.0.1:3010` */
  baseUrl: string;
  /** the first one is the default for calls that name no client id */
  credentials: AmsCredentials | readonly AmsCredentials[];
  /** deadline of one whole call (default 8000) */
  timeoutMs?: number;
  /** concurrent keep-alive connections per host (default 64) */
  maxSockets?: number;
  /** epoch ms for Request-Time; injectable for tests */
  now?: () => number;
}

export interface CallOptions {
  /** which credentials sign the call; default the first */
  clientId?: string;
  timeoutMs?: number;
}

/** The raw exchange, for an audit log. The request body holds the payment code: mask it before storing. */
export interface AmsExchange {
  /** false when the client refused to send (nothing reached Alipay) */
  sent: boolean;
  clientId: string;
  url: string;
  path: string;
  requestTime: string;
  requestBody: string;
  httpStatus?: number;
  responseTime?: string;
  responseBody?: string;
}

export type AmsCallResult<TBody> = Classification<TBody> & {
  httpStatus?: number;
  durationMs: number;
  exchange: AmsExchange;
};

interface PreparedCredentials {
  clientId: string;
  privateKey: KeyObject;
  alipayPublicKey: KeyObject;
  keyVersion: string;
  baseUrl: URL;
  sandbox: boolean;
}

const DEFAULT_TIMEOUT_MS = 8000;

/**
 * Antom AMS client for User-Presented Mode. Every call ends in S, F or U and never throws for a transport
 * or protocol problem: a timeout, a dropped connection, a non-200, an unsigned or badly signed answer and
 * an unparsable body are all U (the payment may have happened). It throws only for a malformed request.
 */
export class AmsClient {
  private readonly credentials = new Map<string, PreparedCredentials>();
  private readonly defaultClientId: string;
  private readonly transport: HttpTransport;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: AmsClientOptions) {
    const list = Array.isArray(options.credentials) ? options.credentials : [options.credentials as AmsCredentials];
    if (list.length === 0) throw new Error('AmsClient needs at least one set of credentials');
    for (const credentials of list) {
      if (this.credentials.has(credentials.clientId)) throw new Error(`client id ${credentials.clientId} configured twice`);
      this.credentials.set(credentials.clientId, prepare(credentials, options.baseUrl));
    }
    this.defaultClientId = list[0].clientId;
    this.transport = new HttpTransport({ maxSockets: options.maxSockets });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
  }

  get clientIds(): string[] {
    return [...this.credentials.keys()];
  }

  /** UPM pay. A code failing the local format check answers F INVALID_PAYMENT_CODE without calling Alipay. */
  async pay(input: UpmPayInput, options?: CallOptions): Promise<AmsCallResult<PayResponse>> {
    const built = buildPayRequest(input);
    if (!built.ok) return this.rejectedLocally('pay', 'INVALID_PAYMENT_CODE', `payment code refused locally (${built.problem})`, options);
    return this.call('pay', built.request, options);
  }

  async inquiryPayment(request: InquiryPaymentRequest, options?: CallOptions): Promise<AmsCallResult<InquiryPaymentResponse>> {
    requireOneOf(request, ['paymentId', 'paymentRequestId']);
    return this.call('inquiryPayment', request, options);
  }

  async cancel(request: CancelRequest, options?: CallOptions): Promise<AmsCallResult<CancelResponse>> {
    requireOneOf(request, ['paymentId', 'paymentRequestId']);
    return this.call('cancel', request, options);
  }

  async refund(request: RefundRequest, options?: CallOptions): Promise<AmsCallResult<RefundResponse>> {
    validateRefundRequest(request);
    return this.call('refund', request, options);
  }

  async inquiryRefund(request: InquiryRefundRequest, options?: CallOptions): Promise<AmsCallResult<InquiryRefundResponse>> {
    requireOneOf(request, ['refundId', 'refundRequestId']);
    return this.call('inquiryRefund', request, options);
  }

  /** Sends a body as is (no local validation): the typed methods above are the normal entry points. */
  async call<A extends AmsApi>(api: A, request: AmsApiTypes[A]['request'], options: CallOptions = {}): Promise<AmsCallResult<AmsApiTypes[A]['response']>> {
    const credentials = this.credentialsFor(options.clientId);
    const path = amsPath(api, credentials.sandbox);
    const url = new URL(path, credentials.baseUrl);
    const requestBody = JSON.stringify(request);
    const body = Buffer.from(requestBody, 'utf8');
    const requestTime = String(this.now());
    const headers = {
      ...signedRequestHeaders({ path, clientId: credentials.clientId, time: requestTime, body, privateKey: credentials.privateKey, keyVersion: credentials.keyVersion }),
      accept: 'application/json',
      'user-agent': 'upm-alipay-client/1',
    };
    const exchange: AmsExchange = { sent: true, clientId: credentials.clientId, url: url.toString(), path, requestTime, requestBody };
    const started = performance.now();
    try {
      const answer = await this.transport.post(url, headers, body, options.timeoutMs ?? this.timeoutMs);
      const responseTime = answer.headers['response-time'];
      exchange.httpStatus = answer.status;
      exchange.responseBody = answer.body.toString('utf8');
      if (typeof responseTime === 'string') exchange.responseTime = responseTime;
      const classification = classifyAnswer<AmsApiTypes[A]['response']>(answer, { path, clientId: credentials.clientId, alipayPublicKey: credentials.alipayPublicKey, requestIds: requestIdsOf(request) });
      return { ...classification, httpStatus: answer.status, durationMs: elapsed(started), exchange };
    } catch (error) {
      const failure = error instanceof TransportError ? error : new TransportError('NETWORK_ERROR', String(error));
      return { ...classifyTransportFailure(failure.kind, failure.message), durationMs: elapsed(started), exchange };
    }
  }

  /** Closes pooled connections. */
  close(): void {
    this.transport.close();
  }

  private credentialsFor(clientId: string | undefined): PreparedCredentials {
    const credentials = this.credentials.get(clientId ?? this.defaultClientId);
    if (!credentials) throw new Error(`no credentials for client id ${clientId}`);
    return credentials;
  }

  private rejectedLocally<A extends AmsApi>(api: A, resultCode: string, resultMessage: string, options: CallOptions = {}): AmsCallResult<AmsApiTypes[A]['response']> {
    const credentials = this.credentialsFor(options.clientId);
    const path = amsPath(api, credentials.sandbox);
    const problem: AmsProblem = 'REJECTED_LOCALLY';
    return {
      outcome: 'F',
      resultCode,
      resultMessage,
      problem,
      durationMs: 0,
      exchange: { sent: false, clientId: credentials.clientId, url: new URL(path, credentials.baseUrl).toString(), path, requestTime: '', requestBody: '' },
    };
  }
}

function prepare(credentials: AmsCredentials, baseUrl: string): PreparedCredentials {
  return {
    clientId: credentials.clientId,
    privateKey: loadPrivateKey(credentials.privateKey),
    alipayPublicKey: loadPublicKey(credentials.alipayPublicKey),
    keyVersion: String(credentials.keyVersion ?? 1),
    baseUrl: new URL(credentials.baseUrl ?? baseUrl),
    sandbox: credentials.sandbox ?? isSandboxClientId(credentials.clientId),
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** The ids a request names itself by, which an answer to it must repeat if it names them. */
function requestIdsOf(request: object): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const field of ['paymentRequestId', 'refundRequestId']) {
    const value = (request as Record<string, unknown>)[field];
    if (typeof value === 'string') ids[field] = value;
  }
  return ids;
}
