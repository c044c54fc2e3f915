// Renders docs/img/demo.png from a `wish demo` folder: for the first few val scenes, the image (top), the
// true instances (middle) and the trained student's predictions (bottom), each pixel doubled.
// Run: node --import tsx scripts/demo-sheet.ts [demo-dir] [out.png] [count]
import path from 'node:path';
import { loadImage, savePng } from '../src/data/image/io.ts';

const dir = process.argv[2] ?? 'runs/demo';
const out = process.argv[3] ?? 'docs/img/demo.png';
const count = Number(process.argv[4] ?? 6);
const zoom = 2;
const gap = 4;
const val = path.join(dir, 'data', 'val', 'images');
const names = Array.from({ length: count }, (_, i) => `${String(i).padStart(6, '0')}.png`);
const rows = [
  (n: string) => path.join(val, n),
  (n: string) => path.join(dir, 'predict', 'truth', n),
  (n: string) => path.join(dir, 'predict', 'overlays', n),
];
const first = await loadImage(rows[0](names[0]));
const S = first.width;
const cell = S * zoom;
const W = count * cell + (count + 1) * gap;
const H = rows.length * cell + (rows.length + 1) * gap;
const sheet = new Uint8Array(W * H * 3).fill(255);
for (const [r, file] of rows.entries()) {
  for (const [k, name] of names.entries()) {
    const img = await loadImage(file(name));
    if (img.width !== S || img.height !== S) throw new Error(`${file(name)}: expected ${S}x${S}`);
    const x0 = gap + k * (cell + gap);
    const y0 = gap + r * (cell + gap);
    for (let y = 0; y < cell; y++)
      for (let x = 0; x < cell; x++) {
        const src = (Math.floor(y / zoom) * S + Math.floor(x / zoom)) * 3;
        sheet.set(img.data.subarray(src, src + 3), ((y0 + y) * W + x0 + x) * 3);
      }
  }
}
await savePng(out, { data: sheet, width: W, height: H });
console.log(`wrote ${out} (${W}x${H}): val images, truth, predictions for ${names.join(', ')}`);
