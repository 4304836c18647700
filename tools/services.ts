import { CONNECTOR_DATABASE } from '@upm/connector';
import { GATEWAY_DATABASE } from '@upm/gateway';
import { NOTIFICATION_DATABASE } from '@upm/notification';
import { ORCHESTRATOR_DATABASE } from '@upm/orchestrator';
import { SETTLEMENT_DATABASE } from '@upm/settlement';
import type { DatabaseDefinition } from '@upm/shared-database';

/** The services that own a database, with the variable that overrides its URL. */
export const SERVICE_DATABASES: Array<{ service: string; urlVariable: string; definition: DatabaseDefinition }> = [
  { service: 'terminal-gateway', urlVariable: 'GATEWAY_DATABASE_URL', definition: GATEWAY_DATABASE },
  { service: 'payment-orchestrator', urlVariable: 'ORCHESTRATOR_DATABASE_URL', definition: ORCHESTRATOR_DATABASE },
  { service: 'alipay-connector', urlVariable: 'CONNECTOR_DATABASE_URL', definition: CONNECTOR_DATABASE },
  { service: 'settlement', urlVariable: 'SETTLEMENT_DATABASE_URL', definition: SETTLEMENT_DATABASE },
  { service: 'notification', urlVariable: 'NOTIFICATION_DATABASE_URL', definition: NOTIFICATION_DATABASE },
];

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

export function databaseUrl(entry: (typeof SERVICE_DATABASES)[number]): string {
  return process.env[entry.urlVariable] ?? `${POSTGRES_URL}/${entry.definition.name}`;
}
