// One synthetic scene: a textured background with clutter, then shape instances painted back to
// front. Later instances occlude earlier ones; each instance's mask is what stays visible. A
// placement that would leave an earlier instance (or itself) below the visibility minimum is
// retried elsewhere, so every painted instance is annotated and no annotation is a sliver.
import { mix32, Rng } from './rng.ts';
import {
  DEFAULT_CLASSES,
  rasterizeShape,
  SHAPE_CLASSES,
  type ShapeClass,
  type ShapePlacement,
} from './shapes.ts';
import {
  paintTexture,
  randomColour,
  randomTexture,
  TEXTURE_KINDS,
  type Texture,
  type TextureKind,
} from './textures.ts';

export interface SynthOptions {
  size: number; // square images, pixels
  classes: readonly ShapeClass[]; // classId i is classes[i]
  minInstances: number;
  maxInstances: number;
  maxClassesPerImage: number; // few classes per image, so a class repeats within an image
  minRadius: number; // instance circumradius range, as a fraction of size
  maxRadius: number;
  touchProb: number; // chance an instance is placed against an earlier one (touching / overlapping)
  minVisibleArea: number; // pixels
  minVisibleFraction: number; // of the instance's unoccluded (in-image) area
  blobs: [number, number]; // clutter counts (min, max)
  lines: [number, number];
  /** Fills drawn for instances and background (default all; 'solid' alone gives flat-colour scenes). */
  textures: readonly TextureKind[];
}

export const SYNTH_DEFAULTS: SynthOptions = {
  size: 128,
  classes: DEFAULT_CLASSES,
  minInstances: 3,
  maxInstances: 8,
  maxClassesPerImage: 3,
  minRadius: 0.07,
  maxRadius: 0.22,
  touchProb: 0.5,
  minVisibleArea: 16,
  minVisibleFraction: 0.35,
  blobs: [2, 6],
  lines: [1, 4],
  textures: TEXTURE_KINDS,
};

export interface SynthInstance {
  classId: number; // index into options.classes (COCO category_id = classId + 1)
  mask: Uint8Array; // H x W, 1 = visible pixel of this instance
  area: number; // mask pixel count
  shape: ShapePlacement; // how it was drawn (before occlusion by later instances)
  texture: Texture;
}

export interface SynthScene {
  image: Uint8Array; // H x W x 3 RGB
  width: number;
  height: number;
  instances: SynthInstance[]; // in paint order, back to front
}

export function resolveOptions(partial: Partial<SynthOptions> = {}): SynthOptions {
  const o = { ...SYNTH_DEFAULTS, ...partial };
  const bad = (what: string): never => {
    throw new Error(`synthetic dataset options: ${what}`);
  };
  if (!Number.isInteger(o.size) || o.size < 16 || o.size > 4096)
    bad(`size must be an integer in [16, 4096], got ${o.size}`);
  if (o.classes.length < 1) bad('need at least one class');
  for (const c of o.classes) if (!SHAPE_CLASSES.includes(c)) bad(`unknown class "${c}"`);
  if (new Set(o.classes).size !== o.classes.length) bad('classes must be distinct');
  if (!(Number.isInteger(o.minInstances) && o.minInstances >= 1 && o.maxInstances >= o.minInstances)) {
    bad(`need 1 <= minInstances <= maxInstances, got ${o.minInstances}..${o.maxInstances}`);
  }
  if (!(o.minRadius > 0 && o.maxRadius >= o.minRadius && o.maxRadius <= 0.5)) {
    bad(`need 0 < minRadius <= maxRadius <= 0.5, got ${o.minRadius}..${o.maxRadius}`);
  }
  if (!(o.minVisibleFraction >= 0 && o.minVisibleFraction <= 1)) bad('minVisibleFraction must be in [0, 1]');
  if (!(o.maxClassesPerImage >= 1)) bad('maxClassesPerImage must be >= 1');
  if (o.textures.length < 1) bad('need at least one texture kind');
  for (const t of o.textures) if (!TEXTURE_KINDS.includes(t)) bad(`unknown texture "${t}"`);
  return o;
}

interface Placed {
  shape: ShapePlacement;
  texture: Texture;
  full: number; // in-image pixels when painted
}

/**
 * Scene `index` of the dataset with seed `seed`: a pure function of (seed, index, options), so
 * any image can be regenerated on demand without the ones before it.
 */
