export * from './lock';
export * from './redis.module';
export * from './within';
