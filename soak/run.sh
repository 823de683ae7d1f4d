#!/usr/bin/env bash
# npm run soak: long tests that do not belong in npm test. Builds the production server, then runs
# each soak (figures printed; a missed target exits non-zero). SOAK_SKIP_BUILD=1 reuses .next.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SOAK_SKIP_BUILD:-0}" != 1 ]; then npx next build --turbopack >/dev/null; fi
npx tsx soak/uploads.ts
