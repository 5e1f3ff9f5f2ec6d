#!/bin/sh
# `fraudstream` of a release packed with `deno task release --deno-run`: no compiled executable,
# main.ts run by the deno shipped beside this script, from the sources and node_modules shipped
# in app/, offline (--cached-only) and with the lockfile as packed (--frozen).
here=$(dirname "$(readlink -f "$0")")
# The agent's unit makes /opt read-only and gives it no writable home: deno's cache of
# transpiled modules goes to the (private) temp directory instead.
DENO_DIR=${DENO_DIR:-${TMPDIR:-/tmp}/fraudstream-deno}
export DENO_DIR
DENO_NO_UPDATE_CHECK=1
export DENO_NO_UPDATE_CHECK
exec "$here/deno" run -A --cached-only --frozen --config "$here/app/deno.json" \
  "$here/app/main.ts" "$@"