export function generateScene(seed: number, index: number, options: Partial<SynthOptions> = {}): SynthScene {
  const o = resolveOptions(options);
  const S = o.size;
  const rng = new Rng(mix32(seed, index));
  const image = new Uint8Array(S * S * 3);
  const scratch = new Int32Array(S * S);

  // Background: a low-contrast texture over the whole frame.
  for (let i = 0; i < S * S; i++) scratch[i] = i;
  paintTexture(randomTexture(rng, S, rng.range(0.08, 0.3), o.textures), image, S, scratch, S * S);
  paintClutter(rng, o, image, scratch);

  // Instances, back to front. owner[p] = index of the instance visible at p, -1 = background.
  const owner = new Int16Array(S * S).fill(-1);
  const visible: number[] = [];
  const placed: Placed[] = [];
  const lost = new Int32Array(o.maxInstances);
  const imageClasses = new Rng(rng.uint32())
    .shuffle(o.classes.map((_, i) => i))
    .slice(0, rng.int(1, Math.min(o.maxClassesPerImage, o.classes.length)));
  const classIds: number[] = [];
  const n = rng.int(o.minInstances, o.maxInstances);
  for (let k = 0; k < n; k++) {
    const classId = rng.pick(imageClasses);
    const texture = randomTexture(rng, S, rng.range(0.3, 0.8), o.textures);
    for (let attempt = 0; attempt < 30; attempt++) {
      const shape = randomPlacement(rng, o, o.classes[classId], placed);
      const count = rasterizeShape(shape, S, S, scratch);
      if (count < Math.max(o.minVisibleArea, 1)) continue;
      lost.fill(0);
      for (let i = 0; i < count; i++) {
        const w = owner[scratch[i]];
        if (w >= 0) lost[w]++;
      }
      let ok = true;
      for (let j = 0; j < placed.length && ok; j++) {
        const need = Math.max(o.minVisibleArea, o.minVisibleFraction * placed[j].full);
        if (lost[j] > 0 && visible[j] - lost[j] < need) ok = false;
      }
      if (!ok) continue;
      for (let j = 0; j < placed.length; j++) visible[j] -= lost[j];
      const id = placed.length;
      for (let i = 0; i < count; i++) owner[scratch[i]] = id;
      paintTexture(texture, image, S, scratch, count);
      placed.push({ shape, texture, full: count });
      visible.push(count);
      classIds.push(classId);
      break;
    }
  }

  const instances: SynthInstance[] = placed.map((p, j) => ({
    classId: classIds[j],
    mask: new Uint8Array(S * S),
    area: visible[j],
    shape: p.shape,
    texture: p.texture,
  }));
  for (let p = 0; p < S * S; p++) {
    const w = owner[p];
    if (w >= 0) instances[w].mask[p] = 1;
  }
  return { image, width: S, height: S, instances };
}

function randomPlacement(rng: Rng, o: SynthOptions, cls: ShapeClass, placed: Placed[]): ShapePlacement {
  const S = o.size;
  const radius = rng.range(o.minRadius, o.maxRadius) * S;
  const aspect = rng.range(0.55, 1);
  const angle = rng.range(0, 2 * Math.PI);
  let cx: number;
  let cy: number;
  if (placed.length > 0 && rng.chance(o.touchProb)) {
    // Against an earlier instance: centre distance around the sum of the two sizes, from deep
    // overlap to just touching.
    const anchor = rng.pick(placed).shape;
    const dir = rng.range(0, 2 * Math.PI);
    const dist =
      (anchor.radius * (0.5 + 0.5 * anchor.aspect) + radius * (0.5 + 0.5 * aspect)) * rng.range(0.5, 1.05);
    cx = anchor.cx + Math.cos(dir) * dist;
    cy = anchor.cy + Math.sin(dir) * dist;
  } else {
    cx = rng.range(radius * 0.3, S - radius * 0.3);
    cy = rng.range(radius * 0.3, S - radius * 0.3);
  }
  return { cls, cx, cy, radius, aspect, angle };
}

/** Distractors on the background: small blobs and thin lines, never annotated, drawn under instances. */
function paintClutter(rng: Rng, o: SynthOptions, image: Uint8Array, scratch: Int32Array): void {
  const S = o.size;
  const blobs = rng.int(o.blobs[0], o.blobs[1]);
  for (let b = 0; b < blobs; b++) {
    const shape: ShapePlacement = {
      cls: 'disc',
      cx: rng.range(0, S),
      cy: rng.range(0, S),
      radius: rng.range(1, Math.max(1.5, o.minRadius * S * 0.6)),
      aspect: rng.range(0.3, 1),
      angle: rng.range(0, 2 * Math.PI),
    };
    const count = rasterizeShape(shape, S, S, scratch);
    paintTexture(randomTexture(rng, S, 0.4, o.textures), image, S, scratch, count);
  }
  const lines = rng.int(o.lines[0], o.lines[1]);
  for (let l = 0; l < lines; l++) {
    const x0 = rng.range(0, S);
    const y0 = rng.range(0, S);
    const dir = rng.range(0, 2 * Math.PI);
    const len = rng.range(0.2, 0.6) * S;
    const half = rng.range(0.5, 1.2); // half thickness, pixels
    const count = rasterizeSegment(
      x0,
      y0,
      x0 + Math.cos(dir) * len,
      y0 + Math.sin(dir) * len,
      half,
      S,
      scratch,
    );
    const c = randomColour(rng);
    for (let i = 0; i < count; i++) image.set(c, scratch[i] * 3);
  }
}

/** Pixels whose centre is within `half` of the segment (x0,y0)-(x1,y1). */
function rasterizeSegment(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  half: number,
  S: number,
  out: Int32Array,
): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const xa = Math.max(0, Math.floor(Math.min(x0, x1) - half));
  const xb = Math.min(S - 1, Math.ceil(Math.max(x0, x1) + half));
  const ya = Math.max(0, Math.floor(Math.min(y0, y1) - half));
  const yb = Math.min(S - 1, Math.ceil(Math.max(y0, y1) + half));
  let n = 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      const t = Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
      const ex = px - t * dx;
      const ey = py - t * dy;
      if (ex * ex + ey * ey <= half * half) out[n++] = y * S + x;
    }
  }
  return n;
}
