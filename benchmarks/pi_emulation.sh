#!/usr/bin/env bash
# The edge claims, proved under emulation: digitgen on Raspberry Pi OS's two Debian bookworm
# flavours, run by qemu-user in a debootstrapped root, against this x86-64 machine's output.
#
#   arm64 (64-bit Pi OS), Pi 4 (cortex-a72) and Pi 5 (cortex-a76) CPU models: PyPI's aarch64
#     wheels (onnxruntime, numpy, pillow, ai-edge-litert); backends onnx, tflite and numpy.
#   armhf (32-bit Pi OS), Pi 2/3 class CPU (cortex-a7): Debian's python3-numpy, python3-pil and
#     python3-click, then the digitgen wheel into a venv with --system-site-packages, as the README
#     says; PyPI has no onnxruntime for armv7, so pip must not ask for it and the default is numpy.
#
# Each README command is run in each, and its output compared with x86-64's: PNGs byte for byte,
# arrays pixel by pixel (how many differ, by how many grey levels). Needs root, a Debian or Ubuntu
# host, and the network to reach Debian's mirror and PyPI; takes 20-40 minutes (the Debian roots
# are kept in $WORK for the next run). Not run in CI. Usage: sudo benchmarks/pi_emulation.sh
# ONLY="armhf" (any of x86 arm64 armhf) reruns those parts; the comparison reads every output in
# $WORK/out, the other parts' from their last run.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/var/tmp/digitgen-emulation}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
N_ARRAY=${N_ARRAY:-256}  # digits in the array comparisons (emulated reference BLAS is slow)
ONLY=${ONLY:-x86 arm64 armhf}
part() { [[ " $ONLY " == *" $1 "* ]]; }
mkdir -p "$WORK"
cd "$WORK"

export DEBIAN_FRONTEND=noninteractive
command -v qemu-arm-static >/dev/null && command -v debootstrap >/dev/null \
  || apt-get install -y -qq qemu-user-static binfmt-support debootstrap
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-arm >/dev/null 2>&1 || true
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

# The commands of the README, as (name, arguments); each writes $OUT/<name>.<ext>.
COMMANDS=(
  "seed42.png|--seed 42 --n 16 --out OUT/seed42.png"
  "sevens.png|--digit 7 --n 16 --seed 1 --out OUT/sevens.png"
  "year.png|--number 2026 --seed 4 --scale 3 --out OUT/year.png"
  "digits.npy|--seed 42 --n $N_ARRAY --format npy --out OUT/digits.npy"
  "dataset.npz|dataset --n $N_ARRAY --test-n 0 --seed 1 --out OUT/dataset.npz"
)

