export * from './database';
export * from './notification.module';
export * from './notification.options';
export * from './webhooks/signing';
export * from './webhooks/retry-policy';
export * from './webhooks/webhook-deliveries.consumer';
