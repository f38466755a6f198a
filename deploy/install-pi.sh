#!/usr/bin/env bash
# Install the gate kiosk on a Raspberry Pi (Raspberry Pi OS Bookworm; Lite recommended):
#
#     sudo deploy/install-pi.sh
#
# Safe to run again: an upgrade reinstalls the software and keeps the configuration
# (/etc/kiosk/kiosk.toml) and the data (/var/lib/kiosk). See README.md, section "Install on a Raspberry Pi".
set -euo pipefail

PREFIX=/opt/kiosk
VENV="$PREFIX/.venv"
DATA=/var/lib/kiosk
UI_HOME=/var/lib/kiosk-ui
ETC=/etc/kiosk
CONFIG="$ETC/kiosk.toml"
UNIT_DIR=/etc/systemd/system
SYSTEM_CONF_DIR=/etc/systemd/system.conf.d
SIGNING_KEY="$ETC/credentials/booking-signing.pem"
# The hardware watchdog (bcm2835: at most ~15 s): systemd pings it; a hung Pi reboots.
WATCHDOG_SEC=15s
POLICY_DIR=/etc/chromium/policies/managed
I2C_HZ=50000
# python3-picamera2 and python3-numpy come from apt: the Pi camera runs under the system
# Python (/usr/bin/python3) with Bookworm's numpy, apart from the venv's numpy 2.
APT_PACKAGES=(python3-venv python3-picamera2 python3-numpy python3-lgpio i2c-tools v4l-utils
    chromium cage curl nginx)

log() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Run a command as the service user from its (writable) data folder.
as_kiosk() { (cd "$DATA" && runuser -u kiosk -- "$@"); }

boot_config() {
    if [[ -f /boot/firmware/config.txt ]]; then
        echo /boot/firmware/config.txt
    elif [[ -f /boot/config.txt ]]; then
        echo /boot/config.txt
    else
        die "no /boot/firmware/config.txt: is this Raspberry Pi OS?"
    fi
}

