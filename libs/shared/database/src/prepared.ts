import { createHash } from 'node:crypto';
import { Client } from 'pg';

/** Statement texts sent as named statements (parsed and planned once per connection), with their names. */
const PREPARED = new Map<string, string>();
/** a bound on what each connection keeps prepared, should a marked text ever vary more than it should */
const MAX_PREPARED = 256;

/**
 * Marks a hot statement to be prepared once per pooled connection (see `PreparingClient`) and returns its
 * text unchanged. Only for statements whose text never varies and whose result names its columns: a
 * prepared `SELECT *` or `RETURNING *` fails on a connection that outlives a migration adding a column.
 */
export function prepared(text: string): string {
  if (!PREPARED.has(text) && PREPARED.size < MAX_PREPARED) PREPARED.set(text, `upm_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`);
  return text;
}

/**
 * A pg client that sends the statements marked with `prepared` as named statements. PostgreSQL then
 * parses, analyses and plans each once per connection instead of on every call, which is a fifth of its
 * work for the platform's short statements. Behind PgBouncer in transaction mode this needs PgBouncer
 * 1.21+ with `max_prepared_statements` set, or `DATABASE_PREPARED_STATEMENTS=false`.
 */
export class PreparingClient extends Client {
  // pg's query() has many forms; every one is passed on as it is, except (text, values) of a marked statement
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && Array.isArray(values) ? PREPARED.get(text) : undefined;
    const query = super.query as (...forwarded: unknown[]) => never;
    return name ? query.call(this, { name, text, values }, callback) : query.apply(this, args);
  }
}
