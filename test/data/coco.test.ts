import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  DataFormatError,
  loadCocoJson,
  rebaseFileName,
  resolveImagePath,
  writeCocoShapedJson,
} from '../../src/data/coco/index.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const gtFixture = resolve(repoRoot, '..', 'shared', 'fixtures', 'coco', 'gt.json');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wish-coco-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ok = () => ({
  info: { description: 'tiny' },
  images: [
    { id: 1, file_name: 'a.jpg', width: 4, height: 3 },
    { id: 2, file_name: 'b.jpg', width: 5, height: 5 },
  ],
  categories: [{ id: 7, name: 'cat' }],
  annotations: [
    {
      id: 10,
      image_id: 1,
      category_id: 7,
      bbox: [0, 0, 2, 2],
      area: 4,
      iscrowd: 0,
      segmentation: [[0, 0, 2, 0, 2, 2]],
    },
    {
      id: 11,
      image_id: 2,
      category_id: 7,
      bbox: [1, 1, 1, 1],
      area: 1,
      iscrowd: 1,
      segmentation: { size: [5, 5], counts: [6, 1, 18] },
    },
  ],
});

async function writeJson(name: string, v: unknown): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, typeof v === 'string' ? v : JSON.stringify(v));
  return f;
}

/** Loads with JSON.parse and with the streaming parser; both must agree (value or error text). */
async function loadBoth(file: string) {
  const settle = (p: Promise<unknown>) =>
    p.then(
      (v) => ({ v }),
      (e: unknown) => ({ e: e as Error }),
    );
  const whole = await settle(loadCocoJson(file, { streamAboveBytes: Infinity }));
  const streamed = await settle(loadCocoJson(file, { streamAboveBytes: 0 }));
  if ('v' in whole) assert.deepEqual(streamed, whole);
  return { whole, streamed };
}

async function errorOf(file: string): Promise<string> {
  const { whole, streamed } = await loadBoth(file);
  assert.ok('e' in whole && 'e' in streamed, 'expected a load error');
  assert.ok(whole.e instanceof DataFormatError);
  assert.ok(streamed.e instanceof DataFormatError);
  return `${whole.e.message}\n---\n${streamed.e.message}`;
}

describe('COCO JSON loader', () => {
  it('loads the pycocotools fixture identically through JSON.parse and the stream parser', async () => {
    const { whole } = await loadBoth(gtFixture);
    assert.ok('v' in whole);
    const raw = JSON.parse(await readFile(gtFixture, 'utf8'));
    const ds = whole.v as typeof raw;
    assert.equal(ds.images.length, raw.images.length);
    assert.equal(ds.annotations.length, raw.annotations.length);
    assert.deepEqual(ds.annotations, raw.annotations);
    assert.deepEqual(ds.info, raw.info);
  });

  it('names file, record and field for schema errors, and lists all of them', async () => {
    const d = ok();
    (d.images[1] as Record<string, unknown>).width = -5;
    (d.annotations[0] as Record<string, unknown>).bbox = [0, 0, -1, 2];
    (d.annotations[1] as Record<string, unknown>).segmentation = { size: [5, 5], counts: 3 };
    const f = await writeJson('bad-schema.json', d);
    const msg = await errorOf(f);
    for (const part of msg.split('\n---\n')) {
      assert.match(part, /^3 problem\(s\):/);
      assert.match(
        part,
        new RegExp(
          `${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: image id 2 \\(images\\[1\\]\\), field "width"`,
        ),
      );
      assert.match(part, /annotation id 10 \(annotations\[0\]\), field "bbox.2"/);
      assert.match(
        part,
        /annotation id 11 \(annotations\[1\]\), field "segmentation": expected a list of polygons/,
      );
    }
  });

  it('uses the list index when a record has no usable id, and reports missing fields', async () => {
    const d = ok();
    delete (d.images[0] as Record<string, unknown>).id;
    delete (d.annotations[1] as Record<string, unknown>).category_id;
    const msg = await errorOf(await writeJson('no-id.json', d));
    assert.match(msg, /images\[0\], field "id": required field is missing/);
    assert.match(
      msg,
      /annotation id 11 \(annotations\[1\]\), field "category_id": required field is missing/,
    );
  });

  it('cross-checks ids, references and RLE sizes', async () => {
    const d = ok();
    d.images.push({ id: 1, file_name: 'dup.jpg', width: 2, height: 2 });
    d.annotations.push({ ...d.annotations[0], id: 10 });
    d.annotations.push({ ...d.annotations[0], id: 12, image_id: 99, category_id: 3 });
    d.annotations.push({ ...d.annotations[1], id: 13, segmentation: { size: [5, 5], counts: [6, 1] } });
    (d.annotations as unknown[]).push({
      ...d.annotations[1],
      id: 14,
      segmentation: { size: [4, 5], counts: '0' },
    });
    const msg = await errorOf(await writeJson('cross.json', d));
    assert.match(msg, /image id 1 \(images\[2\]\), field "id": duplicate image id/);
    assert.match(msg, /annotation id 10 \(annotations\[2\]\), field "id": duplicate annotation id/);
    assert.match(
      msg,
      /annotation id 12 \(annotations\[3\]\), field "image_id": image id 99 is not in "images"/,
    );
    assert.match(
      msg,
      /annotation id 12 \(annotations\[3\]\), field "category_id": category id 3 is not in "categories"/,
    );
    assert.match(
      msg,
      /annotation id 13 .*"segmentation.counts": run lengths sum to 7, expected height\*width = 25/,
    );
    assert.match(
      msg,
      /annotation id 14 .*"segmentation.size": RLE size \[4,5\] differs from image size \[5,5\]/,
    );
  });

  it('refuses malformed JSON, a non-object top level, missing lists and non-list members', async () => {
    assert.match(
      await errorOf(await writeJson('trunc.json', JSON.stringify(ok()).slice(0, 80))),
      /trunc\.json: JSON syntax/,
    );
    assert.match(
      await errorOf(await writeJson('arr.json', '[1,2]')),
      /arr\.json: top level: expected a JSON object/,
    );
    const d: Record<string, unknown> = ok();
    delete d.categories;
    assert.match(
      await errorOf(await writeJson('nocat.json', d)),
      /nocat\.json: top level, field "categories": missing list "categories"/,
    );
    assert.match(
      await errorOf(await writeJson('obj.json', { ...ok(), images: { id: 1 } })),
      /obj\.json: "images": expected a list, got an object/,
    );
    await assert.rejects(loadCocoJson(join(dir, 'nope.json')), /nope\.json: file: cannot read/);
  });

  it('accepts a UTF-8 byte-order mark in both parse paths', async () => {
    const f = await writeJson('bom.json', '\ufeff' + JSON.stringify(ok()));
    const { whole } = await loadBoth(f);
    assert.ok('v' in whole);
  });

  it('caps the number of listed problems and counts the rest', async () => {
    const d = ok();
    for (let i = 0; i < 30; i++) d.images.push({ id: 100 + i, file_name: '', width: 1, height: 1 });
    await assert.rejects(
      loadCocoJson(await writeJson('many.json', d), { maxIssues: 5 }),
      (e: DataFormatError) => {
        assert.equal(e.issues.length, 5);
        assert.match(e.message, /^30 problem\(s\):/);
        assert.match(e.message, /\.\.\. and 25 more problem\(s\) not shown/);
        return true;
      },
    );
  });
});

