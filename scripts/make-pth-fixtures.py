#!/usr/bin/python3
"""Writes the small .pth fixtures under test/fixtures/pth/ with real torch.save, plus the values
Python sees in them (expected.json), so the TypeScript reader is checked against torch itself.

Run once with Debian's python3 (torch 1.13):  /usr/bin/python3 scripts/make-pth-fixtures.py
Outputs are committed; tests never need Python.

The two `evil_*.pth` files hold pickles that WOULD create a marker file if unpickled by Python's
unrestricted pickle. This script only writes them (torch.save pickles, never calls the payload).
"""
import collections
import hashlib
import io
import json
import math
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "pth"
SAM = ROOT.parent / "shared" / "fixtures" / "sam" / "tiny_sam.pth"
MARKER_SYSTEM = "/tmp/wish-pth-fixture-pwned-system"
MARKER_EVAL = "/tmp/wish-pth-fixture-pwned-eval"


def describe(t):
    """dtype, shape and the flat values as torch sees them (contiguous, C order)."""
    c = t.detach().contiguous()
    if c.dtype.is_floating_point:
        # non-finite values as 'inf' / '-inf' / 'nan': JSON has no literal for them
        values = [v if math.isfinite(v) else repr(v) for v in c.double().flatten().tolist()]
    elif c.dtype == torch.bool:
        values = [int(v) for v in c.flatten().tolist()]
    elif c.dtype == torch.int64:
        values = [str(v) for v in c.flatten().tolist()]  # strings: int64 exceeds JSON's safe integers
    else:
        values = c.flatten().tolist()
    return {"dtype": str(c.dtype).replace("torch.", ""), "shape": list(c.shape), "values": values}


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.block = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 1), torch.nn.BatchNorm2d(2))


def state_dict_fixture():
    torch.manual_seed(0)
    m = Tiny()
    m.block[1].running_mean.uniform_()
    m.block[1].num_batches_tracked += 7
    return m.state_dict()


def dtypes_fixture():
    base = torch.arange(-3, 3, dtype=torch.float64) * 0.75  # exactly representable everywhere
    return {
        "f32": (base * 1.5).float().reshape(2, 3),
        "f64": base.reshape(3, 2) / 3,
        "f16": torch.tensor([0.1, -2.5, 65504.0, 6e-8, float("inf")], dtype=torch.float16),
        "bf16": torch.tensor([0.1, -2.5, 3.0e38, 1e-30], dtype=torch.bfloat16),
        "i64": torch.tensor([0, -1, 2**40 + 5, -(2**62), 2**63 - 1], dtype=torch.int64),
        "i32": torch.tensor([[1, -2], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 7, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False, True]]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 4),
    }


def views_fixture():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return {
        "base": base,  # shares its storage with every view below
        "transposed": base.t(),  # strides (1, 6)
        "offset_slice": base[1:, ::2],  # offset 6, strides (6, 2)
        "row": base[2],  # offset 12, contiguous
        "expanded": torch.arange(3, dtype=torch.int64).reshape(3, 1).expand(3, 4),  # stride 0
        "param": torch.nn.Parameter(torch.tensor([1.0, 2.0])),  # _rebuild_parameter
        "half_t": torch.arange(6, dtype=torch.float16).reshape(2, 3).t(),  # 2-byte gather
        "bool_t": (torch.arange(12) % 3 == 0).reshape(3, 4)[:, 1::2].t(),  # 1-byte gather with offset
        "f64_t": torch.arange(6, dtype=torch.float64).reshape(3, 2).t(),  # 8-byte gather
    }


def nested_fixture():
    sd = state_dict_fixture()
    return {
        "model": sd,
        "epoch": 3,
        "lr": 0.125,
        "name": "tiny",
        "flags": [True, False, None],
        "pair": (1, -2.5),
        "big": 2**70,
        "blob": b"\x00\x01wish",
        "history": {"loss": [1.5, 0.75]},
    }


class System:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER_SYSTEM,))


class Eval:
    def __reduce__(self):
        return (eval, ("open(%r, 'w').write('x')" % MARKER_EVAL,))


def plain_object():
    shared = [1, 2]
    return {
        "int": 1,
        "neg": -(2**40),
        "big": 2**70,
        "float": -2.5e-3,
        "str": "wish \u00fc \u4e2d \U0001f600 \\ \n",
        "bytes": b"\x00\xff",
        "list": [1.5, -2, None, True, False],
        "tuple": ("a", 1),
        "nested": {"deep": {"er": [()]}, 7: "int key"},
        "shared": [shared, shared],
        "od": collections.OrderedDict([("k", 1), ("j", 2)]),
    }


