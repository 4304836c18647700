import { KAFKA_ENTITIES, KAFKA_MIGRATIONS } from '@upm/shared-kafka';
import type { DatabaseDefinition } from '@upm/shared-database';
import {
  BatchItemParts1764748800000, BatchItemsByTransaction1765008000000, BatchListingWriteOrder1765180800000, DiscrepancyAdjustments1764576000000, DiscrepancyResolutionHistory1764921600000, ListingWriteOrder1765094400000,
  PendingCancels1764835200000, RepeatedPayouts1765267200000, ReportFilePaths1764662400000, ReportFilesByDay1765440000000, ReportFilesBySha2561765353600000,
  SettlementLedger1764288000000,
} from './migrations';
import { SETTLEMENT_ENTITIES } from './settlement.entities';

/** The settlement service's own database: no other service reads it. */
export const SETTLEMENT_DATABASE: DatabaseDefinition = {
  name: 'upm_settlement',
  entities: [...KAFKA_ENTITIES, ...SETTLEMENT_ENTITIES],
  migrations: [...KAFKA_MIGRATIONS, SettlementLedger1764288000000, DiscrepancyAdjustments1764576000000, ReportFilePaths1764662400000, BatchItemParts1764748800000,
    PendingCancels1764835200000, DiscrepancyResolutionHistory1764921600000, BatchItemsByTransaction1765008000000, ListingWriteOrder1765094400000,
    BatchListingWriteOrder1765180800000, RepeatedPayouts1765267200000, ReportFilesBySha2561765353600000, ReportFilesByDay1765440000000],
};
