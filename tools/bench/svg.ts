import type { PaymentRecord } from './load';
import { percentile } from './stats';

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round upper bound for an axis: 1, 2 or 5 × 10^n. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((m) => m * magnitude >= value) ?? 10) * magnitude;
}

function panel(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const all = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xMax = niceMax(Math.max(1, ...all.map(([x]) => x)));
  const yMax = niceMax(Math.max(1, ...all.map(([, y]) => y)));
  const left = x0 + 60;
  const top = y0 + 30;
  const pw = w - 80;
  const ph = h - 75;
  const sx = (x: number) => left + (x / xMax) * pw;
  const sy = (y: number) => top + ph - (Math.min(y, yMax) / yMax) * ph;
  const out: string[] = [`<text x="${x0 + w / 2}" y="${y0 + 18}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`];
  for (let i = 0; i <= 5; i++) {
    const yv = (yMax / 5) * i;
    const xv = (xMax / 5) * i;
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${sy(yv) + 4}" text-anchor="end">${+yv.toPrecision(3)}</text>`);
    out.push(`<text x="${sx(xv)}" y="${top + ph + 16}" text-anchor="middle">${+xv.toPrecision(3)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${x0 + 14},${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length) {
      const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
      if (pts.length < 30) for (const [x, y] of pts) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const lx = left + 10 + i * 170;
    out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${top + ph + 50}" y2="${top + ph + 50}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    out.push(`<text x="${lx + 26}" y="${top + ph + 54}">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** Panels stacked vertically in one SVG document. */
export function chart(title: string, panels: Panel[], width = 820, panelHeight = 300): string {
  const height = 40 + panels.length * panelHeight;
  const body = panels.map((p, i) => panel(p, 0, 40 + i * panelHeight, width, panelHeight)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
${body}
</svg>
`;
}

/** Payments reaching a final state in each second of a phase. */
export function finalsPerSecond(records: PaymentRecord[], seconds: number): Array<[number, number]> {
  const counts = new Array<number>(seconds).fill(0);
  for (const r of records) {
    if (r.finalAt === undefined) continue;
    const s = Math.floor(r.finalAt / 1000);
    if (s < seconds) counts[s]++;
  }
  return counts.map((c, s) => [s + 1, c]);
}

/** A latency percentile of the payments due in each `bucketS` seconds of a phase. */
export function latencyPerBucket(records: PaymentRecord[], seconds: number, p: number, bucketS = 2): Array<[number, number]> {
  const buckets: number[][] = [];
  for (const r of records) {
    if (r.finalAt === undefined) continue;
    const b = Math.floor(r.dueAt / 1000 / bucketS);
    if (b * bucketS < seconds) (buckets[b] ??= []).push(r.finalAt - r.dueAt);
  }
  return buckets.flatMap((values, b) => (values ? [[(b + 1) * bucketS, percentile(values.sort((x, y) => x - y), p)] as [number, number]] : []));
}
