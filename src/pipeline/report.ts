// The demo's HTML report: one self-contained page (inline CSS, no scripts) that says what was run, shows
// the 12 COCO mask stats, the training curves, predicted masks beside the ground truth, the per-iteration
// time breakdown and the seconds per stage, and gives the command that reproduces it. Images are linked
// by paths relative to the report, so the folder can be moved; every linked file is checked to exist.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../data/image/io.ts';
import { STAT_KEYS } from '../eval/types.ts';
import { TIME_KEYS } from '../train/metrics.ts';
import type { ExperimentResult } from './experiment.ts';

export interface ReportData {
  title: string;
  /** The exact command that reproduces the run. */
  command: string;
  dataset: {
    train: { images: number; size: number; seed: number };
    val: { images: number; seed: number; evaluated: number };
  };
  weak: {
    budget: number;
    costs: { tag: number; point: number; box: number };
    mix: Partial<Record<'tag' | 'point' | 'box', number>>;
    images: Record<'tag' | 'point' | 'box', number>;
    labels: Record<'tag' | 'point' | 'box', number>;
    cost: number;
  };
  teacher: {
    checkpoint: string;
    config: string | null;
    description: string;
    /** Mean IoU of SAM's top-ranked mask with the true mask, per label kind, over every prepared label. */
    iou?: Record<'point' | 'box', { labels: number; meanIou: number }>;
    /** A few training scenes: SAM's masks with the prompts, and the true masks (paths relative to the report). */
    views?: { name: string; kind: string; teacher: string; truth: string; labels: number }[];
  };
  config: { file: string; model: string; settings: Record<string, unknown> };
  result: ExperimentResult;
  /** Seconds per stage over every call (synth, weaken, prepare, train, eval, predict, report ...). */
  stageSeconds: Record<string, number>;
  /** Paths relative to the report's folder. */
  curves: string | null;
  overlays: { name: string; predicted: string; truth: string; instances: number; truthInstances: number }[];
  scoreThreshold: number;
  /** Lines describing the output folder's layout. */
  layout: string[];
}

/** Long names of the 12 stats, as pycocotools prints them. */
const STAT_NAMES: Record<(typeof STAT_KEYS)[number], string> = {
  AP: 'AP @[IoU=0.50:0.95, area=all, maxDets=100]',
  AP50: 'AP @[IoU=0.50, area=all, maxDets=100]',
  AP75: 'AP @[IoU=0.75, area=all, maxDets=100]',
  APs: 'AP @[IoU=0.50:0.95, area=small, maxDets=100]',
  APm: 'AP @[IoU=0.50:0.95, area=medium, maxDets=100]',
  APl: 'AP @[IoU=0.50:0.95, area=large, maxDets=100]',
  AR1: 'AR @[IoU=0.50:0.95, area=all, maxDets=1]',
  AR10: 'AR @[IoU=0.50:0.95, area=all, maxDets=10]',
  AR100: 'AR @[IoU=0.50:0.95, area=all, maxDets=100]',
  ARs: 'AR @[IoU=0.50:0.95, area=small, maxDets=100]',
  ARm: 'AR @[IoU=0.50:0.95, area=medium, maxDets=100]',
  ARl: 'AR @[IoU=0.50:0.95, area=large, maxDets=100]',
};

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A stat as percent with two decimals; -1 (no ground truth in that area range) as a dash. */
export function formatStat(v: number): string {
  return v < 0 ? '&ndash;' : (100 * v).toFixed(2);
}

