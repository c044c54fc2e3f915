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
export function randomTexture(rng: Rng, size: number, contrast = 0.5): Texture {
  const kind = rng.pick(TEXTURE_KINDS);
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

/** Smooth value noise: bilinear interpolation of lattice values at cell size `period`. */
function valueNoise(t: Texture, x: number, y: number): number {
  const gx = x / t.period;
  const gy = y / t.period;
  const i = Math.floor(gx);
  const j = Math.floor(gy);
  const fx = gx - i;
  const fy = gy - j;
  const top = lattice(t.seed, i, j) * (1 - fx) + lattice(t.seed, i + 1, j) * fx;
  const bottom = lattice(t.seed, i, j + 1) * (1 - fx) + lattice(t.seed, i + 1, j + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Mixing weight of colour b at pixel centre (x, y), in [0, 1]. */
function weightB(t: Texture, x: number, y: number): number {
  const dx = x - t.x0;
  const dy = y - t.y0;
  switch (t.kind) {
    case 'solid':
      return 0;
    case 'stripes':
      return Math.floor((dx * t.cos + dy * t.sin) / t.period) & 1;
    case 'checker': {
      const u = Math.floor((dx * t.cos + dy * t.sin) / t.period);
      const v = Math.floor((-dx * t.sin + dy * t.cos) / t.period);
      return (u + v) & 1;
    }
    case 'noise':
      // Smooth blobs plus fine grain, so both coarse and pixel-level noise occur.
      return 0.7 * valueNoise(t, x, y) + 0.3 * lattice(t.seed ^ 0x2545f491, Math.floor(x), Math.floor(y));
    case 'gradient': {
      const s = (dx * t.cos + dy * t.sin) / (t.period * 8);
      return Math.min(1, Math.max(0, 0.5 + s));
    }
  }
}

/** Paints the texture at the listed pixels (index y*width + x) of an H x W x 3 image. */
export function paintTexture(
  t: Texture,
  image: Uint8Array,
  width: number,
  pixels: Int32Array,
  count: number,
): void {
  const [ar, ag, ab] = t.a;
  const [br, bg, bb] = t.b;
  for (let k = 0; k < count; k++) {
    const idx = pixels[k];
    const x = (idx % width) + 0.5;
    const y = Math.floor(idx / width) + 0.5;
    const w = weightB(t, x, y);
    const o = idx * 3;
    image[o] = Math.round(ar + (br - ar) * w);
    image[o + 1] = Math.round(ag + (bg - ag) * w);
    image[o + 2] = Math.round(ab + (bb - ab) * w);
  }
}
