import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** cuts every open connection and refuses new ones, as if the dependency went away */
  cut(): Promise<void>;
  /** accepts connections again on the same port */
  restore(): Promise<void>;
  /** stops passing bytes on the connections open now, which stay open: a dependency that hangs without closing them */
  freeze(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of a real dependency, so a test can take it away and bring it back. */
export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    for (const s of pair) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        pairs.delete(pair);
      });
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  const freeze = () => {
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream).pause();
      upstream.unpipe(client).pause();
    }
  };
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
  return { port, cut: stop, restore: () => listen(port), freeze, close: stop };
}
