/** `npm run db:migrate`: creates each service's database if missing and applies its pending migrations. */
import { migrate } from '@upm/shared-database';
import { databaseUrl, SERVICE_DATABASES } from './services';

async function main(): Promise<void> {
  for (const entry of SERVICE_DATABASES) {
    const applied = await migrate(entry.definition, { url: databaseUrl(entry), applicationName: 'db-migrate' });
    console.log(`${entry.definition.name}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