# Enable the I2C bus at $I2C_HZ in config file $1; a second run changes nothing.
set_i2c_config() {
    local file=$1 missing=()
    if ! grep -Eq '^[[:space:]]*dtparam=([^#]*,)?i2c_arm=on' "$file"; then
        missing+=("dtparam=i2c_arm=on")
    fi
    if grep -Eq '^[[:space:]]*dtparam=([^#]*,)?i2c_arm_baudrate=' "$file"; then
        sed -i -E "/^[[:space:]]*dtparam=/ s/i2c_arm_baudrate=[0-9]+/i2c_arm_baudrate=$I2C_HZ/" "$file"
    else
        missing+=("dtparam=i2c_arm_baudrate=$I2C_HZ")
    fi
    if [[ ${#missing[@]} -gt 0 ]]; then
        printf '\n[all]\n# gate kiosk: I2C for the MLX90614 thermometer (10-100 kHz only)\n' >>"$file"
        printf '%s\n' "${missing[@]}" >>"$file"
    fi
}

install_packages() {
    log "installing system packages: ${APT_PACKAGES[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${APT_PACKAGES[@]}"
    [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium missing after installing chromium"
}

create_users() {
    local group
    # kiosk.service names these groups (SupplementaryGroups=): Raspberry Pi OS has them, a
    # plain Debian may lack gpio or i2c, and a missing group stops the unit (216/GROUP).
    for group in gpio i2c video; do
        getent group "$group" >/dev/null || groupadd --system "$group"
    done
    if ! id -u kiosk >/dev/null 2>&1; then
        log "creating user kiosk (the gate service)"
        useradd --system --user-group --home-dir "$DATA" --no-create-home \
            --shell /usr/sbin/nologin kiosk
    fi
    for group in gpio i2c video; do
        if getent group "$group" >/dev/null; then usermod -aG "$group" kiosk; fi
    done
    if ! id -u kiosk-ui >/dev/null 2>&1; then
        log "creating user kiosk-ui (the screen)"
        useradd --system --user-group --home-dir "$UI_HOME" --create-home \
            --shell /usr/sbin/nologin kiosk-ui
    fi
    for group in video render input; do
        if getent group "$group" >/dev/null; then usermod -aG "$group" kiosk-ui; fi
    done
}

install_software() {
    local src=$1
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "Python 3.11 or newer is needed (Raspberry Pi OS Bookworm has it)"
    install -d -m 0755 "$PREFIX" "$PREFIX/docs"
    # --system-site-packages: picamera2 and lgpio come from apt, not from PyPI.
    if ! grep -qs '^include-system-site-packages = true' "$VENV/pyvenv.cfg"; then
        log "creating $VENV"
        python3 -m venv --system-site-packages --clear "$VENV"
    fi
    log "installing the kiosk from $src"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # --only-binary: dlib comes as the prebuilt dlib-bin wheel (aarch64: 64-bit Raspberry Pi OS);
    # compiling dlib on a Pi takes hours and runs out of memory, so it is never attempted.
    "$VENV/bin/python" -m pip install --quiet --upgrade --only-binary dlib,dlib-bin "$src"
    install -m 0644 "$src/README.md" "$PREFIX/docs/README.md"
    "$VENV/bin/python" -c 'import lgpio' 2>/dev/null ||
        warn "lgpio is not importable from $VENV: GPIO will not work"
    "$VENV/bin/python" -c 'from kiosk.faces.engine import load_engine; load_engine()' 2>/dev/null ||
        warn "the face stack does not load (32-bit OS?): staff face attendance stays unavailable"
    # The Pi camera's own process runs under the system Python, never the venv's packages.
    /usr/bin/python3 -I -c 'import numpy, picamera2' 2>/dev/null ||
        warn "picamera2 does not import under /usr/bin/python3: a Pi camera (CSI) will not work"
}

# The hardware watchdog: systemd pings /dev/watchdog; if the Pi hangs, it reboots.
set_watchdog() {
    local file="$SYSTEM_CONF_DIR/kiosk-watchdog.conf" want
    want=$(printf '# gate kiosk (deploy/install-pi.sh): a hung Pi reboots\n[Manager]\nRuntimeWatchdogSec=%s\n' \
        "$WATCHDOG_SEC")
    install -d -m 0755 "$SYSTEM_CONF_DIR"
    if [[ ! -f $file || $(cat "$file") != "$want" ]]; then
        log "hardware watchdog: RuntimeWatchdogSec=$WATCHDOG_SEC in $file"
        printf '%s\n' "$want" >"$file"
        systemctl daemon-reexec
    fi
}

enable_i2c() {
    local file before
    file=$(boot_config)
    before=$(sha256sum <"$file")
    if command -v raspi-config >/dev/null; then
        raspi-config nonint do_i2c 0
    else
        printf 'i2c-dev\n' >/etc/modules-load.d/kiosk-i2c.conf
    fi
    set_i2c_config "$file"
    if [[ $(sha256sum <"$file") != "$before" ]]; then
        log "I2C enabled at $I2C_HZ Hz in $file (needs a reboot)"
        REBOOT_NEEDED=1
    fi
}

create_config() {
    install -d -m 0750 -o root -g kiosk "$ETC"
    install -d -m 0700 -o root -g root "$ETC/credentials"
    install -d -m 0750 -o kiosk -g kiosk "$DATA"
    if [[ ! -f $CONFIG ]]; then
        if [[ ! -f $DATA/kiosk.toml ]]; then
            log "creating the data folder $DATA"
            as_kiosk "$VENV/bin/kiosk" init "$DATA"
        fi
        # One configuration, in /etc (read-only to the service); the data stays in $DATA.
        sed -e "s|^data_dir = .*\$|data_dir = \"$DATA\"|" -e 's|^mode = "sim"$|mode = "real"|' \
            "$DATA/kiosk.toml" >"$CONFIG.new"
        chown root:kiosk "$CONFIG.new"
        chmod 0640 "$CONFIG.new"
        mv "$CONFIG.new" "$CONFIG"
        rm -f "$DATA/kiosk.toml"
        log "wrote $CONFIG (hardware.mode = \"real\"): set the office, gate and cap there"
    fi
    as_kiosk "$VENV/bin/kiosk" check-config "$CONFIG"
    as_kiosk "$VENV/bin/kiosk" db upgrade --config "$CONFIG"
}

install_units() {
    local src=$1
    install -m 0644 "$src/systemd/kiosk.service" "$UNIT_DIR/kiosk.service"
    # The booking signing key only where codes are issued: a gate has no key, and a
    # LoadCredential= naming a missing file stops the unit (243/CREDENTIALS).
    if [[ -f $SIGNING_KEY ]]; then
        log "signing key found: $SIGNING_KEY goes to kiosk.service as a credential"
        install -d -m 0755 "$UNIT_DIR/kiosk.service.d"
        install -m 0644 "$src/systemd/kiosk.service.d/signing-key.conf" \
            "$UNIT_DIR/kiosk.service.d/signing-key.conf"
    else
        rm -f "$UNIT_DIR/kiosk.service.d/signing-key.conf"
    fi
    install -m 0644 "$src/systemd/kiosk-browser.service" "$UNIT_DIR/kiosk-browser.service"
    install -m 0644 "$src/systemd/kiosk-backup.service" "$UNIT_DIR/kiosk-backup.service"
    install -m 0644 "$src/systemd/kiosk-backup.timer" "$UNIT_DIR/kiosk-backup.timer"
    install -d -m 0755 "$POLICY_DIR"
    install -m 0644 "$src/systemd/chromium-policy.json" "$POLICY_DIR/kiosk.json"
    systemctl daemon-reload
    systemctl enable kiosk.service kiosk-browser.service kiosk-backup.timer
    systemctl set-default graphical.target
    timedatectl set-ntp true || warn "could not enable NTP: check timedatectl"
    if systemctl is-enabled --quiet display-manager.service 2>/dev/null; then
        warn "a desktop is enabled; the kiosk screen takes tty1. Use Raspberry Pi OS Lite" \
            "or boot to the console: sudo raspi-config nonint do_boot_behaviour B1"
    fi
}

main() {
    [[ $EUID -eq 0 ]] || die "run as root: sudo $0"
    command -v apt-get >/dev/null || die "apt-get not found: this script is for Raspberry Pi OS"
    local src
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    REBOOT_NEEDED=0
    install_packages
    create_users
    install_software "$src"
    enable_i2c
    set_watchdog
    create_config
    install_units "$src"
    "$src/deploy/setup-nginx.sh" # TLS front on the LAN (waitress stays on 127.0.0.1)
    if [[ $REBOOT_NEEDED -eq 1 ]]; then
        log "done. Reboot now (sudo reboot), then check the gate:"
    else
        systemctl try-restart kiosk.service kiosk-browser.service
        log "done. Check the gate:"
    fi
    printf '    sudo systemctl stop kiosk\n'
    printf '    sudo -u kiosk sh -c "cd %s && %s/bin/kiosk doctor --config %s"\n' \
        "$DATA" "$VENV" "$CONFIG"
    printf '    sudo systemctl start kiosk\n'
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
