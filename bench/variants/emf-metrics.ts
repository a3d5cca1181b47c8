/**
 * Attribution variant: a stand-in for `@aws-lambda-powertools/metrics` covering what
 * lambda/handler.ts uses (`new Metrics({ namespace, serviceName })`, `addDimensions`,
 * `addMetric`, `publishStoredMetrics`, `MetricUnit.Count`) and writing the same Embedded Metric
 * Format blob Powertools writes (service as the default dimension on every set), so the
 * difference measured is the dependency's weight, not a change in what reaches CloudWatch.
 * A candidate for lambda/emf.ts.
 */
export const MetricUnit = { Count: 'Count' } as const;
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

export class Metrics {
  private readonly namespace: string;
  private readonly defaults: Record<string, string>;
  private sets: Record<string, string>[] = [];
  private values: Record<string, number> = {};
  private units: Record<string, Unit> = {};

  constructor(options: { namespace?: string; serviceName?: string } = {}) {
    this.namespace = options.namespace || process.env.POWERTOOLS_METRICS_NAMESPACE || 'default_namespace';
    const service = options.serviceName || process.env.POWERTOOLS_SERVICE_NAME;
    this.defaults = service ? { service } : {};
  }

  addDimensions(dimensions: Record<string, string>): this {
    const clean = Object.fromEntries(Object.entries(dimensions).filter(([k, v]) => k && typeof v === 'string' && v !== ''));
    this.sets.push(clean);
    return this;
  }

  addMetric(name: string, unit: Unit, value: number): this {
    this.values[name] = value;
    this.units[name] = unit;
    return this;
  }

  publishStoredMetrics(): this {
    const names = Object.keys(this.values);
    if (names.length > 0) {
      const dimensionNames = this.sets.length > 0 ? this.sets.map((set) => [...new Set([...Object.keys(this.defaults), ...Object.keys(set)])]) : [Object.keys(this.defaults)];
      const blob = {
        _aws: {
          Timestamp: Date.now(),
          CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: dimensionNames, Metrics: names.map((Name) => ({ Name, Unit: this.units[Name] })) }],
        },
        ...this.defaults,
        ...Object.assign({}, ...this.sets),
        ...this.values,
      };
      process.stdout.write(`${JSON.stringify(blob)}\n`);
    }
    this.sets = [];
    this.values = {};
    this.units = {};
    return this;
  }
}
