import type { ExecutionContext } from '@nestjs/common';
import { AdminTokenGuard } from './admin-token.guard';

const TOKEN = 'operators-token-0123';
const calling = (authorization?: string) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }) }) as unknown as ExecutionContext;

describe('AdminTokenGuard', () => {
  it('takes the token after the Bearer scheme whatever the scheme\'s case (RFC 7235), as the terminal guard does', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) expect(new AdminTokenGuard(TOKEN).canActivate(calling(`${scheme} ${TOKEN}`))).toBe(true);
  });

  it('answers 401 without the token, with another scheme or another token', () => {
    for (const authorization of [undefined, '', TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer']) {
      expect(() => new AdminTokenGuard(TOKEN).canActivate(calling(authorization))).toThrow(expect.objectContaining({ status: 401, code: 'UNAUTHENTICATED' }));
    }
  });
});
