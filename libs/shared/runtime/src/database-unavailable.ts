/**
 * SQLSTATEs that say the database could not do it now, not that the statement is wrong: connection
 * exceptions (08), insufficient resources (53), a server shutting down or starting (57P01–57P03), and a
 * serialization failure or deadlock (40001, 40P01), which the same work run again gets past.
 */
const UNAVAILABLE_STATES = /^(08|53|57P0[123]$|40001$|40P01$)/;
/** What node-postgres and its pool say when there is no usable connection. */
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|not queryable/i;

/** Whether an error means the database is unavailable for now (try the same work again later) rather than refusing the work. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_STATES.test(code)) return true;
  return UNAVAILABLE_MESSAGES.test(error.message);
}
