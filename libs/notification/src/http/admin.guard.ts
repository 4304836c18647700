import { timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '@upm/shared-runtime';
import { NOTIFICATION_OPTIONS, NotificationOptions } from '../notification.options';

/** Admin calls carry `Authorization: Bearer <admin token>` from configuration. */
@Injectable()
export class NotificationAdminGuard implements CanActivate {
  constructor(@Inject(NOTIFICATION_OPTIONS) private readonly options: NotificationOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7).trim() : '');
    const expected = Buffer.from(this.options.adminToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ApiError(401, 'UNAUTHENTICATED', 'the admin token is required');
    return true;
  }
}
