import http from 'node:http';

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
  /** the Retry-After header in seconds, when the answer had one */
  retryAfterS?: number;
}

/** A keep-alive JSON client on node:http: cheaper per request than fetch, so the generator stays small. */
export class JsonHttp {
  private readonly agent: http.Agent;

  constructor(private readonly baseUrl: string, maxSockets = 4096) {
    // `timeout` makes the agent close idle connections before the server's Keep-Alive hint, so no request races a close
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 1024, timeout: 30_000 });
  }

  request(method: string, path: string, options: { token?: string; body?: unknown; type?: string; timeoutMs?: number } = {}): Promise<JsonAnswer> {
    const url = new URL(path, this.baseUrl);
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (payload !== undefined) {
      headers['content-type'] = options.type ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      // a deadline of our own: the socket's idle timeout is the agent's business (see the constructor)
      const timer = setTimeout(() => req.destroy(new Error('TIMEOUT')), options.timeoutMs ?? 60_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const req = http.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Record<string, unknown> = {};
          try {
            body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            body = { raw: text.slice(0, 200) };
          }
          const retryAfter = Number(res.headers['retry-after']);
          resolve({ status: res.statusCode ?? 0, body, ...(Number.isFinite(retryAfter) && res.headers['retry-after'] ? { retryAfterS: retryAfter } : {}) });
        });
      });
      req.on('error', fail);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A stable code for a failed exchange: the API's error code, or the HTTP status, or the network error. */
export function errorCode(answer: JsonAnswer | Error): string {
  if (answer instanceof Error) return (answer as NodeJS.ErrnoException).code ?? (answer.message === 'TIMEOUT' ? 'TIMEOUT' : 'NETWORK_ERROR');
  const error = answer.body.error as { code?: string } | undefined;
  return `${answer.status}${error?.code ? ` ${error.code}` : ''}`;
}