run_commands() {  # run_commands <label> <out folder here> <the same folder as the command sees it> <digitgen...>
  local label=$1 out=$2 seen=$3; shift 3
  rm -rf "$out" && mkdir -p "$out"  # digitgen replaces no file: each run starts empty
  for entry in "${COMMANDS[@]}"; do
    local args=${entry#*|}
    # shellcheck disable=SC2086
    "$@" ${args//OUT/$seen} >/dev/null 2>"$out/stderr.txt" || { echo "$label: digitgen ${args//OUT/$seen} failed:"; cat "$out/stderr.txt"; exit 1; }
    cat "$out/stderr.txt" >> "$out/stderr.all"
  done
  if [ -s "$out/stderr.all" ]; then  # reported, not fatal: an emulator can provoke warnings a Pi would not
    echo "$label: ${#COMMANDS[@]} commands; stderr: $(sort -u "$out/stderr.all" | head -3 | tr '\n' '|')"
  else
    echo "$label: ${#COMMANDS[@]} commands, nothing on stderr"
  fi
  rm -f "$out/stderr.txt" "$out/stderr.all"
}

# --- x86-64 reference: the wheel in a venv of its own
python3 -m venv "$WORK/x86-venv"
"$WORK/x86-venv/bin/pip" install -q --upgrade pip build
rm -rf "$WORK/dist" && "$WORK/x86-venv/bin/python" -m build -q --wheel --outdir "$WORK/dist" "$REPO" >/dev/null
WHEEL=$(ls "$WORK"/dist/*.whl)
"$WORK/x86-venv/bin/pip" install -q --force-reinstall --no-deps "$WHEEL"
"$WORK/x86-venv/bin/pip" install -q "$WHEEL" 'ai-edge-litert>=2.3'
part x86 && for backend in onnx tflite numpy; do
  DIGITGEN_CACHE_DIR=off run_commands "x86-64 $backend" "$WORK/out/x86-64-$backend" "$WORK/out/x86-64-$backend" \
    "$WORK/x86-venv/bin/digitgen" --backend "$backend"
done

make_root() {  # make_root <arch> <folder> <packages>
  local arch=$1 root=$2 packages=$3 qemu
  qemu=$([ "$arch" = arm64 ] && echo aarch64 || echo arm)
  if [ ! -x "$root/usr/bin/python3" ]; then
    rm -rf "$root"
    debootstrap --arch="$arch" --variant=minbase --include="$packages" bookworm "$root" "$MIRROR" >/dev/null
  fi
  # binfmt without the F flag looks for its interpreter inside the root
  mkdir -p "$root/usr/libexec/qemu-binfmt"
  cp /usr/bin/qemu-$qemu-static "$root/usr/libexec/qemu-binfmt/$qemu-binfmt-P"
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/sys" || mount -t sysfs sysfs "$root/sys"  # onnxruntime's cpuinfo reads the CPU lists
}

# An ARM /proc/cpuinfo: under qemu-user, onnxruntime and LiteRT read the host's x86 one and crash
# (an emulator artefact; a Pi has its own).
arm_cpuinfo() {  # arm_cpuinfo <part number> <features>
  local core
  for core in $(seq 0 $(($(nproc) - 1))); do  # as many as sysfs lists (the host's)
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 3\n\n' "$core" "$2" "$1"
  done
}

cleanup() {
  for root in "$WORK/arm64" "$WORK/armhf"; do
    mountpoint -q "$root/proc/cpuinfo" 2>/dev/null && umount "$root/proc/cpuinfo"
    mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
    mountpoint -q "$root/sys" 2>/dev/null && umount "$root/sys"
  done
  return 0
}
trap cleanup EXIT

# --- arm64: PyPI's aarch64 wheels, fetched here (the root's pip would be emulated: slow)
if part arm64; then
make_root arm64 "$WORK/arm64" python3,python3-venv,ca-certificates
rm -rf "$WORK/arm64/wheels" && mkdir -p "$WORK/arm64/wheels"
PLATFORMS=(--platform manylinux2014_aarch64)  # every manylinux tag bookworm's glibc 2.36 accepts
for minor in $(seq 17 36); do PLATFORMS+=(--platform "manylinux_2_${minor}_aarch64"); done
"$WORK/x86-venv/bin/pip" download -q --only-binary=:all: --python-version 3.11 --implementation cp \
  "${PLATFORMS[@]}" -d "$WORK/arm64/wheels" "$WHEEL" 'ai-edge-litert>=2.3'
cp "$WHEEL" "$WORK/arm64/wheels/"
chroot "$WORK/arm64" /bin/sh -c "rm -rf /venv && python3 -m venv /venv && /venv/bin/pip install -q --no-index --find-links /wheels /wheels/$(basename "$WHEEL") ai-edge-litert"
for pi in "pi4 cortex-a72 0xd08 fp asimd evtstrm crc32 cpuid" "pi5 cortex-a76 0xd0b fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"; do
  read -r name cpu part features <<<"$pi"
  arm_cpuinfo "$part" "$features" > "$WORK/cpuinfo-$name"
  mountpoint -q "$WORK/arm64/proc/cpuinfo" && umount "$WORK/arm64/proc/cpuinfo"
  mount --bind "$WORK/cpuinfo-$name" "$WORK/arm64/proc/cpuinfo"
  for backend in onnx tflite numpy; do
    rm -rf "$WORK/arm64/out"
    QEMU_CPU=$cpu DIGITGEN_CACHE_DIR=off run_commands "arm64 $name $backend" "$WORK/arm64/out" /out \
      chroot "$WORK/arm64" /venv/bin/digitgen --backend "$backend"
    rm -rf "$WORK/out/arm64-$name-$backend" && mv "$WORK/arm64/out" "$WORK/out/arm64-$name-$backend"
  done
done
fi

# --- armhf: Debian's numpy, Pillow and click; the wheel into a venv that sees them, no network
if part armhf; then
make_root armhf "$WORK/armhf" python3,python3-venv,python3-numpy,python3-pil,python3-click
cp "$WHEEL" "$WORK/armhf/"
QEMU_CPU=cortex-a7 chroot "$WORK/armhf" /bin/sh -c "rm -rf /venv && python3 -m venv --system-site-packages /venv && /venv/bin/pip install -q --no-index /$(basename "$WHEEL")"
rm -rf "$WORK/armhf/out"
QEMU_CPU=cortex-a7 DIGITGEN_CACHE_DIR=off run_commands "armhf cortex-a7 default backend" "$WORK/armhf/out" /out \
  chroot "$WORK/armhf" /venv/bin/digitgen
rm -rf "$WORK/out/armhf-a7-default" && mv "$WORK/armhf/out" "$WORK/out/armhf-a7-default"
QEMU_CPU=cortex-a7 chroot "$WORK/armhf" /venv/bin/digitgen info | sed -n 's/^backend/armhf backend/p'
fi

# --- the comparison, against x86-64's onnx output (the numpy backend stands in for it) or, for
# tflite, against x86-64's tflite output
"$WORK/x86-venv/bin/python" - "$WORK/out" <<'EOF'
import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])
print(f"{'where':28s} {'output':12s} result")
for folder in sorted(out.iterdir()):
    if folder.name.startswith("x86-64") and folder.name != "x86-64-numpy":
        continue
    reference = out / ("x86-64-tflite" if folder.name.endswith("tflite") else "x86-64-onnx")
    for mine in sorted(folder.glob("*.*")):
        if mine.suffix == ".txt":
            continue
        theirs = reference / mine.name
        if mine.read_bytes() == theirs.read_bytes():
            verdict = "byte-identical"
        elif mine.suffix == ".png":
            verdict = "PNG DIFFERS"
        else:
            load = (lambda p: np.load(p)) if mine.suffix == ".npy" else (lambda p: np.load(p)["x_train"])
            a, b = load(mine).astype(int), load(theirs).astype(int)
            levels = np.abs(a - b)
            verdict = (f"{int((levels > 0).sum())} of {levels.size} pixels differ, "
                       f"by at most {int(levels.max())} grey level(s)")
        print(f"{folder.name:28s} {mine.name:12s} {verdict}")
EOF
