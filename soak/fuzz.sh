#!/usr/bin/env bash
# npm run fuzz: build the production server (FUZZ_SKIP_BUILD=1 reuses .next), then upload
# 5,000 DICOM and 2,000 NIfTI hostile variants of the dev corpus to it (see soak/fuzz.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${FUZZ_SKIP_BUILD:-}" != 1 ]; then npx next build --turbopack >/dev/null; fi
exec npx tsx soak/fuzz.ts
