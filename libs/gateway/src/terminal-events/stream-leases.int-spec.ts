import { randomUUID } from 'node:crypto';
import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { RuntimeModule } from '@upm/shared-runtime';
import { eventually, freshDatabase, sleep } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { RegistryService } from '../registry/registry.service';
import { StreamEnd, TerminalEventsHub, TerminalStream } from './terminal-events';

/**
 * The cap on a terminal's event streams across gateway replicas: two or three hubs, each with its own Redis
 * connection, on the same Redis and database, as replicas behind one load balancer are.
 */
let dataSource: DataSource;

const LEASE_MS = 600;
const options: GatewayOptions = { adminToken: 'x', rateLimitPerSecond: 1000, defaultWaitSeconds: 0, sseHeartbeatMs: 60_000, sseStreamsPerTerminal: 3, sseStreamLeaseMs: LEASE_MS };

interface Replica { app: INestApplicationContext; hub: TerminalEventsHub; redis: Redis }
const replicas: Replica[] = [];

async function startReplica(): Promise<Replica> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
  @Module({
    imports: [RuntimeModule.forRoot({ service: 'terminal-gateway', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    providers: [{ provide: DataSource, useValue: dataSource }, { provide: Redis, useValue: redis }, { provide: GATEWAY_OPTIONS, useValue: options }, RegistryService, TerminalEventsHub],
  })
  class ReplicaModule {}
  const app = await NestFactory.createApplicationContext(ReplicaModule, { logger: false });
  app.enableShutdownHooks();
  await app.init();
  const replica = { app, hub: app.get(TerminalEventsHub), redis };
  replicas.push(replica);
  return replica;
}

/** A stream as the controller registers it: it records why the hub closed it, and unregisters as it ends. */
class Stream implements TerminalStream {
  endedBy?: StreamEnd;
  private unlisten?: () => void;

  static open(replica: Replica, terminalId: string): Stream {
    const stream = new Stream();
    stream.unlisten = replica.hub.listen({ terminalId, keyId: 'key_1' }, stream);
    return stream;
  }

  position(): string {
    return '0';
  }

  wake(): void {}

  close(why: StreamEnd): void {
    this.endedBy ??= why;
    this.end();
  }

  /** the POS hangs up */
  end(): void {
    this.unlisten?.();
    this.unlisten = undefined;
  }
}

/**
 * Opens a stream and waits until its lease is taken (the open's one command has been answered), and a
 * millisecond more: streams that two replicas open in the same millisecond are in no order.
 */
async function open(replica: Replica, terminalId: string, fleetCount: number): Promise<Stream> {
  const stream = Stream.open(replica, terminalId);
  await eventually(async () => ((await replica.hub.fleetStreamCount(terminalId)) === fleetCount ? true : undefined), 5000, 20);
  await sleep(2);
  return stream;
}

/**
 * Cuts a replica off Redis and waits until its connection has closed: ioredis closes the socket after
 * `disconnect()` returns, and until then it still sends commands and refuses to connect again.
 */
async function cutOff(replica: Replica): Promise<void> {
  const ended = new Promise((resolve) => replica.redis.once('end', resolve));
  replica.redis.disconnect();
  await ended;
}

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_stream_leases', GATEWAY_DATABASE));
});

afterAll(async () => {
  for (const { app, redis } of replicas) {
    await app.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
  }
  await dataSource.destroy();
});

