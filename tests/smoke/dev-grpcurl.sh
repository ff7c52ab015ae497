#!/usr/bin/env bash
# Smoke test of `pingan dev` with a client we did not write (grpcurl 1.8, reflection v1alpha):
# every service is listed by reflection and answers health SERVING under its full name; SIGTERM
# stops the process cleanly. Prints "smoke: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

PINGAN=${PINGAN:-target/debug/pingan}
GRPCURL=${GRPCURL:-$PWD/.tools/grpcurl/bin/grpcurl}
# The pip wrapper imports its package from the --target folder above bin/.
export PYTHONPATH="$(dirname "$(dirname "$GRPCURL")")${PYTHONPATH:+:$PYTHONPATH}"
SERVICES=(
  pingan.intake.v1.IntakeService
  pingan.triage.v1.TriageService
  pingan.dispatch.v1.DispatchService
  pingan.grid.v1.GridRegistryService
  pingan.followup.v1.CaseFollowupService
  pingan.audit.v1.ComplaintsAuditService
)
passed=0 failed=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}

work=$(mktemp -d)
trap 'kill -TERM "$pid" 2>/dev/null; rm -rf "$work"' EXIT
"$PINGAN" dev --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --data-dir "$work/data" >"$work/out.log" 2>&1 &
pid=$!

endpoint=""
for _ in $(seq 1 600); do
  endpoint=$(sed -n 's/^ *gRPC endpoint *//p' "$work/out.log" | head -n 1)
  [ -n "$endpoint" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$endpoint" ]; then
  echo "pingan dev did not print its endpoint:"; cat "$work/out.log"
  echo "smoke: 0 passed, 1 failed"; exit 1
fi
echo "pingan dev is up on $endpoint"

listed=$("$GRPCURL" -plaintext "$endpoint" list 2>&1)
for service in "${SERVICES[@]}"; do
  check "reflection lists $service" grep -qx "$service" <<<"$listed"
  status=$("$GRPCURL" -plaintext -d "{\"service\":\"$service\"}" "$endpoint" grpc.health.v1.Health/Check 2>&1)
  check "health $service SERVING" grep -q '"SERVING"' <<<"$status"
done
described=$("$GRPCURL" -plaintext "$endpoint" describe pingan.intake.v1.ReportCallRequest 2>&1)
check "reflection describes ReportCallRequest" grep -q "source_call_id" <<<"$described"

kill -TERM "$pid"
exited=1
for _ in $(seq 1 300); do
  if ! kill -0 "$pid" 2>/dev/null; then exited=0; break; fi
  sleep 0.1
done
check "stops on SIGTERM" test "$exited" -eq 0
if [ "$exited" -eq 0 ]; then
  wait "$pid"; code=$?
  check "exit code 0 after SIGTERM" test "$code" -eq 0
fi

echo "smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