describe('image paths', () => {
  it('resolves file_name against the JSON folder and rebases it for a JSON written elsewhere', () => {
    assert.equal(resolveImagePath('/d/ann/x.json', 'img/a.png'), '/d/ann/img/a.png');
    assert.equal(resolveImagePath('/d/ann/x.json', '/abs/a.png'), '/abs/a.png');
    assert.equal(rebaseFileName('/d/ann/x.json', '/d/out/deep/y.json', 'img/a.png'), '../../ann/img/a.png');
    assert.equal(rebaseFileName('/d/ann/x.json', '/d/ann/y.json', 'img/a.png'), 'img/a.png');
    assert.equal(rebaseFileName('/d/ann/x.json', '/e/y.json', '/abs/a.png'), '/abs/a.png');
  });
});

describe('COCO JSON writer', () => {
  it('round-trips through a temp file and leaves no temp file behind', async () => {
    const f = join(dir, 'out', 'rt.json');
    const d = ok();
    await writeCocoShapedJson(f, d);
    assert.deepEqual(JSON.parse(await readFile(f, 'utf8')), d);
    assert.deepEqual(await loadCocoJson(f), d);
    assert.deepEqual(await readdir(join(dir, 'out')), ['rt.json']);
  });
});

describe('COCO JSON loader fuzz', () => {
  // Random edits of a valid file: replace a value anywhere with random JSON, delete a key, or cut
  // the text. Loading must succeed or throw DataFormatError naming the file, never anything else.
  type Edit = { kind: 'set' | 'delete'; pick: number; value: unknown } | { kind: 'cut'; pick: number };
  const edit = fc.oneof(
    fc.record({
      kind: fc.constantFrom('set' as const, 'delete' as const),
      pick: fc.nat(),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
    fc.record({ kind: fc.constant('cut' as const), pick: fc.nat() }),
  );

  function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof v !== 'object' || v === null) return [prefix];
    const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
    return [
      prefix,
      ...keys.flatMap((k) => paths((v as Record<string | number, unknown>)[k], [...prefix, k])),
    ];
  }

  function apply(edits: Edit[]): string {
    const d: unknown = ok();
    let cut = -1;
    for (const e of edits) {
      if (e.kind === 'cut') {
        cut = e.pick;
        continue;
      }
      const all = paths(d).filter((p) => p.length > 0);
      const p = all[e.pick % all.length];
      const parent = p
        .slice(0, -1)
        .reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], d) as Record<
        string | number,
        unknown
      >;
      if (e.kind === 'delete') delete parent[p.at(-1)!];
      else parent[p.at(-1)!] = e.value;
    }
    const text = JSON.stringify(d);
    return cut >= 0 ? text.slice(0, cut % (text.length + 1)) : text;
  }

  it('never crashes: a dataset or a DataFormatError that names the file', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), async (edits) => {
        const f = await writeJson(`fuzz-${n++}.json`, apply(edits));
        for (const streamAboveBytes of [Infinity, 0]) {
          try {
            await loadCocoJson(f, { streamAboveBytes });
          } catch (e) {
            assert.ok(e instanceof DataFormatError, `not a DataFormatError: ${String(e)}`);
            assert.ok(e.message.includes(f));
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
