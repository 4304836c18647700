import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from '@upm/shared-observability';
import { ApiError, ErrorBody } from './api-error';
import { isDatabaseUnavailable } from './database-unavailable';
import { LOGGER } from './tokens';

const CODE_BY_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'BUSINESS_RULE', 429: 'RATE_LIMITED', 503: 'UNAVAILABLE',
};

/** Every error leaves as `{ error: { code, message, details? } }`; unexpected ones are logged and answered 500. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const [status, body] = this.toBody(exception);
    // an ApiError is an answer the code chose (such as a 503 while shedding load), not a failure to log
    if (status >= 500 && !(exception instanceof ApiError)) this.logger.error({ err: exception, status }, 'request failed');
    if (response.headersSent) return;
    if (exception instanceof ApiError && exception.retryAfterSeconds !== undefined) response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    else if (status === HttpStatus.SERVICE_UNAVAILABLE) response.setHeader('Retry-After', '1');
    response.status(status).json(body);
  }

  private toBody(exception: unknown): [number, ErrorBody] {
    if (exception instanceof ApiError) {
      const error = { code: exception.code, message: exception.message, ...(exception.details ? { details: exception.details } : {}) };
      return [exception.status, { error }];
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      // Nest turns body-parser's SyntaxError into a plain BadRequestException; its message is all that is left of it
      const code = status === 400 && / JSON/.test(exception.message) ? 'MALFORMED_JSON' : CODE_BY_STATUS[status] ?? `HTTP_${status}`;
      return [status, { error: { code, message: safeMessage(exception, status) } }];
    }
    const status = (exception as { status?: unknown })?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return [status, { error: { code: CODE_BY_STATUS[status] ?? `HTTP_${status}`, message: (exception as Error).message } }];
    }
    if (isTransient(exception)) {
      return [HttpStatus.SERVICE_UNAVAILABLE, { error: { code: 'UNAVAILABLE', message: 'temporarily unavailable; retry the same request' } }];
    }
    return [HttpStatus.INTERNAL_SERVER_ERROR, { error: { code: 'INTERNAL', message: 'internal error' } }];
  }
}

function safeMessage(exception: HttpException, status: number): string {
  return status >= 500 ? 'internal error' : exception.message;
}

/**
 * Not the request's fault, so the POS may retry it: a saturated connection pool, a database or Redis that
 * went away, an idempotency lock another attempt of the same request still holds.
 */
function isTransient(exception: unknown): boolean {
  if (!(exception instanceof Error)) return false;
  if (isDatabaseUnavailable(exception) || (exception as { code?: unknown }).code === 'LOCK.UNAVAILABLE') return true;
  // ioredis: the connection is down, or a command ran out of reconnection attempts
  return /Connection is closed|max retries per request/i.test(exception.message);
}

