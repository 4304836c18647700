/** One scrape of a service's `/metrics`, as series → value. */
export interface Scrape {
  /** the sum of every series of `name` whose labels include `labels` (0 when none does) */
  sum(name: string, labels?: Record<string, string>): number;
  series(name: string): Array<{ labels: Record<string, string>; value: number }>;
}

export async function scrape(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`${baseUrl}/metrics answered ${response.status}`);
  const samples = parse(await response.text());
  const series = (name: string) => samples.filter((s) => s.name === name);
  return {
    series: (name) => series(name).map(({ labels, value }) => ({ labels, value })),
    sum: (name, labels = {}) => series(name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((total, s) => total + s.value, 0),
  };
}

function parse(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value.replace(/\\(.)/g, '$1');
    out.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return out;
}
