import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '@upm/shared-testing';
import { HttpTransport } from './http-transport';

/** A server that closes idle keep-alive connections after 2 s and says so (`Keep-Alive: timeout=2`). */
async function keepAliveServer(): Promise<{ url: URL; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  server.keepAliveTimeout = 2000;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/ams/api/v1/payments/pay`),
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('HttpTransport keep-alive', () => {
  it('reuses a connection while it is fresh, and drops it before the server is due to close it', async () => {
    const server = await keepAliveServer();
    const transport = new HttpTransport();
    try {
      const post = () => transport.post(server.url, { 'content-type': 'application/json' }, Buffer.from('{}'), 3000);
      await post();
      await post();
      expect(server.connections()).toBe(1);
      // past the hint minus a second, still inside the server's 2 s: a reused connection would race the server's close
      await sleep(1300);
      await post();
      expect(server.connections()).toBe(2);
    } finally {
      transport.close();
      await server.close();
    }
  });
});
