import type { DataSource } from 'typeorm';
import { Metrics } from '@upm/shared-observability';
import { TablePruner } from './table-pruner';

const logger = { info: () => undefined, warn: () => undefined } as never;
const metric = { name: 'test_pruned_total', help: 'rows pruned' };

describe('TablePruner', () => {
  it('accepts plain table and column names and refuses anything else', () => {
    const db = {} as DataSource;
    expect(() => new TablePruner(db, logger, new Metrics('test'), { table: 'terminal_events', column: 'created_at', retentionHours: 1, metric })).not.toThrow();
    expect(() => new TablePruner(db, logger, new Metrics('test'), { table: 'inbox; DROP TABLE x', column: 'processed_at', retentionHours: 1, metric })).toThrow(/not a plain SQL identifier/);
    expect(() => new TablePruner(db, logger, new Metrics('test'), { table: 'inbox', column: 'Processed At', retentionHours: 1, metric })).toThrow(/not a plain SQL identifier/);
  });
});
