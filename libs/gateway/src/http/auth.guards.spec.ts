import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { RegistryService, TerminalContext } from '../registry/registry.service';
import { TerminalGuard } from './auth.guards';

const KEY = 'tk_key_1.secret';
const terminal = { terminalId: 'ter_1', keyId: 'key_1' } as TerminalContext;
/** a registry that knows one key */
const registry = { authenticate: async (key: string) => (key === KEY ? terminal : null) } as unknown as RegistryService;

function calling(authorization?: string): { context: ExecutionContext; request: Request & { terminal?: TerminalContext } } {
  const request = { headers: authorization === undefined ? {} : { authorization } } as Request;
  const context = { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
  return { context, request };
}

describe('TerminalGuard', () => {
  it('takes the key after the Bearer scheme whatever the scheme\'s case (RFC 7235)', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const { context, request } = calling(`${scheme} ${KEY}`);
      await expect(new TerminalGuard(registry).canActivate(context)).resolves.toBe(true);
      expect(request.terminal).toBe(terminal);
    }
  });

  it('answers 401 without a key, with another scheme or with a key it does not know', async () => {
    for (const authorization of [undefined, '', KEY, `Basic ${KEY}`, 'Bearer tk_other.secret', 'Bearer']) {
      await expect(new TerminalGuard(registry).canActivate(calling(authorization).context)).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
  });
});
