// `wish sam embed` as a user runs it: exit status 1 and the missing image named, the good one cached.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasSamFixture, SAM_FIXTURE } from './fixture.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

test(
  'wish sam embed: a missing image is named, exits 1, and the rest is cached',
  { skip: hasSamFixture ? false : 'no SAM fixture' },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sam-embed-cli-'));
    try {
      await mkdir(join(dir, 'imgs'));
      await copyFile(join(SAM_FIXTURE, 'portrait', 'image.png'), join(dir, 'imgs', 'p.png'));
      const data = join(dir, 'd.json');
      await writeFile(
        data,
        JSON.stringify({
          images: [
            { id: 1, file_name: 'imgs/p.png' },
            { id: 2, file_name: 'imgs/missing.png' },
          ],
          annotations: [],
          categories: [],
        }),
      );
      const args = [
        'bin/wish.js',
        'sam',
        'embed',
        '--checkpoint',
        join(SAM_FIXTURE, 'tiny_sam.pth'),
        '--config',
        join(SAM_FIXTURE, 'tiny_sam_config.json'),
        '--data',
        data,
        '--out',
        join(dir, 'cache'),
      ];
      const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /failed: imgs\/missing\.png \(.*missing\.png\): no such file/);
      assert.match(r.stderr, /2 images: 1 computed \(1 new/);
      assert.deepEqual(await readdir(join(dir, 'cache', 'imgs')), ['p.png.samemb']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
