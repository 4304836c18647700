export * from './api-error';
export * from './tokens';
export * from './readiness';
export * from './runtime.module';
export * from './run-service';
export * from './http-error.filter';
export * from './admin-token.guard';
export * from './database-unavailable';
