#!/usr/bin/env bash
# npm run soak: long tests that do not belong in npm test. Builds the production server, then runs
# each soak (figures printed; a missed target exits non-zero). SOAK_SKIP_BUILD=1 reuses .next.
# - soak/uploads.ts: 10 × 500 MB uploads under browsing load (peak RSS, API latency)
# - soak/faults.ts: uploads interrupted by aborts, resets and server kills; PostgreSQL down for 30 s
#   and at boot; disk full. It starts its own PostgreSQL cluster (SOAK_FAULT_PG_PORT, default 5441)
#   and servers (SOAK_FAULT_PORT, default 3240-3242); the shared PostgreSQL is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SOAK_SKIP_BUILD:-0}" != 1 ]; then npx next build --turbopack >/dev/null; fi
status=0
npx tsx soak/uploads.ts || status=1
npx tsx soak/faults.ts || status=1
exit $status
