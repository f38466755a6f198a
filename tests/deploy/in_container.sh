#!/usr/bin/env bash
# Deployment test only (tests/deploy): the steps run inside the throw-away Debian 12 container
# by kiosk-deploy-test.service. Results go to /results, bound from the host.
set -uo pipefail

RESULTS=/results
STATE=/var/lib/kiosk-deploy-test
SRC=/root/src
URL=http://127.0.0.1:8080
WAIT_S=${KIOSK_DEPLOY_WAIT_S:-90}
INSTALL_TIMEOUT_S=${KIOSK_DEPLOY_INSTALL_TIMEOUT_S:-900}

say() { printf 'kiosk-deploy-test: %s\n' "$*"; }

first_boot() {
    local start rc
    say "running deploy/install-pi.sh (at most ${INSTALL_TIMEOUT_S}s)"
    start=$(date +%s)
    # As the README says: root, from the checkout.
    (cd "$SRC" && timeout --kill-after=10 "$INSTALL_TIMEOUT_S" deploy/install-pi.sh) \
        >"$RESULTS/install.log" 2>&1
    rc=$?
    echo "$(($(date +%s) - start))" >"$RESULTS/install.seconds"
    echo "$rc" >"$RESULTS/install.rc"
    say "installer exit status $rc after $(cat "$RESULTS/install.seconds")s"
    tail -n 5 "$RESULTS/install.log"
    mkdir -p "$STATE"
    touch "$STATE/installed"
    journalctl -b --no-pager -o short-monotonic >"$RESULTS/journal-install-boot.txt" 2>&1
    if [[ $rc -eq 0 ]]; then
        say "rebooting, as the installer asks"
        systemctl reboot
    else
        systemctl poweroff
    fi
}

second_boot() {
    local code
    say "second boot: waiting ${WAIT_S}s with the kiosk running"
    sleep "$WAIT_S"
    systemctl show kiosk.service -p LoadState -p ActiveState -p SubState -p NRestarts \
        -p Result -p ExecMainStatus -p ActiveEnterTimestampMonotonic \
        >"$RESULTS/kiosk.show" 2>&1
    systemctl is-active kiosk.service >"$RESULTS/kiosk.is-active" 2>&1
    code=$(curl -sS --max-time 10 -o "$RESULTS/healthz.json" -w '%{http_code}' "$URL/healthz" 2>&1)
    echo "$code" >"$RESULTS/healthz.code"
    curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}\n' "$URL/officer" \
        >"$RESULTS/officer.txt" 2>&1
    # A fresh install has no administrator (/officer leads to /setup): add one as the README
    # says, then /officer must lead to the login page.
    head -c 18 /dev/urandom | base64 |
        runuser -u kiosk -- sh -c 'cd /var/lib/kiosk && exec /opt/kiosk/.venv/bin/kiosk users add \
            deploy-test --role admin --password-stdin --config /etc/kiosk/kiosk.toml' \
            >"$RESULTS/users-add.txt" 2>&1
    curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}\n' "$URL/officer" \
        >"$RESULTS/officer-after-admin.txt" 2>&1
    # The camera worker runs under the system Python (apt's numpy), the venv has its own.
    /usr/bin/python3 -I -c 'import numpy; print(numpy.__version__)' >"$RESULTS/numpy-system.txt" 2>&1
    /opt/kiosk/.venv/bin/python -c 'import numpy; print(numpy.__version__)' \
        >"$RESULTS/numpy-venv.txt" 2>&1
    # The Pi camera helper as the kiosk starts it: system Python, isolated from the venv. Here
    # python3-picamera2 is an empty placeholder, so it must report an import error, not crash.
    worker=$(/opt/kiosk/.venv/bin/python -c 'from drivers.picamera import WORKER; print(WORKER)')
    echo "$worker" >"$RESULTS/worker.path"
    runuser -u kiosk -- /usr/bin/python3 -I -s "$worker" --camera 0 </dev/null \
        >"$RESULTS/worker.out" 2>"$RESULTS/worker.err"
    echo "$?" >"$RESULTS/worker.rc"
    systemctl show -p RuntimeWatchdogUSec >"$RESULTS/manager.show" 2>&1
    cat /etc/systemd/system.conf.d/*.conf >"$RESULTS/system.conf.d.txt" 2>&1
    systemd-analyze verify /etc/systemd/system/kiosk.service >"$RESULTS/verify.txt" 2>&1
    echo "$?" >>"$RESULTS/verify.txt"
    systemctl cat kiosk.service >"$RESULTS/kiosk.cat" 2>&1
    systemctl list-units --all --no-pager 'kiosk*' >"$RESULTS/units.txt" 2>&1
    journalctl -u kiosk.service -b --no-pager -o short-monotonic >"$RESULTS/journal-kiosk.txt" 2>&1
    journalctl -b --no-pager -o short-monotonic >"$RESULTS/journal-boot.txt" 2>&1
    say "collected; powering off"
    touch "$RESULTS/done"
    systemctl poweroff
}

if [[ -e $STATE/installed ]]; then
    second_boot
else
    first_boot
fi
