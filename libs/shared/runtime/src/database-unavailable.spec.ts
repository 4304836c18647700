import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-unavailable';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('knows a database that is away, restarting, out of connections or in a deadlock', () => {
    for (const error of [
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P03', 'the database system is starting up'),
      pgError('08006'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('40001'),
      pgError('40P01', 'deadlock detected'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
      new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      new QueryFailedError('SELECT 1', [], pgError('57P01')),
    ]) expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('leaves every other error to the caller: a statement the database refuses stays refused', () => {
    for (const error of [pgError('23505', 'duplicate key'), pgError('22P02'), pgError('57014', 'canceling statement due to statement timeout'), new TypeError('x is undefined'), 'a string']) {
      expect(isDatabaseUnavailable(error)).toBe(false);
    }
  });
});
