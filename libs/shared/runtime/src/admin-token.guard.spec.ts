import crypto from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { AdminTokenGuard } from './admin-token.guard';

const TOKEN = 'operators-token-0123';
const calling = (authorization?: string) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }) }) as unknown as ExecutionContext;

describe('AdminTokenGuard', () => {
  it('takes the token after the Bearer scheme whatever the scheme\'s case (RFC 7235), as the terminal guard does', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) expect(new AdminTokenGuard(TOKEN).canActivate(calling(`${scheme} ${TOKEN}`))).toBe(true);
  });

  it('compares a token of any length in constant time, so the time of a refusal does not tell the length of the token', () => {
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      for (const given of ['x', TOKEN.slice(1), `${TOKEN}-and-more`]) {
        compare.mockClear();
        expect(() => new AdminTokenGuard(TOKEN).canActivate(calling(`Bearer ${given}`))).toThrow(expect.objectContaining({ status: 401 }));
        expect(compare).toHaveBeenCalledTimes(1);
      }
    } finally {
      compare.mockRestore();
    }
  });

  it('answers 401 without the token, with another scheme or another token', () => {
    for (const authorization of [undefined, '', TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer']) {
      expect(() => new AdminTokenGuard(TOKEN).canActivate(calling(authorization))).toThrow(expect.objectContaining({ status: 401, code: 'UNAUTHENTICATED' }));
    }
  });
});
