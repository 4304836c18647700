import { startTracing } from '@upm/shared-observability';

startTracing('alipay-sandbox');
