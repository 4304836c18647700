export * from './data-source';
export * from './database.module';
export * from './table-pruner';
export * from './prepared';
export * from './client';
