import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../support/processes';

/**
 * Test stand-in for systemctl: what shipshape.service (reload-or-restart) and shipshape@.service (start, stop,
 * restart, is-active per slot) do, since there is no systemd to ask here. The app runs as the units run it:
 * WorkingDirectory, EnvironmentFile(s), node on the release's dist/main.js.
 */
const STUB_SYSTEMCTL = `#!/usr/bin/env bash
set -euo pipefail
verb="$1" unit=""
for arg in "\${@:2}"; do case "$arg" in -*) ;; *) unit="\${arg%.service}" ;; esac; done
pid_of() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }
stop_pid() {
  local pid; pid="$(pid_of "$1")" || return 0
  kill -TERM "$pid"
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid"
}
case "$unit" in
  shipshape)
    [ "$verb" = reload-or-restart ] || { echo "stub systemctl: $verb $unit is not stubbed" >&2; exit 1; }
    if pid="$(pid_of "$STUB_PIDFILE")"; then
      kill -HUP "$pid"; echo sighup >>"$STUB_PIDFILE.reloads"; exit 0
    fi
    cd "$SHIPSHAPE_ROOT/current"
    set -a; . "$SHIPSHAPE_ENV_FILE"; set +a
    setsid node "$SHIPSHAPE_ROOT/current/dist/main.js" >>"$STUB_LOG" 2>&1 </dev/null &
    echo $! >"$STUB_PIDFILE" ;;
  shipshape@*)
    slot="\${unit#shipshape@}" pidfile="$STUB_PIDFILE.$slot"
    case "$verb" in
      is-active) pid_of "$pidfile" >/dev/null || exit 3 ;;
      stop) stop_pid "$pidfile" ;;
      start | restart)
        [ "$verb" = start ] && pid_of "$pidfile" >/dev/null && exit 0
        stop_pid "$pidfile"
        cd "$SHIPSHAPE_ROOT/slots/$slot"
        set -a; . "$SHIPSHAPE_ENV_FILE"; . "$SHIPSHAPE_SLOT_ENV_DIR/slot-$slot.env"; set +a
        setsid node "$SHIPSHAPE_ROOT/slots/$slot/dist/main.js" >>"$STUB_LOG" 2>&1 </dev/null &
        echo $! >"$pidfile" ;;
      *) echo "stub systemctl: $verb $unit is not stubbed" >&2; exit 1 ;;
    esac ;;
  *) echo "stub systemctl: unknown unit $unit" >&2; exit 1 ;;
esac
`;

export function installSystemctlStub(bin: string): void {
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'systemctl'), STUB_SYSTEMCTL);
  chmodSync(join(bin, 'systemctl'), 0o755);
}

/**
 * A built release in ROOT/releases/NAME as deploy.sh leaves one, made from this checkout's build (dist/,
 * migrations, package.json at SEMVER, node_modules linked), so deploy.sh reuses it instead of building.
 * `fault` is a drill fixture that the release's dist/main.js loads first: a bad release without fault code in src/.
 */
export function stageRelease(root: string, name: string, semver: string, fault?: string): string {
  const release = join(root, 'releases', name);
  if (existsSync(join(release, '.release'))) return release;
  mkdirSync(release, { recursive: true });
  cpSync(join(REPO, 'dist'), join(release, 'dist'), { recursive: true });
  cpSync(join(REPO, 'migrations'), join(release, 'migrations'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(release, 'node_modules'));
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
  writeFileSync(join(release, 'package.json'), `${JSON.stringify({ ...pkg, version: semver }, null, 2)}\n`);
  if (fault) {
    const main = join(release, 'dist', 'main.js');
    const fixture = join(REPO, 'test', 'deploy-safety', 'fixtures', fault);
    writeFileSync(main, `require(${JSON.stringify(fixture)});\n${readFileSync(main, 'utf8')}`);
  }
  writeFileSync(
    join(release, '.release'),
    `version=${name}\ncommit=drill\nbuilt=${new Date().toISOString()}\n`,
  );
  return release;
}
