import { EventEmitter } from 'node:events';
import { Controller, Get, Inject, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import type { Logger } from '@upm/shared-observability';
import { ApiError, LOGGER } from '@upm/shared-runtime';
import { DEFAULT_SSE_HEARTBEAT_MS, GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import type { TerminalContext } from '../registry/registry.service';
import { latestTerminalEventId, replayHorizon, StreamEnd, TerminalEventsHub, terminalEventsAfter } from '../terminal-events/terminal-events';
import { Terminal, TerminalGuard, TerminalRateLimitGuard } from './auth.guards';

/** A client still behind this many heartbeat periods after a write had to wait for it is dropped. */
const STALLED_HEARTBEATS = 2;
/** events per read of the table */
const PAGE = 200;
/**
 * Streams that end together (their replica stops, or the database fails them all) ask their POS to reconnect
 * after 1 s plus up to this much, each at random: all of them in the same second would come back as one burst.
 */
const RECONNECT_SPREAD_MS = 10_000;
/**
 * A replaced stream's POS waits this long before it reconnects: a dead stream does not care, and a live one (a
 * POS that opens streams without closing them) would otherwise replace another of its terminal's every second.
 */
const REPLACED_RETRY_MS = 30_000;
const spreadRetry = () => `retry: ${1000 + Math.floor(Math.random() * RECONNECT_SPREAD_MS)}\n`;

/** Resolves true when `emitter` emits `event`, false after `ms` or once `signal` aborts, whichever comes first. */
function until(emitter: EventEmitter, event: string, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (happened: boolean) => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      signal.removeEventListener('abort', onAbort);
      resolve(happened);
    };
    const onEvent = () => settle(true);
    const onAbort = () => settle(false);
    const timer = setTimeout(onAbort, ms);
    emitter.on(event, onEvent);
    signal.addEventListener('abort', onAbort);
  });
}

/**
 * `GET /v1/terminals/me/events`: the calling terminal's payment and refund events as server-sent events. A
 * terminal sees the payments it made (never another terminal's, nor another merchant's). Without
 * Last-Event-ID the stream starts at now; with it, it replays every event after that id first.
 *
 * Writes respect back-pressure: while a client is behind, the stream waits for it rather than buffering
 * events in memory, and a client that does not catch up within two heartbeat periods is disconnected. It
 * reconnects and resumes from its Last-Event-ID, so nothing is lost: what it had not taken is replayed.
 *
 * A stream whose key is revoked or rotated ends within about a heartbeat period (`: KEY_REVOKED`): the hub
 * checks the keys of all the replica's open streams together. A replica that stops ends its streams
 * (`: SHUTDOWN`), as a database failure does (`: UNAVAILABLE`), each with a reconnection time drawn between 1
 * and 11 s, so their POS reconnect spread out rather than at once.
 *
 * A replay that cannot be whole is refused rather than served with a hole a POS cannot see: 410 EVENTS_PRUNED
 * when events after the POS's Last-Event-ID were deleted after the retention (a replay the retention overtakes
 * ends with `: EVENTS_PRUNED`, and its reconnect is answered so), and 400 INVALID_LAST_EVENT_ID for an id above
 * any this database gave (another environment, or a restored backup), whose stream would stay silent until the
 * ids reached it and then skip all the terminal's events before. Either way the POS reconnects without the id
 * and re-reads the payments it waits for.
 */
