export interface PaymentResource {
  paymentId: string;
  merchantOrderId: string;
  status: string;
  amount: { currency: string; value: string };
  refundedAmount: { currency: string; value: string };
  failure?: { code: string; message: string };
  alipay?: { paymentId?: string; paymentTime?: string };
  sequence: number;
  createdAt: string;
}

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

let orderSeq = 0;

/** What a POS integration does, over HTTP, with one terminal's key. */
export class PosClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
    readonly ids: { merchantId: string; storeId: string; terminalId: string },
  ) {}

  static orderId(tag = 'o'): string {
    return `${tag}-${Date.now().toString(36)}-${(orderSeq++).toString(36)}`;
  }

  /** a code of the sandbox's scenario `suffix` (CONTRACTS.md §2) */
  static code(suffix: string): string {
    const user = String(Math.floor(Math.random() * 1e14)).padStart(14, '0');
    return `28101202${user}${suffix}`;
  }

  pay(body: Record<string, unknown>): Promise<Answer<PaymentResource>> {
    return this.request('POST', '/v1/payments', body);
  }

  /**
   * pays the way a POS should (CONTRACTS §1): a 503 is retried with the same request, no sooner than its
   * Retry-After says; `refused` collects every 503 on the way
   */
  async payRetrying(body: Record<string, unknown>, refused: Answer[] = [], attempts = 30): Promise<Answer<PaymentResource>> {
    for (let attempt = 1; ; attempt++) {
      const answer = await this.pay(body);
      if (answer.status !== 503 || attempt >= attempts) return answer;
      refused.push(answer as unknown as Answer);
      await new Promise((resolve) => setTimeout(resolve, 1000 * Number(answer.headers.get('retry-after') ?? 1)));
    }
  }

  get(paymentId: string, query = ''): Promise<Answer<PaymentResource>> {
    return this.request('GET', `/v1/payments/${paymentId}${query}`);
  }

  cancel(paymentId: string, waitSeconds = 10): Promise<Answer<PaymentResource>> {
    return this.request('POST', `/v1/payments/${paymentId}/cancel`, { waitSeconds });
  }

  refund(paymentId: string, body: Record<string, unknown>): Promise<Answer> {
    return this.request('POST', `/v1/payments/${paymentId}/refunds`, body);
  }

  /** waits (long-poll) until the payment is no longer PROCESSING */
  async final(paymentId: string, waitSeconds = 25): Promise<PaymentResource> {
    const answer = await this.get(paymentId, `?waitSeconds=${waitSeconds}&ifStatus=PROCESSING`);
    return answer.body;
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T, headers: response.headers };
  }
}
