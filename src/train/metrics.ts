// Run records: metrics as JSONL (one object per line, appended), a PNG of the loss and AP curves (an SVG
// drawn here and rasterised with sharp: two line plots need no plotting library), and the time summary.
import { appendFile, rename, writeFile } from 'node:fs/promises';
import sharp from 'sharp';

export async function appendJsonl(file: string, record: object): Promise<void> {
  await appendFile(file, JSON.stringify(record) + '\n');
}

export interface CurvePoint {
  iteration: number;
  value: number;
}

/** One panel's polyline in a w x h box at (x0, y0), with min/max labels. */
function panel(
  title: string,
  pts: CurvePoint[],
  x0: number,
  y0: number,
  w: number,
  h: number,
  maxIt: number,
): string {
  const parts = [
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="white" stroke="#888"/>`,
    `<text x="${x0 + 6}" y="${y0 - 8}" font-size="14" font-family="sans-serif">${title}</text>`,
  ];
  const finite = pts.filter((p) => Number.isFinite(p.value));
  if (finite.length > 0) {
    let lo = Math.min(...finite.map((p) => p.value));
    let hi = Math.max(...finite.map((p) => p.value));
    if (hi - lo < 1e-12) {
      hi += 0.5;
      lo -= 0.5;
    }
    const X = (it: number): number => x0 + (w * it) / Math.max(1, maxIt);
    const Y = (v: number): number => y0 + h - (h * (v - lo)) / (hi - lo);
    const d = finite.map((p) => `${X(p.iteration).toFixed(1)},${Y(p.value).toFixed(1)}`).join(' ');
    parts.push(
      finite.length === 1
        ? `<circle cx="${X(finite[0].iteration)}" cy="${Y(finite[0].value)}" r="3" fill="#c33"/>`
        : `<polyline points="${d}" fill="none" stroke="#c33" stroke-width="1.5"/>`,
      `<text x="${x0 - 4}" y="${y0 + 10}" font-size="11" text-anchor="end" font-family="sans-serif">${hi.toPrecision(3)}</text>`,
      `<text x="${x0 - 4}" y="${y0 + h}" font-size="11" text-anchor="end" font-family="sans-serif">${lo.toPrecision(3)}</text>`,
    );
  }
  parts.push(
    `<text x="${x0 + w}" y="${y0 + h + 16}" font-size="11" text-anchor="end" font-family="sans-serif">iteration ${maxIt}</text>`,
  );
  return parts.join('\n');
}

/** The SVG of the training-loss curve (top) and the val mask AP curve (bottom). */
export function curvesSvg(loss: CurvePoint[], ap: CurvePoint[], maxIt: number): string {
  const W = 640;
  const H = 520;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">`,
    `<rect width="${W}" height="${H}" fill="#f6f6f6"/>`,
    panel('training loss (Eq. 20)', loss, 70, 30, 540, 200, maxIt),
    panel('val mask AP', ap, 70, 290, 540, 200, maxIt),
    '</svg>',
  ].join('\n');
}

/** Writes the curves PNG atomically (temp file, then rename). */
export async function writeCurvesPng(
  file: string,
  loss: CurvePoint[],
  ap: CurvePoint[],
  maxIt: number,
): Promise<void> {
  const png = await sharp(Buffer.from(curvesSvg(loss, ap, maxIt)))
    .png()
    .toBuffer();
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, png);
  await rename(tmp, file);
}

/** The phases of one iteration, in milliseconds. */
export const TIME_KEYS = ['data', 'sam', 'forward', 'matchLoss', 'backward', 'optimizer'] as const;
export type StepTimes = Record<(typeof TIME_KEYS)[number], number>;

/** Mean milliseconds per phase and each phase's share of the iteration. */
export function summarizeTimes(rows: StepTimes[]): { meanMs: StepTimes; share: StepTimes; totalMs: number } {
  const meanMs = Object.fromEntries(TIME_KEYS.map((k) => [k, 0])) as StepTimes;
  for (const r of rows) for (const k of TIME_KEYS) meanMs[k] += r[k] / Math.max(1, rows.length);
  const totalMs = TIME_KEYS.reduce((s, k) => s + meanMs[k], 0);
  const share = Object.fromEntries(
    TIME_KEYS.map((k) => [k, totalMs > 0 ? meanMs[k] / totalMs : 0]),
  ) as StepTimes;
  return { meanMs, share, totalMs };
}
