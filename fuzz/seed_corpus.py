#!/usr/bin/env python3
"""Rebuilds corpus/render/ from ../examples/*/ in the input layout of src/lib.rs:
a mode byte, then up to 4 files separated by 0x00 (aimc.yaml / aim.lock.yaml first when the
example has them; surplus files are joined as one multi-document YAML stream)."""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
OUT = HERE / "corpus" / "render"
SEP, MAX_FILES = b"\x00", 4


def seed(files, has_config, has_lock):
    mode = {(False, False): 0, (True, False): 1, (False, True): 2, (True, True): 3}[(has_config, has_lock)]
    if len(files) > MAX_FILES:
        files = files[: MAX_FILES - 1] + [b"\n---\n".join(f.rstrip(b"\n") for f in files[MAX_FILES - 1 :]) + b"\n"]
    return bytes([mode]) + SEP.join(files)


OUT.mkdir(parents=True, exist_ok=True)
for ex in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
    ymls = sorted(p for p in ex.rglob("*.yaml") if p.is_file())
    config = [p for p in ymls if p.relative_to(ex).as_posix() == "aimc.yaml"]
    lock = [p for p in ymls if p.relative_to(ex).as_posix() == "aim.lock.yaml"]
    rest = [p for p in ymls if p not in config and p not in lock]
    files = [p.read_bytes() for p in config + lock + rest]
    (OUT / f"example-{ex.name}").write_bytes(seed(files, bool(config), bool(lock)))
    print(f"example-{ex.name}: {len(ymls)} files")
