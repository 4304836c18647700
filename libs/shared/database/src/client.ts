import { Client, ClientConfig, QueryResult } from 'pg';
import { preparedName } from './prepared';

export interface PlatformClientConfig extends ClientConfig {
  /** send the statements marked with `prepared` as named statements (default true) */
  preparedStatements?: boolean;
  /**
   * pg's pipeline mode: a query goes out without waiting for the answer to the one before. Needed to send a
   * transaction's `START TRANSACTION` together with its first statement (see `PlatformClient`).
   */
  pipeline?: boolean;
}

const BEGIN = 'START TRANSACTION';

type Send = (...args: unknown[]) => Promise<QueryResult>;

/**
 * The pg client of every service's pool. Two things make its statements cheaper than pg's own:
 *
 * - Statements marked with `prepared` are sent as named statements: PostgreSQL parses, analyses and plans
 *   each once per connection instead of on every call, which is a fifth of its work for the platform's
 *   short statements. Behind PgBouncer in transaction mode this needs PgBouncer 1.21+ with
 *   `max_prepared_statements` set, or `DATABASE_PREPARED_STATEMENTS=false`.
 * - In pipeline mode, a transaction's `START TRANSACTION` (TypeORM's) is held back and written together
 *   with the transaction's first statement: one write and one round trip instead of two, on the most
 *   frequent path there is (every consumer transaction). A transaction that ends without any statement
 *   sends nothing at all. A failing `START TRANSACTION` fails that first statement's call.
 */
export class PlatformClient extends Client {
  private readonly prepareMarked: boolean;
  private readonly deferBegin: boolean;
  /** a `START TRANSACTION` answered here and not yet sent */
  private beginHeld = false;

  constructor(config: PlatformClientConfig = {}) {
    super(config);
    this.prepareMarked = config.preparedStatements !== false;
    this.deferBegin = config.pipeline === true;
  }

  // pg's query() has many forms; each is passed on as it is, but for (text, values) of a marked statement
  override query(...args: unknown[]): never {
    const [text, values, callback] = args;
    const name = this.prepareMarked && typeof text === 'string' && Array.isArray(values) ? preparedName(text) : undefined;
    const forwarded = name ? [{ name, text, values }, callback] : args;
    const send = (super.query as Send).bind(this);
    // only the promise forms (TypeORM's) take part in holding a START TRANSACTION back
    const promiseForm = typeof text === 'string' && typeof values !== 'function' && callback === undefined;
    const bare = values === undefined || (Array.isArray(values) && values.length === 0);
    if (this.deferBegin && promiseForm && !this.beginHeld && text === BEGIN && bare) {
      this.beginHeld = true;
      return Promise.resolve(emptyResult('BEGIN')) as never;
    }
    if (promiseForm && this.beginHeld) {
      this.beginHeld = false;
      // nothing ran since the held START TRANSACTION: there is no transaction to end
      if ((text === 'COMMIT' || text === 'ROLLBACK') && bare) return Promise.resolve(emptyResult(text)) as never;
      return this.withBegin(() => send(...forwarded), send) as never;
    }
    if (this.beginHeld) {
      // any other form: the held START TRANSACTION is queued ahead of it (a failure of it fails this query too)
      this.beginHeld = false;
      send(BEGIN).catch(() => undefined);
    }
    return send(...forwarded) as never;
  }

  /** Sends the held START TRANSACTION and `statement` in one write; fails as START TRANSACTION fails, if it does. */
  private async withBegin(statement: () => Promise<QueryResult>, send: Send): Promise<QueryResult> {
    // both are queued in pipeline mode before the socket writes: one write carries both
    const socket = (this as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
    socket.cork();
    let begun: Promise<QueryResult>;
    let result: Promise<QueryResult>;
    try {
      begun = send(BEGIN);
      result = statement();
    } finally {
      socket.uncork();
    }
    try {
      await begun;
    } catch (error) {
      result.catch(() => undefined);
      throw error;
    }
    return result;
  }
}

function emptyResult(command: string): QueryResult {
  return { command, rowCount: null, oid: 0, rows: [], fields: [] };
}
