// The sweep's plot: mask AP against the share of the budget spent on each pair's second kind, one line
// per pair. Drawn as SVG and rasterised with sharp, as src/train/metrics.ts does (a few polylines need
// no plotting library).
import { rename, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { SweepTable } from './sweep-table.ts';

const COLORS: Record<string, string> = {
  'tag-point': '#1f77b4',
  'tag-box': '#d62728',
  'point-box': '#2ca02c',
};
const FALLBACK = ['#9467bd', '#8c564b', '#e377c2'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function defaultTitle(t: SweepTable): string {
  const c = t.costs;
  return `mask AP at a fixed budget of ${t.budget.toLocaleString('en-US')} (tag:point:box = ${c.tag}:${c.point}:${c.box})`;
}

/** A "nice" upper bound for the AP axis (in percent): 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p + 1e-12) return m * p;
  return 10 * p;
}

export function sweepPlotSvg(t: SweepTable, title = defaultTitle(t)): string {
  const W = 760;
  const H = 480;
  const [x0, y0, w, h] = [80, 50, 480, 340];
  const done = t.pairs.flatMap((p) => p.rows.filter((r) => r.AP !== null));
  const xMax = Math.max(1, ...t.pairs.flatMap((p) => p.rows.map((r) => r.share)));
  const yMax = niceMax(Math.max(0, ...done.map((r) => 100 * r.AP!)) * 1.05);
  const X = (s: number): number => x0 + (w * s) / xMax;
  const Y = (ap: number): number => y0 + h - (h * ap) / yMax;
  const f = (v: number): string => v.toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${x0}" y="28" font-size="16" font-family="sans-serif">${esc(title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#444"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const s = (i / 4) * Math.min(1, xMax);
    const ap = (i / 4) * yMax;
    parts.push(
      `<line x1="${f(X(s))}" y1="${y0}" x2="${f(X(s))}" y2="${y0 + h}" stroke="#ddd"/>`,
      `<text x="${f(X(s))}" y="${y0 + h + 18}" font-size="12" text-anchor="middle" font-family="sans-serif">${s.toFixed(2)}</text>`,
      `<line x1="${x0}" y1="${f(Y(ap))}" x2="${x0 + w}" y2="${f(Y(ap))}" stroke="#ddd"/>`,
      `<text x="${x0 - 6}" y="${f(Y(ap) + 4)}" font-size="12" text-anchor="end" font-family="sans-serif">${Number(ap.toPrecision(3))}</text>`,
    );
  }
  parts.push(
    `<text x="${x0 + w / 2}" y="${y0 + h + 42}" font-size="13" text-anchor="middle" font-family="sans-serif">` +
      `share of the budget spent on the pair's second kind (tag-box: boxes)</text>`,
    `<text x="20" y="${y0 + h / 2}" font-size="13" text-anchor="middle" font-family="sans-serif" ` +
      `transform="rotate(-90 20 ${y0 + h / 2})">mask AP (%)</text>`,
  );
  t.pairs.forEach((p, i) => {
    const color = COLORS[p.pair] ?? FALLBACK[i % FALLBACK.length];
    const pts = p.rows.filter((r) => r.AP !== null).map((r) => [X(r.share), Y(100 * r.AP!)]);
    if (pts.length > 1)
      parts.push(
        `<polyline points="${pts.map(([x, y]) => `${f(x)},${f(y)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`,
      );
    for (const [x, y] of pts) parts.push(`<circle cx="${f(x)}" cy="${f(y)}" r="4" fill="${color}"/>`);
    const ly = y0 + 16 + 22 * i;
    parts.push(
      `<line x1="${x0 + w + 20}" y1="${ly - 4}" x2="${x0 + w + 46}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${x0 + w + 52}" y="${ly}" font-size="13" font-family="sans-serif">${esc(p.pair)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes the plot PNG atomically (temp file, then rename). */
export async function writeSweepPlot(file: string, t: SweepTable, title?: string): Promise<void> {
  const png = await sharp(Buffer.from(sweepPlotSvg(t, title)))
    .png()
    .toBuffer();
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, png);
  await rename(tmp, file);
}
