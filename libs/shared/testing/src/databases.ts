import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, DatabaseDefinition, ensureDatabase } from '@upm/shared-database';

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A test database URL; refuses any name that does not say it is for tests. */
export function testDatabaseUrl(name: string): string {
  if (!/test/.test(name) || !/^[a-z0-9_]+$/.test(name)) throw new Error(`refusing to use database "${name}": test databases are named upm_test_*`);
  return `${POSTGRES_URL}/${name}`;
}

/** Drops and recreates a test database so the suite starts from nothing. */
export async function recreateDatabase(name: string): Promise<string> {
  const url = testDatabaseUrl(name);
  const admin = new Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await ensureDatabase(url);
  return url;
}

/** A fresh, migrated test database for a suite, with its data source initialised. */
export async function freshDatabase(name: string, definition: DatabaseDefinition): Promise<{ url: string; dataSource: DataSource }> {
  const url = await recreateDatabase(name);
  const dataSource = createDataSource(definition, { url, poolSize: 10, applicationName: name });
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  return { url, dataSource };
}
