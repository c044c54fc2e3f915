// Builds the native addon (native/ -> build/Release/wish_native.node) against a libtorch; it is the
// package's `install` script, so `npm ci` builds it. Which libtorch, first match wins:
//   WISH_LIBTORCH=<dir>        a libtorch whose <dir>/share/cmake/Torch holds TorchConfig.cmake
//   WISH_TORCH_PYTHON=<python> a python with torch installed (e.g. a pip CUDA wheel): its
//                              torch.utils.cmake_prefix_path
//   Debian's libtorch-dev      /usr/lib/<triplet>/cmake/Torch
// Skips the build when build/Release is newer than every native source and the libtorch is unchanged;
// --force rebuilds.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const buildDir = join(root, 'build');
const addonPath = join(buildDir, 'Release', 'wish_native.node');
const stampPath = join(buildDir, 'wish-build-stamp.json');
const force = process.argv.includes('--force');

function fail(msg) {
  console.error(`wish: cannot build the native addon: ${msg}`);
  process.exit(1);
}

/** The CMAKE_PREFIX_PATH entry under which find_package(Torch) will find TorchConfig.cmake. */
function findTorchPrefix() {
  if (process.env.WISH_LIBTORCH) {
    const dir = resolve(process.env.WISH_LIBTORCH);
    const cfg = [join(dir, 'share', 'cmake', 'Torch'), join(dir, 'lib', 'cmake', 'Torch')];
    if (!cfg.some((d) => existsSync(join(d, 'TorchConfig.cmake')))) {
      fail(
        `WISH_LIBTORCH=${dir} has no share/cmake/Torch/TorchConfig.cmake (point it at an unpacked libtorch)`,
      );
    }
    return { prefix: dir, from: `WISH_LIBTORCH=${dir}` };
  }
  if (process.env.WISH_TORCH_PYTHON) {
    const py = process.env.WISH_TORCH_PYTHON;
    let out;
    try {
      out = execFileSync(py, ['-c', 'import torch, torch.utils; print(torch.utils.cmake_prefix_path)'], {
        encoding: 'utf8',
      }).trim();
    } catch (e) {
      fail(`WISH_TORCH_PYTHON=${py} could not import torch (${e.message.split('\n')[0]})`);
    }
    if (!existsSync(join(out, 'Torch', 'TorchConfig.cmake'))) {
      fail(
        `WISH_TORCH_PYTHON=${py}: its torch has no CMake files at ${out}/Torch (Debian's python3-torch ships ` +
          'them in libtorch-dev instead: unset WISH_TORCH_PYTHON to use that)',
      );
    }
    return { prefix: out, from: `WISH_TORCH_PYTHON=${py}` };
  }
  for (const triplet of ['x86_64-linux-gnu', 'aarch64-linux-gnu']) {
    const dir = `/usr/lib/${triplet}/cmake/Torch`;
    if (existsSync(join(dir, 'TorchConfig.cmake'))) return { prefix: dir, from: "Debian's libtorch-dev" };
  }
  fail(
    "no libtorch found. Install Debian's: `sudo apt-get install libtorch-dev`, or set WISH_LIBTORCH=<libtorch dir> " +
      'or WISH_TORCH_PYTHON=<python with torch> (e.g. a pip CUDA wheel).',
  );
}

function newestSourceMtime() {
  let newest = statSync(join(nativeDir, 'CMakeLists.txt')).mtimeMs;
  for (const name of readdirSync(join(nativeDir, 'src'))) {
    newest = Math.max(newest, statSync(join(nativeDir, 'src', name)).mtimeMs);
  }
  return newest;
}

function sourceList() {
  return readdirSync(join(nativeDir, 'src')).sort().join(',');
}

const torch = findTorchPrefix();
const stamp = createHash('sha256').update(`${torch.prefix}|${sourceList()}`).digest('hex');
if (!force && existsSync(addonPath) && existsSync(stampPath)) {
  const old = JSON.parse(readFileSync(stampPath, 'utf8'));
  if (old.stamp === stamp && statSync(addonPath).mtimeMs >= newestSourceMtime()) {
    console.log(`wish: native addon is up to date (${addonPath})`);
    process.exit(0);
  }
}

console.log(`wish: building the native addon against ${torch.from} (${torch.prefix})`);
mkdirSync(buildDir, { recursive: true });
const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
if (!existsSync(cmakeJs)) fail('cmake-js is missing; run `npm ci` first');
// Each ATen translation unit needs ~0.5-1 GB of RAM to compile; do not outrun small machines.
const jobs = Math.max(1, Math.min(availableParallelism(), 8));
const args = [
  cmakeJs,
  'build',
  '-d',
  nativeDir,
  '-O',
  buildDir,
  '-p',
  String(jobs),
  `--CDCMAKE_PREFIX_PATH=${torch.prefix}`,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
if (r.status !== 0) fail(`cmake-js exited with ${r.status}; see the compiler output above`);
if (!existsSync(addonPath)) fail(`the build finished but ${addonPath} is missing`);
writeFileSync(stampPath, JSON.stringify({ stamp, torch: torch.prefix }) + '\n');
console.log(`wish: built ${addonPath}`);
