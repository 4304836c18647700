import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { TerminalRateLimiter } from '../payments/rate-limiter';
import { RegistryService, TerminalContext } from '../registry/registry.service';

type AuthenticatedRequest = Request & { terminal?: TerminalContext };

/** The credentials of the `Bearer` scheme; the scheme's name is case-insensitive (RFC 7235), and POS HTTP stacks send it as they like. */
function bearer(request: Request): string | undefined {
  const header = request.headers.authorization;
  return header && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
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

/**
 * After TerminalGuard: every request of a terminal counts towards its limit (GATEWAY_RATE_LIMIT_PER_SECOND),
 * reads and event streams as well as writes, so a POS polling in a loop cannot load the database for everyone.
 */
@Injectable()
export class TerminalRateLimitGuard implements CanActivate {
  constructor(
    private readonly limiter: TerminalRateLimiter,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { terminalId } = terminalOf(context);
    const perSecond = this.options.rateLimitPerSecond;
    if (!(await this.limiter.allow(terminalId, perSecond))) {
      throw new ApiError(429, 'RATE_LIMITED', `more than ${perSecond} requests per second from this terminal`, undefined, 1);
    }
    return true;
  }
}

function terminalOf(context: ExecutionContext): TerminalContext {
  const terminal = context.switchToHttp().getRequest<AuthenticatedRequest>().terminal;
  if (!terminal) throw new ApiError(401, 'UNAUTHENTICATED', 'a valid terminal key is required');
  return terminal;
}

export const Terminal = createParamDecorator((_data: unknown, context: ExecutionContext): TerminalContext => terminalOf(context));
