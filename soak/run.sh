#!/usr/bin/env bash
# npm run soak: build the production server, then run the long fault scenarios (issue 8: uploads
# interrupted by aborts, resets and server kills; PostgreSQL down for 30 s and at boot; disk full).
# They start their own PostgreSQL cluster (SOAK_FAULT_PG_PORT, default 5441) and servers (SOAK_FAULT_PORT,
# default 3240-3242); the shared PostgreSQL is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SOAK_SKIP_BUILD:-}" != 1 ]; then npx next build --turbopack >/dev/null; fi
npx tsx soak/faults.ts
