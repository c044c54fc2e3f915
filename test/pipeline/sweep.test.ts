// The budget sweep with a fake experiment runner that records its calls: the plan (rows as `budget plan`
// gives them, shared endpoints trained once), the weak file each point gets, the outputs, skipping done
// points, resuming failed / interrupted ones, refusing other inputs (and --force), extending by a pair,
// and errors on bad input.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../src/data/synth/index.ts';
import { planPair, type Costs } from '../../src/data/weak/budget.ts';
import type { WeakDataset } from '../../src/data/weak/types.ts';
import { planSweep, pointName, type Pair } from '../../src/pipeline/sweep-plan.ts';
import { LOCK_FILE, SWEEP_FILE, type SweepState } from '../../src/pipeline/sweep-state.ts';
import {
  PLOT_PNG,
  POINTS_DIR,
  runSweep,
  SweepStopped,
  TABLE_JSON,
  TABLE_MD,
  WEAK_FILE,
  type ExperimentOutcome,
  type ExperimentRequest,
  type SweepOptions,
} from '../../src/pipeline/sweep.ts';
import { parseRunConfig } from '../../src/train/config.ts';

const costs: Costs = { tag: 1, point: 6, box: 12 };
const TB: Pair = ['tag', 'box'];
const PB: Pair = ['point', 'box'];

describe('planSweep', () => {
  test('rows are exactly budget plan rows; the all-box endpoint of tag-box and point-box is one point', () => {
    const plan = planSweep(120, costs, [TB, PB], 3);
    assert.deepEqual(
      plan.pairs.map((p) => p.rows.map(({ step: _s, name: _n, ...c }) => c)),
      [planPair(120, costs, TB, 3), planPair(120, costs, PB, 3)],
    );
    // By hand: tag-box step 1 spends 6*round(60/6) = 60 on boxes (5 boxes) and 60 on tags;
    // point-box step 1: 5 boxes and floor(60/6) = 10 points; endpoints 120 tags, 20 points, 10 boxes.
    assert.deepEqual(
      plan.points.map((p) => p.name),
      ['t120-p0-b0', 't60-p0-b5', 't0-p0-b10', 't0-p20-b0', 't0-p10-b5'],
    );
    assert.equal(plan.pairs[0].rows[2].name, plan.pairs[1].rows[2].name);
    assert.equal(pointName({ tag: 1, point: 2, box: 3 }), 't1-p2-b3');
  });

  test('a pair named twice (either order) is an error', () => {
    assert.throws(() => planSweep(120, costs, [TB, ['box', 'tag']], 3), /names the pair box-tag twice/);
    assert.throws(() => planSweep(120, costs, [], 3), /at least one pair/);
  });
});

interface Fixture {
  dir: string;
  data: string;
  val: { annotations: string; images: string };
  sam: string;
}

let fx: Fixture;

before(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-sweep-'));
  await writeSynthDataset(path.join(dir, 'train'), {
    images: 130,
    seed: 2,
    size: 32,
    minInstances: 1,
    maxInstances: 2,
  });
  await writeSynthDataset(path.join(dir, 'val'), {
    images: 2,
    seed: 3,
    size: 32,
    minInstances: 1,
    maxInstances: 2,
  });
  const sam = path.join(dir, 'teacher.safetensors');
  await writeFile(sam, 'not read by the fake runner, only hashed');
  fx = {
    dir,
    data: path.join(dir, 'train', ANNOTATIONS_FILE),
    val: { annotations: path.join(dir, 'val', ANNOTATIONS_FILE), images: path.join(dir, 'val') },
    sam,
  };
});

const runConfig = parseRunConfig({
  model: 'cpu-small',
  data: { prepared: 'x' },
  batchSize: 2,
  iterations: 5,
});

function options(out: string, over: Partial<SweepOptions> = {}): SweepOptions {
  return {
    data: fx.data,
    val: fx.val,
    configFile: 'configs/test.json',
    runConfig,
    sam: { checkpoint: fx.sam },
    budget: 120,
    costs,
    pairs: [TB],
    steps: 3,
    seed: 4,
    outDir: path.join(fx.dir, out),
    progress: false,
    log: () => {},
    ...over,
  };
}

