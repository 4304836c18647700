import { startTracing } from '@upm/shared-observability';

startTracing('notification');
