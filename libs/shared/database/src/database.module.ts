import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Readiness } from '@upm/shared-runtime';
import { createDataSource, DatabaseConnection, DatabaseDefinition } from './data-source';

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * The service's PostgreSQL data source. Readiness fails while the database is unreachable or has
 * migrations that have not been applied (`npm run db:migrate`, or the migrations job in Kubernetes).
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(definition: DatabaseDefinition, connection: DatabaseConnection): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DataSource,
          inject: [Readiness],
          useFactory: async (readiness: Readiness) => {
            const dataSource = createDataSource(definition, connection);
            await dataSource.initialize();
            readiness.register('postgres', async () => {
              await dataSource.query('SELECT 1');
              if (await dataSource.showMigrations()) throw new Error('pending migrations');
            });
            return dataSource;
          },
        },
        DatabaseLifecycle,
      ],
      exports: [DataSource],
    };
  }
}
