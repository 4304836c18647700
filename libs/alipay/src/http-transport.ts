import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class TransportError extends Error {
  constructor(
    readonly kind: 'TIMEOUT' | 'NETWORK_ERROR',
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface HttpTransportOptions {
  /** concurrent connections per host (default 64) */
  maxSockets?: number;
  /** answers larger than this are cut off as a network error (default 1 MiB) */
  maxResponseBytes?: number;
  /** how long a pooled connection may stay idle (default 30 s; shorter when the server announces less) */
  idleSocketMs?: number;
}

/**
 * POSTs over keep-alive connections with one deadline for the whole exchange (connect, send, full answer):
 * a POS waits for the total, not for each phase.
 */
export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly maxResponseBytes: number;

  constructor(options: HttpTransportOptions = {}) {
    // `timeout` bounds how long a pooled connection stays idle, and makes the agent honour the server's
    // `Keep-Alive: timeout=…` hint (closing a second before it): without it an idle connection lives until
    // the server drops it, and a call sent at that moment fails as a network error without reaching Alipay.
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, scheduling: 'lifo' as const, timeout: options.idleSocketMs ?? 30_000 };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
  }

  post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<HttpAnswer> {
    const secure = url.protocol === 'https:';
    const request = secure ? https.request : http.request;
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      let timedOut = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const message = error instanceof Error ? error.message : String(error);
        reject(timedOut ? new TransportError('TIMEOUT', `no complete answer within ${timeoutMs} ms`) : new TransportError('NETWORK_ERROR', message));
      };
      const req = request(
        url,
        { method: 'POST', agent: secure ? this.httpsAgent : this.httpAgent, headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxResponseBytes) req.destroy(new Error(`answer larger than ${this.maxResponseBytes} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', fail);
          res.on('close', () => {
            if (!res.complete) return fail(new Error('connection closed before the answer was complete'));
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          });
        },
      );
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      }, timeoutMs);
      req.on('error', fail);
      req.end(body);
    });
  }

  /** Closes the pooled connections; calls in flight fail as network errors. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