def tagged(v):
    """The JSON form the TypeScript test converts its decoded values to."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if abs(v) <= 2**53 - 1 else {"int": str(v)}
    if isinstance(v, float):
        return v
    if isinstance(v, bytes):
        return {"bytes": list(v)}
    if isinstance(v, tuple):
        return {"tuple": [tagged(x) for x in v]}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, dict):
        return {"dict": [[tagged(k), tagged(x)] for k, x in v.items()]}
    raise TypeError(type(v))


def write_pickles(expected):
    d = OUT / "pickles"
    d.mkdir(exist_ok=True)
    obj = plain_object()
    for proto in range(6):
        (d / f"plain_p{proto}.pkl").write_bytes(pickle.dumps(obj, protocol=proto))
    expected["plain"] = tagged(obj)
    (d / "evil_eval_p4.pkl").write_bytes(pickle.dumps(Eval(), protocol=4))  # STACK_GLOBAL builtins.eval
    (d / "evil_system_p0.pkl").write_bytes(pickle.dumps(System(), protocol=0))  # text GLOBAL


def write_big_endian(src: Path, dst: Path):
    """Rewrites a torch.save zip as a big-endian machine would: swapped storages, byteorder 'big'."""
    with zipfile.ZipFile(src) as zin:
        names = zin.namelist()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        folder = [n for n in names if n.endswith("/data.pkl")][0][: -len("/data.pkl")]
        itemsize = {}
        data_pkl = zin.read(f"{folder}/data.pkl")

        class Finder(pickle.Unpickler):  # only reads the persistent ids, to learn each storage's dtype
            def persistent_load(self, pid):
                itemsize[pid[2]] = pid[1](0).element_size()
                return torch.zeros(pid[4], dtype=pid[1](0).dtype).storage()

        Finder(io.BytesIO(data_pkl)).load()
        for n in names:
            b = zin.read(n)
            if n.startswith(f"{folder}/data/"):
                k = itemsize[n.rsplit("/", 1)[1]]
                b = b"".join(b[i : i + k][::-1] for i in range(0, len(b), k))
            if n == f"{folder}/byteorder":
                b = b"big"
            zout.writestr(n, b)
        if f"{folder}/byteorder" not in names:
            zout.writestr(f"{folder}/byteorder", b"big")


def rezip(src: Path, dst: Path, **open_kw):
    """Re-packs a torch.save zip entry by entry (same names, same bytes) with other zip options."""
    compression = open_kw.pop("compression", zipfile.ZIP_STORED)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for n in zin.namelist():
            with zout.open(n, "w", **open_kw) as f:
                f.write(zin.read(n))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}

    def save(name, obj, describe_obj=None, **kw):
        path = OUT / name
        torch.save(obj, path, **kw)
        if describe_obj is not None:
            expected[name] = describe_obj

    sd = state_dict_fixture()
    save("state_dict.pth", sd, {
        "tensors": {k: describe(v) for k, v in sd.items()},
        "metadata": {k: dict(v) for k, v in sd._metadata.items()},
    })
    d = dtypes_fixture()
    save("dtypes.pth", d, {"tensors": {k: describe(v) for k, v in d.items()}})
    v = views_fixture()
    save("views.pth", v, {"tensors": {k: describe(t) for k, t in v.items()}})
    n = nested_fixture()
    save("nested.pth", n, {
        "tensors": {k: describe(t) for k, t in n["model"].items()},
        "scalars": {"epoch": 3, "lr": 0.125, "name": "tiny", "big": str(2**70), "blob": list(b"\x00\x01wish")},
    })
    save("legacy.pth", {"w": torch.ones(2)}, None, _use_new_zipfile_serialization=False)
    save("evil_system.pth", {"w": torch.ones(2), "payload": System()})
    save("evil_eval.pth", collections.OrderedDict(w=torch.ones(2), payload=Eval()))
    write_big_endian(OUT / "dtypes.pth", OUT / "dtypes_bigendian.pth")
    expected["dtypes_bigendian.pth"] = expected["dtypes.pth"]
    write_pickles(expected)
    # ZIP64 local headers (what torch writes for entries past 4 GB) and deflated entries (legal zip,
    # though torch itself only writes stored ones); both must read to the same tensors.
    rezip(OUT / "state_dict.pth", OUT / "state_dict_zip64.pth", force_zip64=True)
    rezip(OUT / "state_dict.pth", OUT / "state_dict_deflated.pth", compression=zipfile.ZIP_DEFLATED)
    assert list(torch.load(OUT / "state_dict_zip64.pth").keys()) == list(sd.keys())
    for name in ("state_dict_zip64.pth", "state_dict_deflated.pth"):
        expected[name] = expected["state_dict.pth"]

    # The shared SAM fixture as torch reads it: per tensor, sha256 of its contiguous bytes and a sum.
    if SAM.exists():
        sam = torch.load(SAM)
        expected["tiny_sam.pth"] = {
            "count": len(sam),
            "tensors": {
                k: {
                    "shape": list(t.shape),
                    "sha256": hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest(),
                    "sum": float(t.double().sum()),
                }
                for k, t in sam.items()
            },
        }
    else:
        sys.exit(f"missing {SAM}")
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    # keep `prettier --check .` (npm run lint) clean
    subprocess.run(["npx", "prettier", "--write", str(OUT / "expected.json")], cwd=ROOT, check=False)
    for p in sorted(OUT.rglob("*")):
        print(f"{p.stat().st_size:8d}  {p.name}")


if __name__ == "__main__":
    main()
