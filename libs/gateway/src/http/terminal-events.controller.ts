import { Controller, Get, Inject, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import type { Logger } from '@upm/shared-observability';
import { ApiError, LOGGER } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import type { TerminalContext } from '../registry/registry.service';
import { latestTerminalEventId, TerminalEventsHub, terminalEventsAfter } from '../terminal-events/terminal-events';
import { Terminal, TerminalGuard } from './auth.guards';

/** Streams re-read this often even without a wake-up, so a lost Redis message only delays an event. */
const RECHECK_MS = 2000;
const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/terminals/me/events`: the calling terminal's payment and refund events as server-sent events. A
 * terminal sees the payments it made (never another terminal's, nor another merchant's). Without
 * Last-Event-ID the stream starts at now; with it, it replays every event after that id first.
 */
@Controller('v1/terminals/me')
@UseGuards(TerminalGuard)
export class TerminalEventsController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly hub: TerminalEventsHub,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('events')
  async events(@Terminal() terminal: TerminalContext, @Req() req: Request, @Res() res: Response, @Query('lastEventId') queryLastId?: string): Promise<void> {
    const given = req.header('last-event-id') ?? queryLastId;
    if (given !== undefined && !/^\d{1,18}$/.test(given)) throw new ApiError(400, 'INVALID_LAST_EVENT_ID', 'Last-Event-ID is the id of an event this stream sent');

    let closed = false;
    let dirty = true;
    let wakeWaiter: (() => void) | undefined;
    const wake = () => {
      dirty = true;
      wakeWaiter?.();
    };
    const close = () => {
      closed = true;
      wakeWaiter?.();
    };
    let replaced = false;
    // listening before the first read: an event committed in between still wakes the loop
    const unlisten = this.hub.listen(terminal.terminalId, {
      wake,
      close: (why) => {
        replaced = why === 'replaced';
        close();
      },
    });
    req.on('close', close);
    let cursor: string;
    try {
      cursor = given ?? (await latestTerminalEventId(this.dataSource, terminal.terminalId));
    } catch (error) {
      // the stream never started: stop listening, or every failed reconnect would leave its listener behind
      unlisten();
      throw error;
    }

    res.status(200);
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-cache, no-transform');
    res.setHeader('connection', 'keep-alive');
    res.setHeader('x-accel-buffering', 'no');
    res.flushHeaders();
    res.write(`retry: 1000\n: stream of terminal ${terminal.terminalId} from event ${cursor}\n\n`);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), this.options.sseHeartbeatMs ?? DEFAULT_HEARTBEAT_MS);

    try {
      while (!closed) {
        if (dirty) {
          dirty = false;
          for (;;) {
            const batch = await terminalEventsAfter(this.dataSource, terminal, cursor);
            for (const event of batch) {
              const { id, ...data } = event;
              res.write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
              cursor = id;
            }
            if (batch.length < 200 || closed) break;
          }
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, RECHECK_MS);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          wakeWaiter = done;
        });
        wakeWaiter = undefined;
        dirty = true;
      }
    } catch (error) {
      this.logger.warn({ err: error, terminalId: terminal.terminalId }, 'terminal event stream ended by an error; the POS resumes from its Last-Event-ID');
    } finally {
      clearInterval(heartbeat);
      unlisten();
      if (replaced) {
        this.logger.info({ terminalId: terminal.terminalId }, 'terminal event stream replaced by a newer one of the same terminal');
        res.write(': STREAM_REPLACED this terminal opened a newer stream; this, its oldest, is closed\n\n');
      }
      res.end();
    }
  }
}
