import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';

const AMS_PREFIX = '/ams/';
const LIMIT_BYTES = 1024 * 1024;

type RawRequest = IncomingMessage & { body?: unknown };

/**
 * Keeps the exact bytes of AMS requests, which their signature covers (spec §2.5): re-serialised JSON would
 * not verify. Must run before the JSON body parser; a fully read request is skipped by it.
 */
export function rawAmsBody(req: RawRequest, res: ServerResponse, next: (error?: unknown) => void): void {
  if (req.method !== 'POST' || !req.url?.startsWith(AMS_PREFIX)) return next();
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= LIMIT_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > LIMIT_BYTES) {
      res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'AMS body over 1 MiB' } }));
      return;
    }
    req.body = Buffer.concat(chunks);
    next();
  });
  req.on('error', next);
}

/** The HTTP setup the sandbox needs before Nest registers its body parsers (runService's `configure`). */
export function configureSandboxHttp(app: INestApplication): void {
  app.use(rawAmsBody);
}
