import { startTracing } from '@upm/shared-observability';

startTracing('settlement');
