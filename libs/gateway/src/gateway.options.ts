export const GATEWAY_OPTIONS = Symbol('GATEWAY_OPTIONS');

/** `sseHeartbeatMs` when not set: the event streams' heartbeat, and the period their keys are checked in */
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export interface GatewayOptions {
  adminToken: string;
  /** POS requests per terminal per second */
  rateLimitPerSecond: number;
  /** how long POST /v1/payments waits for a final status when the POS does not say */
  defaultWaitSeconds: number;
  /** refuse new payments (503 OVERLOADED) while one accepted this long ago is still unconfirmed; 0 never refuses */
  shedAfterMs?: number;
  /** and while as many wait for Alipay's first answer as a limit that shrinks when answers take longer than this; 0: no limit */
  answerTargetMs?: number;
  /** how often a terminal's event stream sends a comment line, so proxies and the POS see it is alive; a POS still behind its stream two of these periods after a write had to wait is dropped */
  sseHeartbeatMs?: number;
  /** how many event streams one terminal holds open on all the replicas together; one more closes its oldest, wherever it is (default 3) */
  sseStreamsPerTerminal?: number;
  /** how long the lease of an open stream outlives its replica's last renewal (each third of it): a replica killed with streams open frees them within it (default 30 000) */
  sseStreamLeaseMs?: number;
  /** how long a terminal's event stream can be replayed (Last-Event-ID) before its events are deleted (default 72) */
  terminalEventsRetentionHours?: number;
}
