import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from './api-error';

/**
 * The services' HTTP APIs take JSON. A body in another type is refused with 415 rather than read: a form would be
 * parsed into fields (and a payment or an endpoint made from it), and text would reach validation without any,
 * which then names every field REQUIRED although the caller sent them all. A request without a body (a cancel
 * with nothing to say) has no type to check.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const length = request.headers['content-length'];
    const hasBody = request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !request.is('application/json')) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON, with Content-Type: application/json');
    return true;
  }
}
