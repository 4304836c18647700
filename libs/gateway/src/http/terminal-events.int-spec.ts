import { get, IncomingMessage, OutgoingHttpHeaders, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { RuntimeModule } from '@upm/shared-runtime';
import { freshDatabase } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { RegistryService } from '../registry/registry.service';
import { TerminalEventsHub } from '../terminal-events/terminal-events';
import { TerminalGuard } from './auth.guards';
import { TerminalEventsController } from './terminal-events.controller';

/** The terminal event stream served by the real controller, hub, PostgreSQL and Redis, to POS clients over HTTP. */
let dataSource: DataSource;
let redis: Redis;
let app: INestApplication;
let port: number;
/** the gateway's end of each connection, by the client's port */
const serverSockets = new Map<number, Socket>();

const options: GatewayOptions = { adminToken: 'x', rateLimitPerSecond: 1, defaultWaitSeconds: 0, sseHeartbeatMs: 200 };

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_terminal_streams', GATEWAY_DATABASE));
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');

  @Module({
    imports: [RuntimeModule.forRoot({ service: 'terminal-gateway', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    controllers: [TerminalEventsController],
    providers: [
      { provide: DataSource, useValue: dataSource }, { provide: Redis, useValue: redis }, { provide: GATEWAY_OPTIONS, useValue: options },
      RegistryService, TerminalGuard, TerminalEventsHub,
    ],
  })
  class TerminalStreamsModule {}

  app = await NestFactory.create(TerminalStreamsModule, { logger: false });
  const server = app.getHttpServer() as Server;
  server.on('connection', (socket: Socket) => serverSockets.set(socket.remotePort!, socket));
  await app.listen(0, '127.0.0.1');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  await redis.quit();
  await dataSource.destroy();
});

interface PosTerminal { terminalId: string; merchantId: string; key: string }

async function newTerminal(): Promise<PosTerminal> {
  const registry = app.get(RegistryService);
  const merchant = await registry.createMerchant({ name: 'Streams', mcc: '5411' });
  const store = await registry.createStore(merchant.id, { name: 'Streams store', mcc: '5411' });
  const { terminal, key } = await registry.createTerminal(store.id, {});
  return { terminalId: terminal.id, merchantId: merchant.id, key };
}

/** Opens the terminal's stream; answers the response without reading its body. */
function openStream(terminal: PosTerminal, headers: OutgoingHttpHeaders = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/v1/terminals/me/events', agent: false, headers: { authorization: `Bearer ${terminal.key}`, accept: 'text/event-stream', ...headers } }, resolve)
      .on('error', reject);
  });
}

describe('GET /v1/terminals/me/events', () => {
  it('leaves no listener in the hub when the stream cannot read where to start', async () => {
    const terminal = await newTerminal();
    await dataSource.query('ALTER TABLE terminal_events RENAME TO terminal_events_away');
    try {
      const response = await openStream(terminal);
      response.resume();
      expect(response.statusCode).toBe(500);
    } finally {
      await dataSource.query('ALTER TABLE terminal_events_away RENAME TO terminal_events');
    }
    expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);
  });
});