/** AP grows with tags and boxes, more with a mix than either alone: a known answer for the verdict. */
function fakeAp(w: WeakDataset): number {
  const n = (k: string) => w.images.filter((im) => im.label_type === k).length;
  const t = n('tag') / 120;
  const b = n('box') / 10;
  return 0.1 * t + 0.2 * b + 0.4 * t * b + 0.01 * (n('point') / 20);
}

class FakeRunner {
  calls: ExperimentRequest[] = [];
  weak: WeakDataset[] = [];
  constructor(private failOnCall = -1) {}
  run = async (o: ExperimentRequest): Promise<ExperimentOutcome> => {
    this.calls.push(o);
    const w = JSON.parse(await readFile(o.weak, 'utf8')) as WeakDataset;
    this.weak.push(w);
    if (this.calls.length === this.failOnCall) throw new Error('out of memory (fake)');
    const AP = fakeAp(w);
    return {
      stats: { AP, AP50: Math.min(1, 2 * AP), AP75: AP / 2, APs: -1 },
      iterations: o.runConfig.iterations,
      seconds: 1,
      checkpoint: path.join(o.outDir, 'run', 'checkpoint.safetensors'),
    };
  };
  names(): string[] {
    return this.calls.map((c) => path.basename(c.outDir));
  }
}

const readState = async (out: string): Promise<SweepState> =>
  JSON.parse(await readFile(path.join(fx.dir, out, SWEEP_FILE), 'utf8')) as SweepState;

