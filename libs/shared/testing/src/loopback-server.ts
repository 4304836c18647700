import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server for a test on a free port of 127.0.0.1; closing it cuts the connections still open. */
export abstract class LoopbackServer {
  private readonly server: Server = createServer((req, res) => this.onRequest(req, res));

  protected abstract onRequest(req: IncomingMessage, res: ServerResponse): void;

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
