import { createHash } from 'node:crypto';

/** Statement texts sent as named statements (parsed and planned once per connection), with their names. */
const PREPARED = new Map<string, string>();
/** a bound on what each connection keeps prepared, should a marked text ever vary more than it should */
const MAX_PREPARED = 256;

/**
 * Marks a hot statement to be prepared once per pooled connection (see `PlatformClient`) and returns its
 * text unchanged. Only for statements whose text never varies and whose result names its columns: a
 * prepared `SELECT *` or `RETURNING *` fails on a connection that outlives a migration adding a column.
 */
export function prepared(text: string): string {
  if (!PREPARED.has(text) && PREPARED.size < MAX_PREPARED) PREPARED.set(text, `upm_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`);
  return text;
}

/** The statement name of a marked text, if it is one. */
export function preparedName(text: string): string | undefined {
  return PREPARED.get(text);
}
