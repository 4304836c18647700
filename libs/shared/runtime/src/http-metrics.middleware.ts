import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from '@upm/shared-observability';

/** RED metrics for every HTTP route: request count by status and duration. */
export function httpMetricsMiddleware(metrics: Metrics) {
  const requests = metrics.counter('http_requests_total', 'HTTP requests by route and status', ['method', 'route', 'status']);
  const duration = metrics.histogram('http_request_duration_seconds', 'HTTP request duration', ['method', 'route']);
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
