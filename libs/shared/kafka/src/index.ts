export * from './entities';
export * from './migrations';
export * from './kafka';
export * from './tracing';
export * from './outbox';
export * from './consumer';
export * from './lag';
export * from './kafka.module';
