export * from './database';
export * from './orchestrator.module';
export * from './saga-runner';
export * from './timer-poller';