const row = (cells: string[], head = false): string =>
  `<tr>${cells.map((c) => (head ? `<th>${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`;

/** Relative paths with forward slashes, each segment URL-escaped. */
const href = (rel: string): string => rel.split(/[\\/]/).map(encodeURIComponent).join('/');

export function renderReport(d: ReportData): string {
  const e = escapeHtml;
  const r = d.result;
  const kinds = ['tag', 'point', 'box'] as const;
  const mix = kinds
    .filter((k) => d.weak.mix[k] !== undefined)
    .map((k) => `${k} ${d.weak.mix[k]}`)
    .join(', ');
  const totalSeconds = Object.values(d.stageSeconds).reduce((s, v) => s + v, 0);
  const parts: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${e(d.title)}</title>`,
    '<style>',
    'body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}',
    'table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}',
    'td.n{text-align:right;font-variant-numeric:tabular-nums}pre{background:#f4f4f4;padding:.6em;overflow-x:auto}',
    '.pair{display:inline-block;margin:0 1em 1em 0;vertical-align:top}.pair img{width:192px;image-rendering:pixelated}',
    '</style></head><body>',
    `<h1>${e(d.title)}</h1>`,
    `<p>Mask AP <b>${formatStat(r.stats.AP)}</b> (AP50 ${formatStat(r.stats.AP50)}, AP75 ${formatStat(r.stats.AP75)}) ` +
      `on ${d.dataset.val.evaluated} synthetic val images after ${r.iterations} training iterations; ` +
      `${totalSeconds.toFixed(0)} s of work in all.</p>`,

    '<h2>What was run</h2>',
    '<table>',
    row([
      'training scenes',
      `${d.dataset.train.images} synthetic images, ${d.dataset.train.size} px, seed ${d.dataset.train.seed}`,
    ]),
    row([
      'val scenes',
      `${d.dataset.val.images} images, seed ${d.dataset.val.seed} (${d.dataset.val.evaluated} evaluated)`,
    ]),
    row([
      'annotation budget',
      `${d.weak.budget} units at costs tag:point:box = ${d.weak.costs.tag}:${d.weak.costs.point}:${d.weak.costs.box}, ` +
        `mix ${e(mix)}; spent ${d.weak.cost}`,
    ]),
    row([
      'teacher',
      `${e(d.teacher.description)}<br><code>${e(d.teacher.checkpoint)}</code>` +
        (d.teacher.config ? ` + <code>${e(d.teacher.config)}</code>` : ''),
    ]),
    row(['run config', `<code>${e(d.config.file)}</code>, model <code>${e(d.config.model)}</code>`]),
    row(['settings', `<code>${e(JSON.stringify(d.config.settings))}</code>`]),
    '</table>',
    '<table>',
    row(['label kind', 'images', 'labels', 'cost'], true),
    ...kinds.map((k) =>
      row([
        k,
        `${d.weak.images[k]}`,
        `${d.weak.labels[k]}${k === 'tag' ? ' tags' : ''}`,
        `${d.weak.images[k] * d.weak.costs[k]}`,
      ]),
    ),
    row([
      'all',
      `${kinds.reduce((s, k) => s + d.weak.images[k], 0)}`,
      '',
      `${d.weak.cost} of ${d.weak.budget}`,
    ]),
    '</table>',
    `<p>The teacher turned ${r.prepare.labels} point and box labels on ${r.prepare.images} images into three ` +
      `candidate masks each; tag images get their points from the student's CAMs during training.</p>`,

    ...teacherSection(d),

    '<h2>Mask AP on the val scenes (COCO segm, in %)</h2>',
    '<table>',
    row(['stat', 'value', 'meaning'], true),
    ...STAT_KEYS.map(
      (k) => `<tr><td>${k}</td><td class="n">${formatStat(r.stats[k])}</td><td>${STAT_NAMES[k]}</td></tr>`,
    ),
    '</table>',

    '<h2>Training curves</h2>',
    d.curves
      ? `<img src="${href(d.curves)}" alt="training loss and val mask AP against iteration">`
      : '<p>(no curves)</p>',

    '<h2>Predictions next to the ground truth</h2>',
    `<p>Left: the trained student's instances with score at least ${d.scoreThreshold}; right: the true masks.</p>`,
    ...d.overlays.map(
      (o) =>
        `<div class="pair"><div>${e(o.name)}</div>` +
        `<img src="${href(o.predicted)}" alt="predicted ${e(o.name)}"> ` +
        `<img src="${href(o.truth)}" alt="ground truth ${e(o.name)}">` +
        `<div>${o.instances} predicted / ${o.truthInstances} true</div></div>`,
    ),

    '<h2>Time</h2>',
    '<table>',
    row(['phase of one training iteration', 'ms', 'share'], true),
    ...TIME_KEYS.map((k) =>
      row([k, (r.times.meanMs[k] ?? 0).toFixed(1), `${(100 * (r.times.share[k] ?? 0)).toFixed(1)}%`]),
    ),
    row(['iteration', r.times.totalMs.toFixed(1), '100%']),
    '</table>',
    '<table>',
    row(['stage', 'seconds'], true),
    ...Object.entries(d.stageSeconds).map(([k, v]) => row([e(k), v.toFixed(1)])),
    row(['all', totalSeconds.toFixed(1)]),
    '</table>',
    '<p>Seconds count every call: a run continued after an interruption adds the time of both. ' +
      '<i>train</i> includes the periodic and final val evaluations the trainer runs; <i>eval</i> is a ' +
      'separate final evaluation, run only when the trainer did not log one.</p>',

    '<h2>Reproduce</h2>',
    `<pre>${e(d.command)}</pre>`,
    '<h2>Output folder</h2>',
    `<pre>${d.layout.map(e).join('\n')}</pre>`,
    '</body></html>',
  ];
  return parts.join('\n') + '\n';
}

function teacherSection(d: ReportData): string[] {
  const t = d.teacher;
  if (!t.iou && !t.views?.length) return [];
  const e = escapeHtml;
  return [
    '<h2>What the teacher gave</h2>',
    ...(t.iou
      ? [
          '<table>',
          row(['label kind', 'labels', "mean IoU of SAM's top-ranked mask with the true mask"], true),
          ...(['point', 'box'] as const).map((k) =>
            row([
              k,
              `${t.iou![k].labels}`,
              Number.isFinite(t.iou![k].meanIou) ? t.iou![k].meanIou.toFixed(3) : '&ndash;',
            ]),
          ),
          '</table>',
        ]
      : []),
    '<p>Training scenes: left, the mask SAM ranks first for each label (the student learns from all three, ' +
      'matched by the lowest cost), with the prompts; right, the true masks with the same prompts.</p>',
    ...(t.views ?? []).map(
      (v) =>
        `<div class="pair"><div>${e(v.name)} (${e(v.kind)})</div>` +
        `<img src="${href(v.teacher)}" alt="teacher masks ${e(v.name)}"> ` +
        `<img src="${href(v.truth)}" alt="true masks ${e(v.name)}">` +
        `<div>${v.labels} labels</div></div>`,
    ),
  ];
}

/** Writes the report atomically after checking that every image it links exists beside it. */
export async function writeReport(file: string, d: ReportData): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const linked = [
    ...(d.curves ? [d.curves] : []),
    ...(d.teacher.views ?? []).flatMap((v) => [v.teacher, v.truth]),
    ...d.overlays.flatMap((o) => [o.predicted, o.truth]),
  ];
  for (const rel of linked) {
    if (path.isAbsolute(rel)) throw new Error(`report ${file}: ${rel} must be relative to the report`);
    const s = await stat(path.join(dir, rel)).catch(() => null);
    if (!s?.isFile()) throw new Error(`report ${file}: links ${rel}, which does not exist in ${dir}`);
  }
  await writeFileAtomic(file, renderReport(d));
}
