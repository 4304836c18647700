import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '@upm/shared-testing';
import { HttpTransport } from './http-transport';

/** A server that closes idle keep-alive connections after 2 s and says so (`Keep-Alive: timeout=2`). */
async function keepAliveServer(): Promise<{ url: URL; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('{}'), Number(req.headers['x-delay-ms'] ?? 0)));
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
      const post = (delayMs = 0) => transport.post(server.url, { 'content-type': 'application/json', 'x-delay-ms': String(delayMs) }, Buffer.from('{}'), 3000);
      await post();
      // an answer slower than the idle limit on a reused connection is still waited for (only idle connections close)
      await expect(post(1500)).resolves.toMatchObject({ status: 200 });
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
