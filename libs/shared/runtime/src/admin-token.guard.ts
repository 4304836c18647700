import { timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from './api-error';

/** The admin token a service's module provides (from its configuration). */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

/** Admin endpoints take `Authorization: Bearer <admin token>`, compared in constant time. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.expected = Buffer.from(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    // the scheme's name is case-insensitive (RFC 7235), as for terminal keys
    const given = Buffer.from(header && /^bearer /i.test(header) ? header.slice(7).trim() : '');
    if (given.length !== this.expected.length || !timingSafeEqual(given, this.expected)) throw new ApiError(401, 'UNAUTHENTICATED', 'the admin token is required');
    return true;
  }
}
