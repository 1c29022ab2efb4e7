#!/usr/bin/env bash
# Refreshes docs/gallery/ from the figures that `bash scripts/main.sh` wrote to
# out/figures/, stored as small palette PNGs so the repository stays light.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d out/figures ] || { echo "run bash scripts/main.sh first" >&2; exit 2; }
/usr/bin/python3 - <<'PY'
import pathlib
from PIL import Image
out = pathlib.Path("docs/gallery")
out.mkdir(parents=True, exist_ok=True)
for f in sorted(pathlib.Path("out/figures").glob("*.png")):
    im = Image.open(f).convert("RGB")
    im.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out / f.name, optimize=True)
    print(f"{f.name}: {(out / f.name).stat().st_size // 1024} KiB")
PY
