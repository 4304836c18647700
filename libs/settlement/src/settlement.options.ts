import type { FeeSchedule } from '@upm/contracts';

export const SETTLEMENT_OPTIONS = Symbol('SETTLEMENT_OPTIONS');

export interface SftpOptions {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  password?: string;
  /** the folder holding `<customerId>/<yyyymmdd>/` (Alipay: /v1/settlements) */
  remoteDir: string;
  /** SHA-256 fingerprint of the server's host key (base64, as ssh-keygen -l prints after `SHA256:`); unset trusts any key */
  hostKeySha256?: string;
}

/** Alipay's fee per payment and per refund (a cancel gives it back) is the schedule's: see `FeeSchedule`. */
export interface SettlementOptions extends FeeSchedule {
  adminToken: string;
  producer: string;
  /** where report files are picked up from: a folder holding `<customerId>/<yyyymmdd>/` */
  reportDir?: string;
  sftp?: SftpOptions;
  /** how often to look for new report files; 0 turns polling off (POST /v1/settlement/ingest still works) */
  pollIntervalMs: number;
}