@Controller('v1/terminals/me')
@UseGuards(TerminalGuard, TerminalRateLimitGuard)
export class TerminalEventsController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly hub: TerminalEventsHub,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('events')
  async events(@Terminal() terminal: TerminalContext, @Req() req: Request, @Res() res: Response, @Query('lastEventId') queryLastId?: string): Promise<void> {
    // an empty id names no event: a client that has seen none yet may still send the header (or the query) empty
    const given = [req.header('last-event-id'), queryLastId].find((id) => id !== undefined && id !== '');
    if (given !== undefined && !/^\d{1,18}$/.test(given)) throw new ApiError(400, 'INVALID_LAST_EVENT_ID', 'Last-Event-ID is the id of an event this stream sent');

    // before the stream registers with the hub: a refused one must not close one of the terminal's open streams
    let cursor = await this.startOf(terminal, given);

    const heartbeatMs = this.options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS;
    const stallMs = STALLED_HEARTBEATS * heartbeatMs;
    const closing = new AbortController();
    const close = () => closing.abort();
    const wakeups = new EventEmitter();
    let dirty = true;
    let endedBy: StreamEnd | 'pruned' | 'failed' | undefined;
    // listening before the first read of events: one committed in between still wakes the loop. The hub also
    // ends the stream once the key it was opened with is revoked or rotated.
    const unlisten = this.hub.listen(terminal, {
      position: () => cursor,
      wake: () => {
        dirty = true;
        wakeups.emit('wake');
      },
      close: (why) => {
        // the first reason the stream ended is the one the POS is told
        if (!closing.signal.aborted) endedBy = why;
        close();
      },
    });
    req.on('close', close);
    // a POS that hung up while its stream was being set up closed the request before anyone listened
    if (req.socket.destroyed) close();

    /** Writes with back-pressure: waits while the client is behind, and drops one that has not caught up within `stallMs`. */
    const send = async (chunk: string): Promise<void> => {
      if (res.write(chunk) || (await until(res, 'drain', stallMs, closing.signal)) || closing.signal.aborted) return;
      this.logger.info({ terminalId: terminal.terminalId, stallMs }, 'terminal event stream dropped: the POS did not keep up with it; it resumes from its Last-Event-ID');
      close();
    };

    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    res.write(`retry: 1000\n: stream of terminal ${terminal.terminalId} from event ${cursor}\n\n`);
    // a client that is behind has bytes in flight, which show it is alive; a heartbeat would only add to its backlog
    const heartbeat = setInterval(() => {
      if (!res.writableNeedDrain) res.write(': heartbeat\n\n');
    }, heartbeatMs);

    try {
      while (!closing.signal.aborted) {
        if (dirty) {
          dirty = false;
          for (;;) {
            const { events, prunedThrough } = await terminalEventsAfter(this.dataSource, terminal, cursor, PAGE);
            if (BigInt(prunedThrough) > BigInt(cursor)) {
              // the retention overtook the replay: the POS is told, and its reconnect from here is answered 410
              if (!closing.signal.aborted) endedBy = 'pruned';
              close();
              break;
            }
            for (const event of events) {
              if (closing.signal.aborted) break;
              const { id, ...data } = event;
              await send(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
              cursor = id;
            }
            if (events.length < PAGE || closing.signal.aborted) break;
          }
          continue;
        }
        // the hub wakes the stream, on Redis' message or on its own recheck, when the terminal has a new event
        await until(wakeups, 'wake', heartbeatMs, closing.signal);
      }
    } catch (error) {
      if (!closing.signal.aborted) endedBy = 'failed';
      this.logger.warn({ err: error, terminalId: terminal.terminalId }, 'terminal event stream ended by an error; the POS resumes from its Last-Event-ID');
    } finally {
      clearInterval(heartbeat);
      unlisten();
      if (endedBy === 'replaced') this.logger.info({ terminalId: terminal.terminalId }, 'terminal event stream replaced by a newer one of the same terminal');
      if (endedBy === 'revoked') this.logger.info({ terminalId: terminal.terminalId }, 'terminal event stream ended: its key was revoked or rotated');
      if (res.writableNeedDrain) {
        // a client that does not take its stream would not take its end either: let the connection go now
        res.destroy();
      } else {
        if (endedBy === 'replaced') res.write(`retry: ${REPLACED_RETRY_MS}\n: STREAM_REPLACED this terminal opened a newer stream; this, its oldest, is closed\n\n`);
        if (endedBy === 'revoked') res.write(': KEY_REVOKED the key this stream was opened with was revoked or rotated\n\n');
        if (endedBy === 'shutdown') res.write(`${spreadRetry()}: SHUTDOWN this replica stops; reconnect after the retry time and resume from your Last-Event-ID\n\n`);
        if (endedBy === 'failed') res.write(`${spreadRetry()}: UNAVAILABLE the stream's events could not be read; reconnect after the retry time and resume from your Last-Event-ID\n\n`);
        if (endedBy === 'pruned') res.write(`: EVENTS_PRUNED events after ${cursor} were deleted after the retention: reconnect without Last-Event-ID, then re-read the payments you wait for\n\n`);
        res.end();
      }
    }
  }

  /**
   * Where a stream starts: after the POS's Last-Event-ID, or without one after the terminal's newest event.
   * Refuses an id no stream of this database sent, and one whose replay would cross deleted events.
   */
  private async startOf(terminal: TerminalContext, given: string | undefined): Promise<string> {
    if (given === undefined) return latestTerminalEventId(this.dataSource, terminal.terminalId);
    const { issued, prunedThrough } = await replayHorizon(this.dataSource, terminal.terminalId);
    if (BigInt(given) > BigInt(issued)) {
      throw new ApiError(400, 'INVALID_LAST_EVENT_ID', `Last-Event-ID ${given} is above any event id this gateway ever sent (another environment's, or from before a restore): reconnect without it, then re-read the payments you wait for`);
    }
    if (BigInt(prunedThrough) > BigInt(given)) {
      const retentionHours = this.options.terminalEventsRetentionHours ?? 72;
      throw new ApiError(410, 'EVENTS_PRUNED', `events after ${given} were deleted after the ${retentionHours} h retention: reconnect without Last-Event-ID, then re-read the payments you wait for (GET /v1/payments/{paymentId} or ?merchantOrderId=)`,
        [{ lastEventId: given, prunedThrough }]);
    }
    return given;
  }
}
