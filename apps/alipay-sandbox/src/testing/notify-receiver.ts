import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NOTIFICATION_ACK } from '@upm/alipay';

export interface ReceivedNotification {
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  receivedAt: number;
}

/** How the receiver answers the n-th notification (1-based) it gets. */
export type ReceiverPolicy = (n: number, notification: ReceivedNotification) => { status: number; body: string; delayMs?: number; location?: string };

export const acknowledge: ReceiverPolicy = () => ({ status: 200, body: NOTIFICATION_ACK });

/** A real merchant webhook endpoint that records every notification it receives. */
export class NotifyReceiver {
  readonly received: ReceivedNotification[] = [];
  private server?: http.Server;

  constructor(private policy: ReceiverPolicy = acknowledge) {}

  setPolicy(policy: ReceiverPolicy): void {
    this.policy = policy;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const notification = { path: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks), receivedAt: Date.now() };
        this.received.push(notification);
        const answer = this.policy(this.received.length, notification);
        const headers = { 'content-type': 'application/json', ...(answer.location ? { location: answer.location } : {}) };
        setTimeout(() => res.writeHead(answer.status, headers).end(answer.body), answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Notifications about one payment or refund request id. */
  about(requestId: string): ReceivedNotification[] {
    return this.received.filter((n) => n.rawBody.toString('utf8').includes(`"${requestId}"`));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
