import { startTracing } from '@upm/shared-observability';

startTracing('payment-orchestrator');
