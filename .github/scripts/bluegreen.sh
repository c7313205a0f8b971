#!/usr/bin/env bash
# ---------------------------------------------------------------------------------------------------------
# PLACEHOLDER blue-green driver for .github/workflows/cd-prod.yml. REPLACE the bodies of `deploy`, `url`
# and `switch` with your platform's commands (kubectl set image / argo rollouts, a load balancer's target
# groups, a DNS weight, ...). The workflow's control flow does not change: deploy green, verify it idle,
# switch, verify it under traffic, and switch back to blue on the deploy verdict's rollback.
#
# As shipped it simulates both colours on the runner: each colour is the example service (the installed
# inventory-example wheel) on its own loopback port, and the "router" is a file naming the live colour.
#
#   bluegreen.sh deploy COLOUR     start COLOUR (blue: 127.0.0.1:8001, green: 127.0.0.1:8002)
#   bluegreen.sh url COLOUR        the base URL the checks use for COLOUR
#   bluegreen.sh switch COLOUR     point production traffic at COLOUR
#   bluegreen.sh active            the colour production traffic goes to
# ---------------------------------------------------------------------------------------------------------
set -euo pipefail

state="${BLUEGREEN_STATE_DIR:-${RUNNER_TEMP:-/tmp}/bluegreen}"
mkdir -p "$state"

colour_port() {
  case "$1" in
    blue) echo 8001 ;;
    green) echo 8002 ;;
    *) echo "bluegreen.sh: unknown colour '$1' (blue or green)" >&2; exit 2 ;;
  esac
}

command="${1:-}"
colour="${2:-}"
case "$command" in
  deploy)
    port="$(colour_port "$colour")"
    # PLACEHOLDER: roll the new version out to $colour here.
    INVENTORY_HOST=127.0.0.1 INVENTORY_PORT="$port" nohup inventory > "$state/$colour.log" 2>&1 &
    echo "$!" > "$state/$colour.pid"
    for _ in $(seq 50); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "deployed $colour on 127.0.0.1:$port (the deploy session's health checks judge it)"
        exit 0
      fi
      sleep 0.2
    done
    echo "$colour is not listening on 127.0.0.1:$port yet; the health checks will wait and judge" >&2
    ;;
  url)
    # PLACEHOLDER: the address of $colour that the checks reach (a real host also needs STILLME_ALLOW_REMOTE=1).
    echo "http://127.0.0.1:$(colour_port "$colour")"
    ;;
  switch)
    colour_port "$colour" > /dev/null
    # PLACEHOLDER: point the router / load balancer at $colour here.
    echo "$colour" > "$state/active"
    echo "production traffic now goes to $colour"
    ;;
  active)
    cat "$state/active" 2>/dev/null || echo blue
    ;;
  *)
    echo "usage: bluegreen.sh deploy|url|switch COLOUR, or bluegreen.sh active" >&2
    exit 2
    ;;
esac
