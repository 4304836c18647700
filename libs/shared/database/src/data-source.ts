import { DataSource, EntitySchema, MixedList } from 'typeorm';
import { Client } from 'pg';
import { PlatformClient, PlatformClientConfig } from './client';

/** What a service's database is made of: its tables (entities) and the migrations that create them. */
export interface DatabaseDefinition {
  /** the service's database name by default, e.g. `upm_gateway` */
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
}

export interface DatabaseConnection {
  url: string;
  poolSize?: number;
  applicationName?: string;
  /** send the statements marked with `prepared` as named statements (default true) */
  preparedStatements?: boolean;
}

const DEFAULT_POOL_SIZE = 10;

/** A TypeORM data source that only ever changes the schema through migrations. */
export function createDataSource(definition: DatabaseDefinition, connection: DatabaseConnection): DataSource {
  return new DataSource({
    type: 'postgres',
    url: connection.url,
    entities: definition.entities,
    migrations: definition.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    // pg's pool hands these to every client it creates, PlatformClient's own settings included
    extra: {
      max: connection.poolSize ?? DEFAULT_POOL_SIZE,
      Client: PlatformClient,
      application_name: connection.applicationName ?? definition.name,
      connectionTimeoutMillis: 5000,
      preparedStatements: connection.preparedStatements !== false,
      pipeline: true,
    } satisfies PlatformClientConfig & { max: number; Client: typeof PlatformClient },
  });
}

/** How many connections a data source's pool holds at most. */
export function poolSizeOf(dataSource: DataSource): number {
  return (dataSource.options as { extra?: { max?: number } }).extra?.max ?? DEFAULT_POOL_SIZE;
}

/** Creates the database named in the URL when it does not exist yet (the server itself must be up). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`refusing to create a database named "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently by another process
      });
    }
  } finally {
    await client.end();
  }
}

/** Creates the database if needed and applies every pending migration; returns their names. */
export async function migrate(definition: DatabaseDefinition, connection: DatabaseConnection): Promise<string[]> {
  await ensureDatabase(connection.url);
  const dataSource = createDataSource(definition, { ...connection, poolSize: 2 });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}

/** SQL that would bring the schema in line with the entities: empty when migrations and entities agree. */
export async function schemaDrift(dataSource: DataSource): Promise<string[]> {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}
