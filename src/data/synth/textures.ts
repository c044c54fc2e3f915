// Fills for instances and backgrounds. Every instance draws its fill (kind, colours, scale,
// angle) independently of its class, so neither colour nor texture tells the class apart.
import { mix32, type Rng } from './rng.ts';

export const TEXTURE_KINDS = ['solid', 'stripes', 'checker', 'noise', 'gradient'] as const;
export type TextureKind = (typeof TEXTURE_KINDS)[number];

export type Rgb = [number, number, number];

export interface Texture {
  kind: TextureKind;
  a: Rgb;
  b: Rgb;
  period: number; // pixels, stripes/checker/noise cell size
  cos: number; // pattern direction
  sin: number;
  x0: number; // pattern origin
  y0: number;
  seed: number; // noise lattice
}

/** A colour from HSV with hue, saturation and value drawn uniformly (value kept off pure black). */
export function randomColour(rng: Rng): Rgb {
  const h = rng.float() * 6;
  const s = rng.range(0.2, 1);
  const v = rng.range(0.25, 1);
  const i = Math.floor(h);
  const f = h - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  const rgb: [number, number, number][] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  const [r, g, b] = rgb[i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/** A second colour for two-colour fills: a contrast partner or an unrelated colour. */
function partner(rng: Rng, a: Rgb, contrast: number): Rgb {
  if (rng.chance(0.5)) return randomColour(rng);
  const sign = a[0] + a[1] + a[2] > 382 ? -1 : 1;
  return a.map((c) => Math.max(0, Math.min(255, Math.round(c + sign * contrast * 255)))) as Rgb;
}

/**
 * A random fill. `contrast` in (0, 1] scales how different the two colours of a pattern are
 * (backgrounds use a lower contrast than instances).
 */
export function randomTexture(
  rng: Rng,
  size: number,
  contrast = 0.5,
  kinds: readonly TextureKind[] = TEXTURE_KINDS,
): Texture {
  const kind = rng.pick(kinds);
  const a = randomColour(rng);
  const b = partner(rng, a, contrast);
  const angle = rng.range(0, Math.PI);
  return {
    kind,
    a,
    b,
    period: rng.range(Math.max(2, size * 0.02), Math.max(4, size * 0.09)),
    cos: Math.cos(angle),
    sin: Math.sin(angle),
    x0: rng.range(0, size),
    y0: rng.range(0, size),
    seed: rng.uint32(),
  };
}

/** Uniform [0, 1) from an integer lattice point (stateless, so pixels can be painted in any order). */
function lattice(seed: number, i: number, j: number): number {
  return mix32(mix32(seed, i), j) / 4294967296;
}

/**
 * Lattice values for cells covering pixel columns x0..x1 and rows y0..y1 at cell size `period`,
 * so value noise costs one bilinear lookup per pixel instead of four hashes.
 */
function latticeGrid(t: Texture, x0: number, x1: number, y0: number, y1: number) {
  const i0 = Math.floor(x0 / t.period);
  const j0 = Math.floor(y0 / t.period);
  const ni = Math.floor((x1 + 1) / t.period) - i0 + 2;
  const nj = Math.floor((y1 + 1) / t.period) - j0 + 2;
  const values = new Float64Array(ni * nj);
  for (let j = 0; j < nj; j++)
    for (let i = 0; i < ni; i++) values[j * ni + i] = lattice(t.seed, i0 + i, j0 + j);
  return { i0, j0, ni, values };
}

/** Paints the texture at the listed pixels (index y*width + x) of an H x W x 3 image. */
export function paintTexture(
  t: Texture,
  image: Uint8Array,
  width: number,
  pixels: Int32Array,
  count: number,
): void {
  if (count === 0) return;
  const [ar, ag, ab] = t.a;
  const [br, bg, bb] = t.b;
  const put = (idx: number, w: number) => {
    const o = idx * 3;
    image[o] = Math.round(ar + (br - ar) * w);
    image[o + 1] = Math.round(ag + (bg - ag) * w);
    image[o + 2] = Math.round(ab + (bb - ab) * w);
  };
  const inv = 1 / t.period;
  switch (t.kind) {
    case 'solid':
      for (let k = 0; k < count; k++) put(pixels[k], 0);
      return;
    case 'stripes':
      for (let k = 0; k < count; k++) {
        const idx = pixels[k];
        const dx = (idx % width) + 0.5 - t.x0;
        const dy = Math.floor(idx / width) + 0.5 - t.y0;
        put(idx, Math.floor((dx * t.cos + dy * t.sin) * inv) & 1);
      }
      return;
    case 'checker':
      for (let k = 0; k < count; k++) {
        const idx = pixels[k];
        const dx = (idx % width) + 0.5 - t.x0;
        const dy = Math.floor(idx / width) + 0.5 - t.y0;
        const u = Math.floor((dx * t.cos + dy * t.sin) * inv);
        const v = Math.floor((-dx * t.sin + dy * t.cos) * inv);
        put(idx, (u + v) & 1);
      }
      return;
    case 'gradient':
      for (let k = 0; k < count; k++) {
        const idx = pixels[k];
        const dx = (idx % width) + 0.5 - t.x0;
        const dy = Math.floor(idx / width) + 0.5 - t.y0;
        const s = (dx * t.cos + dy * t.sin) / (t.period * 8);
        put(idx, Math.min(1, Math.max(0, 0.5 + s)));
      }
      return;
    case 'noise': {
      // Smooth blobs (value noise at cell size `period`) plus fine per-pixel grain.
      let x0 = width;
      let x1 = 0;
      let y0 = Infinity;
      let y1 = 0;
      for (let k = 0; k < count; k++) {
        const x = pixels[k] % width;
        const y = Math.floor(pixels[k] / width);
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
      const g = latticeGrid(t, x0, x1, y0, y1);
      const grain = t.seed ^ 0x2545f491;
      for (let k = 0; k < count; k++) {
        const idx = pixels[k];
        const px = idx % width;
        const py = Math.floor(idx / width);
        const gx = (px + 0.5) / t.period;
        const gy = (py + 0.5) / t.period;
        const i = Math.floor(gx);
        const j = Math.floor(gy);
        const fx = gx - i;
        const fy = gy - j;
        const c = (j - g.j0) * g.ni + (i - g.i0);
        const top = g.values[c] * (1 - fx) + g.values[c + 1] * fx;
        const bottom = g.values[c + g.ni] * (1 - fx) + g.values[c + g.ni + 1] * fx;
        const smooth = top * (1 - fy) + bottom * fy;
        put(idx, 0.7 * smooth + 0.3 * lattice(grain, px, py));
      }
      return;
    }
  }
}
