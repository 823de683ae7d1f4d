#!/usr/bin/env bash
# npm run bench: build the production server, then run each benchmark (figures and ratios
# against baselines measured in the same run). dcmtk makes the JPEG Lossless series and Orthanc
# is the image-rendering baseline; both are Debian packages, installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v dcmcjpeg >/dev/null || missing+=(dcmtk)
command -v Orthanc >/dev/null || missing+=(orthanc)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || echo "[bench] could not install ${missing[*]}; those comparisons are skipped"
fi
npx next build --turbopack >/dev/null
npx tsx bench/upload.ts
npx tsx bench/imaging.ts
