import { startTracing } from '@upm/shared-observability';

startTracing('terminal-gateway');
