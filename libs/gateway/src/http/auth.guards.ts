import { timingSafeEqual } from 'node:crypto';
import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '@upm/shared-runtime';
import { RegistryService, TerminalContext } from '../registry/registry.service';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

type AuthenticatedRequest = Request & { terminal?: TerminalContext };

function bearer(request: Request): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/** POS calls carry `Authorization: Bearer <terminal key>`; the terminal decides the tenant of everything after. */
@Injectable()
export class TerminalGuard implements CanActivate {
  constructor(private readonly registry: RegistryService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = bearer(request);
    const terminal = key ? await this.registry.authenticate(key) : null;
    if (!terminal) throw new ApiError(401, 'UNAUTHENTICATED', 'a valid terminal key is required');
    request.terminal = terminal;
    return true;
  }
}

@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const given = Buffer.from(bearer(context.switchToHttp().getRequest<Request>()) ?? '');
    const expected = Buffer.from(this.options.adminToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ApiError(401, 'UNAUTHENTICATED', 'the admin token is required');
    return true;
  }
}

export const Terminal = createParamDecorator((_data: unknown, context: ExecutionContext): TerminalContext => {
  const terminal = context.switchToHttp().getRequest<AuthenticatedRequest>().terminal;
  if (!terminal) throw new ApiError(401, 'UNAUTHENTICATED', 'a valid terminal key is required');
  return terminal;
});
