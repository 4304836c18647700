import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from './api-error';

/** The admin token a service's module provides (from its configuration). */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

/** What is compared: a digest of each token, as long as any other, so a refusal takes as long whatever the length of the token given. */
const digest = (token: string) => createHash('sha256').update(token).digest();

/** Admin endpoints take `Authorization: Bearer <admin token>`, compared in constant time. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    // the scheme's name is case-insensitive (RFC 7235), as for terminal keys
    const given = digest(header && /^bearer /i.test(header) ? header.slice(7).trim() : '');
    if (!timingSafeEqual(given, this.expected)) throw new ApiError(401, 'UNAUTHENTICATED', 'the admin token is required');
    return true;
  }
}
