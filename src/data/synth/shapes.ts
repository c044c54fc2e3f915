// Shape classes of the synthetic dataset, as inside-tests on a unit shape (circumradius ~1)
// plus a placement (centre, size, aspect, rotation). Edges are hard (no antialiasing), so the
// rasterised coverage IS the instance mask, pixel for pixel.

export const SHAPE_CLASSES = ['disc', 'square', 'triangle', 'ring', 'star', 'cross'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

/** Classes used when none are named: four, distinct in outline, one with a hole. */
export const DEFAULT_CLASSES: readonly ShapeClass[] = ['disc', 'square', 'triangle', 'ring'];

export interface ShapePlacement {
  cls: ShapeClass;
  cx: number; // centre, continuous pixel coordinates
  cy: number;
  radius: number; // circumradius in pixels along the longer axis
  aspect: number; // (0, 1]: the shorter local axis is radius * aspect
  angle: number; // radians
}

function polygon(n: number, radiusAt: (i: number) => number, phase: number): Float64Array {
  const v = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const a = phase + (i * 2 * Math.PI) / n;
    v[2 * i] = radiusAt(i) * Math.cos(a);
    v[2 * i + 1] = radiusAt(i) * Math.sin(a);
  }
  return v;
}

const TRIANGLE = polygon(3, () => 1, -Math.PI / 2);
const STAR = polygon(10, (i) => (i % 2 === 0 ? 1 : 0.45), -Math.PI / 2);

/** Even-odd point-in-polygon test. */
function inPolygon(v: Float64Array, x: number, y: number): boolean {
  let inside = false;
  const n = v.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = v[2 * i];
    const yi = v[2 * i + 1];
    const xj = v[2 * j];
    const yj = v[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside-test of each unit shape in its local frame. */
export const UNIT_SHAPES: Record<ShapeClass, (u: number, v: number) => boolean> = {
  disc: (u, v) => u * u + v * v <= 1,
  square: (u, v) => Math.abs(u) <= 0.72 && Math.abs(v) <= 0.72,
  triangle: (u, v) => inPolygon(TRIANGLE, u, v),
  ring: (u, v) => {
    const r2 = u * u + v * v;
    return r2 <= 1 && r2 >= 0.3;
  },
  star: (u, v) => inPolygon(STAR, u, v),
  cross: (u, v) => {
    const au = Math.abs(u);
    const av = Math.abs(v);
    return (au <= 0.3 && av <= 0.92) || (au <= 0.92 && av <= 0.3);
  },
};

/**
 * Pixels (index y*width + x) whose centre lies inside the placed shape, clipped to the image.
 * `out` is scratch space reused across calls; returns the number of entries written.
 */
export function rasterizeShape(s: ShapePlacement, width: number, height: number, out: Int32Array): number {
  const inside = UNIT_SHAPES[s.cls];
  const reach = s.radius * 1.05; // every unit shape fits in a circle of radius ~1.02
  const x0 = Math.max(0, Math.floor(s.cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(s.cx + reach));
  const y0 = Math.max(0, Math.floor(s.cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(s.cy + reach));
  const cos = Math.cos(s.angle);
  const sin = Math.sin(s.angle);
  const invA = 1 / s.radius;
  const invB = 1 / (s.radius * s.aspect);
  let n = 0;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - s.cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - s.cx;
      const u = (dx * cos + dy * sin) * invA;
      const v = (-dx * sin + dy * cos) * invB;
      if (u * u + v * v <= 1.1 && inside(u, v)) out[n++] = y * width + x;
    }
  }
  return n;
}

export function parseClasses(list: string): ShapeClass[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length < 1) throw new Error('--classes: give at least one class name');
  const out: ShapeClass[] = [];
  for (const n of names) {
    if (!(SHAPE_CLASSES as readonly string[]).includes(n)) {
      throw new Error(`--classes: unknown shape class "${n}"; known: ${SHAPE_CLASSES.join(', ')}`);
    }
    if (out.includes(n as ShapeClass)) throw new Error(`--classes: "${n}" is listed twice`);
    out.push(n as ShapeClass);
  }
  return out;
}
