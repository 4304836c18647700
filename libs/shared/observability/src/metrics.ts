import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process, labelled with the service; every metric of the service lives here. */
export class Metrics {
  readonly registry = new Registry();

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  counter<T extends string>(name: string, help: string, labelNames: readonly T[] = []): Counter<T> {
    return this.existing(name) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** `collect`, when given, runs at each scrape before the values are read (e.g. to refresh them). */
  gauge<T extends string>(name: string, help: string, labelNames: readonly T[] = [], collect?: () => Promise<void> | void): Gauge<T> {
    return this.existing(name) ?? new Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  histogram<T extends string>(name: string, help: string, labelNames: readonly T[] = [], buckets?: number[]): Histogram<T> {
    return (
      this.existing(name) ??
      new Histogram({ name, help, labelNames, registers: [this.registry], buckets: buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] })
    );
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(name) as M | undefined;
  }
}