describe('runSweep', () => {
  test('one experiment per distinct mix, each on its own weak file; table, JSON, plot; a rerun skips all', async () => {
    const fake = new FakeRunner();
    const r = await runSweep(options('full', { pairs: [TB, PB] }), fake.run);
    assert.deepEqual(fake.names(), ['t120-p0-b0', 't60-p0-b5', 't0-p0-b10', 't0-p20-b0', 't0-p10-b5']);
    assert.deepEqual(r.ran, fake.names());
    for (const [i, call] of fake.calls.entries()) {
      const p = r.plan.points[i];
      assert.equal(call.outDir, path.join(fx.dir, 'full', POINTS_DIR, p.name));
      assert.equal(call.weak, path.join(call.outDir, WEAK_FILE));
      // file_names resolve against --images (default: the data file's folder), as the experiment is told.
      assert.equal(call.images, path.dirname(fx.data));
      assert.equal(call.runConfig, runConfig);
      const w = fake.weak[i];
      const count = (k: string) => w.images.filter((im) => im.label_type === k).length;
      // Unchosen images are dropped: exactly the mix's images, nothing else.
      assert.deepEqual([count('tag'), count('point'), count('box')], [p.tag, p.point, p.box]);
      assert.equal(w.images.length, p.tag + p.point + p.box);
      for (const im of w.images) await stat(path.join(call.images, im.file_name));
    }
    const state = await readState('full');
    assert.ok(
      Object.values(state.points).every((p) => p.status === 'done' && p.result?.stats.AP !== undefined),
    );

    // Table: the tag-box rows with AP in percent, the best bold, the verdict (fake AP: 0.1 / 0.25 / 0.2).
    const md = await readFile(r.files.markdown, 'utf8');
    assert.match(md, /## tag-box\n\n\| step \| tag \| point \| box \| cost \| AP \| AP50 \| AP75 \|/);
    assert.match(md, /\| 0 \| 120 \| 0 \| 0 \| 120 \| 10\.00 \| 20\.00 \| 5\.00 \|/);
    assert.match(md, /\| 1 \| 60 \| 0 \| 5 \| 120 \| \*\*25\.00\*\* \| 50\.00 \| 12\.50 \|/);
    assert.match(md, /\| 2 \| 0 \| 0 \| 10 \| 120 \| 20\.00 \| 40\.00 \| 10\.00 \|/);
    assert.match(
      md,
      /tag-box: YES, the best mix \(60 tag \+ 5 box, step 1\) has AP 25\.00, above all-tag \(10\.00\) by \+15\.00 and all-box \(20\.00\) by \+5\.00/,
    );
    const json = JSON.parse(await readFile(r.files.json, 'utf8'));
    assert.deepEqual(
      json.pairs.map((p: { pair: string }) => p.pair),
      ['tag-box', 'point-box'],
    );
    assert.equal(json.pairs[0].verdict.outcome, 'beats');
    assert.ok(Math.abs(json.pairs[0].verdict.overLast - 0.05) < 1e-12);
    const meta = await sharp(r.files.plot).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 760, 480]);

    const again = new FakeRunner();
    const r2 = await runSweep(options('full', { pairs: [TB, PB] }), again.run);
    assert.equal(again.calls.length, 0);
    assert.deepEqual(r2.skipped, r.ran);
    assert.equal(await readFile(r2.files.markdown, 'utf8'), md);
  });

  test('a failed point is recorded and retried; done points are not trained again', async () => {
    const failing = new FakeRunner(2);
    await assert.rejects(
      runSweep(options('fail'), failing.run),
      /point t60-p0-b5 \(60 tag \+ 5 box\) failed: out of memory \(fake\)[\s\S]*rerun the same command/,
    );
    let state = await readState('fail');
    assert.deepEqual(
      Object.values(state.points).map((p) => [p.name, p.status]),
      [
        ['t120-p0-b0', 'done'],
        ['t60-p0-b5', 'failed'],
        ['t0-p0-b10', 'pending'],
      ],
    );
    assert.match(state.points['t60-p0-b5'].error!, /out of memory/);
    const md = await readFile(path.join(fx.dir, 'fail', TABLE_MD), 'utf8');
    assert.match(md, /\| 1 \(failed\) \| 60 \| 0 \| 5 \| 120 \| - \| - \| - \|/);
    assert.match(md, /tag-box: 1\/3 points done, no verdict yet/);

    // A crash while training leaves "running": simulate one on the last point.
    state.points['t0-p0-b10'].status = 'running';
    await writeFile(path.join(fx.dir, 'fail', SWEEP_FILE), JSON.stringify(state));
    const retry = new FakeRunner();
    await runSweep(options('fail'), retry.run);
    assert.deepEqual(retry.names(), ['t60-p0-b5', 't0-p0-b10']);
    state = await readState('fail');
    assert.ok(Object.values(state.points).every((p) => p.status === 'done' && p.error === undefined));
  });

  test('Ctrl-C (the signal) stops the sweep on its point, which stays running and resumes on the next call', async () => {
    const ctrl = new AbortController();
    const first = new FakeRunner();
    const stopping = async (o: ExperimentRequest): Promise<ExperimentOutcome> => {
      if (first.calls.length === 1) {
        // the second point: Ctrl-C arrives while it trains; the experiment stops at a checkpoint and throws
        first.calls.push(o);
        ctrl.abort();
        throw new Error('stopped at iteration 3 of 10 (fake)');
      }
      return first.run(o);
    };
    await assert.rejects(runSweep(options('stop', { signal: ctrl.signal }), stopping), (e: Error) => {
      assert.ok(e instanceof SweepStopped);
      assert.match(e.message, /stopped during point t60-p0-b5; run the same command again/);
      return true;
    });
    const state = await readState('stop');
    assert.deepEqual(
      Object.values(state.points).map((p) => [p.name, p.status]),
      [
        ['t120-p0-b0', 'done'],
        ['t60-p0-b5', 'running'],
        ['t0-p0-b10', 'pending'],
      ],
    );
    assert.equal(state.points['t60-p0-b5'].error, undefined);
    await stat(path.join(fx.dir, 'stop', TABLE_MD));
    assert.ok(!(await readdir(path.join(fx.dir, 'stop'))).includes(LOCK_FILE), 'the lock is released');
    const rest = new FakeRunner();
    await runSweep(options('stop'), rest.run);
    assert.deepEqual(rest.names(), ['t60-p0-b5', 't0-p0-b10']);
  });

  test('another budget, config or data is refused with what changed; --force starts over', async () => {
    await runSweep(options('changed'), new FakeRunner().run);
    await assert.rejects(runSweep(options('changed', { budget: 96 }), new FakeRunner().run), (e: Error) => {
      assert.match(e.message, /sweep\.json holds a sweep made with other inputs/);
      assert.match(e.message, /budget: 120 -> 96/);
      assert.match(e.message, /--force/);
      return true;
    });
    const other = parseRunConfig({
      model: 'cpu-small',
      data: { prepared: 'x' },
      batchSize: 2,
      iterations: 6,
    });
    await assert.rejects(
      runSweep(options('changed', { runConfig: other }), new FakeRunner().run),
      /config: /,
    );
    // The run config's own data section does not matter (the sweep replaces it).
    const sameTraining = parseRunConfig({
      model: 'cpu-small',
      data: { prepared: 'y' },
      batchSize: 2,
      iterations: 5,
    });
    const same = new FakeRunner();
    await runSweep(options('changed', { runConfig: sameTraining }), same.run);
    assert.equal(same.calls.length, 0);

    const fresh = new FakeRunner();
    await runSweep(options('changed', { budget: 96, force: true }), fresh.run);
    assert.deepEqual(fresh.names(), ['t96-p0-b0', 't48-p0-b4', 't0-p0-b8']);
    assert.deepEqual((await readdir(path.join(fx.dir, 'changed', POINTS_DIR))).sort(), fresh.names().sort());
  });

  test('a changed data file is refused; an equal one under another name is not (by content)', async () => {
    const copy = path.join(path.dirname(fx.data), 'copy.json');
    const coco = JSON.parse(await readFile(fx.data, 'utf8'));
    await writeFile(copy, JSON.stringify(coco));
    await runSweep(options('data', { data: copy }), new FakeRunner().run);
    coco.annotations.pop();
    await writeFile(copy, JSON.stringify(coco));
    await assert.rejects(runSweep(options('data', { data: copy }), new FakeRunner().run), /data: \{"sha256"/);
    // The original content under another name (same --images folder) is the same sweep.
    const moved = path.join(path.dirname(fx.data), 'moved.json');
    await writeFile(moved, await readFile(fx.data));
    await runSweep(options('moved', { data: fx.data }), new FakeRunner().run);
    const same = new FakeRunner();
    await runSweep(options('moved', { data: moved }), same.run);
    assert.equal(same.calls.length, 0);
    await rm(copy);
    await rm(moved);
  });

  test('asking for another pair later trains only its new mixes (the shared endpoint is reused)', async () => {
    const first = new FakeRunner();
    await runSweep(options('extend'), first.run);
    const second = new FakeRunner();
    const r = await runSweep(options('extend', { pairs: [TB, PB] }), second.run);
    assert.deepEqual(second.names(), ['t0-p20-b0', 't0-p10-b5']);
    assert.deepEqual(r.skipped, ['t120-p0-b0', 't60-p0-b5', 't0-p0-b10']);
    const json = JSON.parse(await readFile(path.join(fx.dir, 'extend', TABLE_JSON), 'utf8'));
    assert.equal(json.pairs[1].rows[2].AP, json.pairs[0].rows[2].AP);
  });

  test('bad input: a budget the data cannot fill, missing folders, leftover points without a state', async () => {
    await assert.rejects(
      runSweep(options('big', { budget: 200 }), new FakeRunner().run),
      /--data .*annotations\.json: the mix t200-p0-b0 \(200 tag\) needs 200 labeled images but only 130 of 130/,
    );
    await assert.rejects(
      runSweep(options('noimg', { images: path.join(fx.dir, 'nope') }), new FakeRunner().run),
      /--images .*nope: no such folder/,
    );
    await assert.rejects(
      runSweep(
        options('nosam', { sam: { checkpoint: path.join(fx.dir, 'missing.pth') } }),
        new FakeRunner().run,
      ),
      /--sam .*missing\.pth: cannot read/,
    );
    await runSweep(options('orphan'), new FakeRunner().run);
    await rm(path.join(fx.dir, 'orphan', SWEEP_FILE));
    await assert.rejects(
      runSweep(options('orphan'), new FakeRunner().run),
      /points exists but .*sweep\.json does not/,
    );
    await writeFile(path.join(fx.dir, 'orphan', SWEEP_FILE), '{"version": 1');
    await assert.rejects(runSweep(options('orphan'), new FakeRunner().run), /sweep\.json: not valid JSON/);
    assert.equal(PLOT_PNG, 'plot.png');
  });

  test('a sweep another live run holds is refused; a stale lock is taken over and released', async () => {
    const out = path.join(fx.dir, 'locked');
    await runSweep(options('locked'), new FakeRunner().run);
    // The parent process is alive: stands for a second `budget run` on the same folder.
    await writeFile(path.join(out, LOCK_FILE), String(process.ppid));
    await assert.rejects(
      runSweep(options('locked'), new FakeRunner().run),
      new RegExp(`another budget run \\(pid ${process.ppid}\\) is working on this sweep`),
    );
    await writeFile(path.join(out, LOCK_FILE), '999999999'); // no such process
    await runSweep(options('locked'), new FakeRunner().run);
    await assert.rejects(stat(path.join(out, LOCK_FILE)), /ENOENT/);
  });
});