describe('the cap on a terminal\'s event streams across replicas', () => {
  it('closes the terminal\'s oldest stream, served by another replica, when one more opens anywhere', async () => {
    const [a, b] = [await startReplica(), await startReplica()];
    const terminalId = `ter_${randomUUID()}`;
    const neighbourId = `ter_${randomUUID()}`;
    const neighbours = [await open(a, neighbourId, 1), await open(b, neighbourId, 2)];
    const oldest = await open(a, terminalId, 1);
    const second = await open(a, terminalId, 2);
    const third = await open(b, terminalId, 3);

    // each replica serves two or fewer: only the count across them is over the cap
    const fourth = Stream.open(b, terminalId);
    await eventually(() => oldest.endedBy, 5000, 20);
    expect(oldest.endedBy).toBe('replaced');
    expect(a.hub.streamCount(terminalId)).toBe(1);
    expect(b.hub.streamCount(terminalId)).toBe(2);
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(3);
    for (const stream of [second, third, fourth, ...neighbours]) expect(stream.endedBy).toBeUndefined();
    expect(await b.hub.fleetStreamCount(neighbourId)).toBe(2);

    // the next one replaces the oldest left, on whichever replica it is
    const fifth = Stream.open(a, terminalId);
    await eventually(() => second.endedBy, 5000, 20);
    expect(await b.hub.fleetStreamCount(terminalId)).toBe(3);
    for (const stream of [third, fourth, fifth, ...neighbours]) expect(stream.endedBy).toBeUndefined();
    for (const stream of [third, fourth, fifth, ...neighbours]) stream.end();
  });

  it('frees a stream\'s place at once when it ends, and every place of a replica that stops', async () => {
    const [a, b, c] = [await startReplica(), await startReplica(), await startReplica()];
    const terminalId = `ter_${randomUUID()}`;
    const first = await open(a, terminalId, 1);
    const second = await open(b, terminalId, 2);
    const third = await open(b, terminalId, 3);

    second.end();
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(2);
    const fourth = await open(a, terminalId, 3);
    for (const stream of [first, third, fourth]) expect(stream.endedBy).toBeUndefined();

    // a replica that stops ends its streams and gives their places back without waiting for the leases
    const onC = Stream.open(c, terminalId);
    await eventually(() => first.endedBy, 5000, 20);
    expect(first.endedBy).toBe('replaced');
    await c.app.close();
    expect(onC.endedBy).toBe('shutdown');
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(2);
    const fifth = await open(b, terminalId, 3);
    for (const stream of [third, fourth, fifth]) expect(stream.endedBy).toBeUndefined();
    for (const stream of [third, fourth, fifth]) stream.end();
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(0);
  });

  it('keeps the leases of a live replica past their period, and frees those of a replica killed with streams open within it', async () => {
    const [a, killed] = [await startReplica(), await startReplica()];
    const terminalId = `ter_${randomUUID()}`;
    const mine = await open(a, terminalId, 1);
    const doomed = [await open(killed, terminalId, 2), await open(killed, terminalId, 3)];

    // renewed every third of the period, the leases outlive it
    await sleep(LEASE_MS * 3);
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(3);

    // killed: it renews nothing more and drops nothing
    await cutOff(killed);
    await sleep(LEASE_MS + 100);
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(1);
    const others = [await open(a, terminalId, 2), await open(a, terminalId, 3)];
    for (const stream of [mine, ...others]) expect(stream.endedBy).toBeUndefined();
    for (const stream of [mine, ...others, ...doomed]) stream.end();
  });

  it('keeps opening streams while Redis is away, capped by each replica, and counts them all again once it is back', async () => {
    const [a, away] = [await startReplica(), await startReplica()];
    const terminalId = `ter_${randomUUID()}`;
    const oldest = await open(a, terminalId, 1);
    const second = await open(a, terminalId, 2);

    // the replica cannot reach Redis: its streams open all the same, and it caps them on its own
    await cutOff(away);
    const opened = Array.from({ length: 4 }, () => Stream.open(away, terminalId));
    expect(opened.map((stream) => stream.endedBy)).toEqual(['replaced', undefined, undefined, undefined]);
    expect(away.hub.streamCount(terminalId)).toBe(3);
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(2);

    // back: its next renewal takes the leases again, and the oldest over the cap, here the other replica's, are closed
    await away.redis.connect();
    await eventually(() => second.endedBy, 5000, 20);
    expect(oldest.endedBy).toBe('replaced');
    expect(await a.hub.fleetStreamCount(terminalId)).toBe(3);
    for (const stream of opened.slice(1)) expect(stream.endedBy).toBeUndefined();
    for (const stream of opened) stream.end();
  });
});
