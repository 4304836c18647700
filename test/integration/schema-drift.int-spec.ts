import { schemaDrift } from '@upm/shared-database';
import { freshDatabase } from '@upm/shared-testing';
import { SERVICE_DATABASES } from '@upm/tools';

/** Migrations are written by hand and reviewed; this fails when they and the entities disagree. */
describe('database schema', () => {
  it.each(SERVICE_DATABASES.map((entry) => [entry.definition.name, entry] as const))('%s: migrations produce exactly the entities', async (name, entry) => {
    const { dataSource } = await freshDatabase(`upm_test_drift_${name.replace('upm_', '')}`, entry.definition);
    try {
      expect(await schemaDrift(dataSource)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
