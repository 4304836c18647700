import { ApiError } from '@upm/shared-runtime';
import type { Sandbox } from './sandbox';
import { SandboxAdminController } from './sandbox-admin.controller';

/** The refusal the sandbox's own endpoints answer; the sandbox itself is never reached. */
async function refusal(call: (controller: SandboxAdminController) => unknown): Promise<Array<{ field: string; code: string }>> {
  const reached = () => {
    throw new Error('a refused request reached the sandbox');
  };
  const sandbox = new Proxy({}, { get: () => new Proxy(reached, { get: reached }) });
  try {
    await call(new SandboxAdminController(sandbox as Sandbox));
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    return ((error as ApiError).details as Array<{ field: string; code: string }>).map(({ field, code }) => ({ field, code }));
  }
  throw new Error('the request was accepted');
}

describe('the sandbox admin API refuses a request', () => {
  it('naming each field, with a code saying whether it is missing or wrong', async () => {
    expect(await refusal((c) => c.registerClient({}))).toEqual([
      { field: 'clientId', code: 'REQUIRED' },
      { field: 'publicKey', code: 'REQUIRED' },
    ]);
    expect(await refusal((c) => c.registerClient({ clientId: 7, publicKey: 'pem', keyVersion: 'v2' }))).toEqual([
      { field: 'clientId', code: 'INVALID_VALUE' },
      { field: 'keyVersion', code: 'INVALID_VALUE' },
    ]);
    expect(await refusal((c) => c.reports({ date: '2026-02-30' }))).toEqual([{ field: 'date', code: 'INVALID_VALUE' }]);
    expect(await refusal((c) => c.moveClock({}))).toEqual([{ field: '(body)', code: 'INVALID_VALUE' }]);
  });
});
