// Writes COCO-shaped JSON record by record to a temp file beside the target, then renames it, so a
// crash never leaves a half-written dataset and a huge dataset never becomes one giant string.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';

async function put(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((res) => out.once('drain', () => res()));
}

/**
 * Writes `data` as JSON. Members named in `lists` (default: the three COCO lists) are written one
 * record per line; everything else with JSON.stringify. Keys keep their order.
 */
export async function writeCocoShapedJson(
  file: string,
  data: Record<string, unknown>,
  lists: readonly string[] = ['images', 'annotations', 'categories'],
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const out = createWriteStream(tmp);
  const closed = new Promise<void>((res, rej) => {
    out.on('finish', res);
    out.on('error', rej);
  });
  try {
    await put(out, '{');
    let first = true;
    for (const [k, v] of Object.entries(data)) {
      if (v === undefined) continue;
      await put(out, `${first ? '' : ','}\n${JSON.stringify(k)}: `);
      first = false;
      if (lists.includes(k) && Array.isArray(v)) {
        await put(out, '[');
        let buf = '';
        for (let i = 0; i < v.length; i++) {
          buf += (i ? ',\n' : '\n') + JSON.stringify(v[i]);
          if (buf.length > 1 << 20) {
            await put(out, buf);
            buf = '';
          }
        }
        await put(out, buf + (v.length ? '\n]' : ']'));
      } else {
        await put(out, JSON.stringify(v));
      }
    }
    out.end('\n}\n');
    await closed;
    await rename(tmp, file);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
