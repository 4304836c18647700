export * from './lock';
export * from './redis.module';
