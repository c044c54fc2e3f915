// Renders docs/img/synth.png: a few synthetic scenes (top row) and the same scenes with each
// instance's mask outlined in its class colour (bottom row), to eyeball the generator.
// Run: node --import tsx scripts/synth-sheet.ts [out.png] [seed]
import { savePng } from '../src/data/image/io.ts';
import { generateScene, SYNTH_DEFAULTS } from '../src/data/synth/scene.ts';
import { SHAPE_CLASSES } from '../src/data/synth/shapes.ts';

const out = process.argv[2] ?? 'docs/img/synth.png';
const seed = Number(process.argv[3] ?? 0);
const classes = SHAPE_CLASSES; // show every class
const count = 6;
const zoom = 2;
const gap = 4;
const S = SYNTH_DEFAULTS.size;
const cell = S * zoom;
const W = count * cell + (count + 1) * gap;
const H = 2 * cell + 3 * gap;
const sheet = new Uint8Array(W * H * 3).fill(255);
// One outline colour per class, in SHAPE_CLASSES order.
const palette: [number, number, number][] = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 90, 255],
  [255, 255, 0],
  [255, 0, 255],
  [0, 255, 255],
];

for (let k = 0; k < count; k++) {
  const scene = generateScene(seed, k, { classes });
  const outlined = scene.image.slice();
  for (const inst of scene.instances) {
    const m = inst.mask;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const p = y * S + x;
        if (!m[p]) continue;
        const edge =
          x === 0 ||
          y === 0 ||
          x === S - 1 ||
          y === S - 1 ||
          !m[p - 1] ||
          !m[p + 1] ||
          !m[p - S] ||
          !m[p + S];
        if (edge) outlined.set(palette[inst.classId], p * 3);
      }
    }
  }
  [scene.image, outlined].forEach((img, row) => {
    const ox = gap + k * (cell + gap);
    const oy = gap + row * (cell + gap);
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        const s = (Math.floor(y / zoom) * S + Math.floor(x / zoom)) * 3;
        sheet.set(img.subarray(s, s + 3), ((oy + y) * W + ox + x) * 3);
      }
    }
  });
}
await savePng(out, { data: sheet, width: W, height: H });
console.log(
  `wrote ${out} (${count} scenes, seed ${seed}; outline colours by class: ${classes.map((c, i) => `${c}=${palette[i]}`).join(' ')})`,
);
