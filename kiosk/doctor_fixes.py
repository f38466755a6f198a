"""What a `kiosk doctor` check reports: a :class:`Check`, and when it fails, the fix
(``FIX[name]``) that tells the installer what to do.

Texts with ``{placeholders}`` are filled by the check that fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_BAUD = "set dtparam=i2c_arm_baudrate=50000 in /boot/firmware/config.txt and reboot"
_WORD = "the sensor answers an invalid word: check its 3.3 V supply and GND, then power-cycle it"
_SENSOR = f"check wiring (SDA pin 3, SCL pin 5, 3.3 V) and {_BAUD}"
FIX = {
    "i2c_helper": "check the helper sensor's wiring (same I2C bus as the thermometer, 3.3 V, "
    "SDA pin 3, SCL pin 5), its address ([thermometer] distance_address / room_address) "
    'and `i2cdetect -y {bus}`; or set it to "none" in [thermometer]',
    # thermometer (keys named after the fault seen on the wire)
    "enable_i2c": "enable I2C: sudo raspi-config nonint do_i2c 0; set "
    "dtparam=i2c_arm_baudrate=50000 in /boot/firmware/config.txt; reboot",
    "i2c_group": "add the user to the i2c group: sudo usermod -aG i2c $USER, then log in again "
    "(kiosk.service gets it from SupplementaryGroups=i2c)",
    "bus_speed": f"{_BAUD} (the MLX90614 needs 10–100 kHz)",
    "nack": "check wiring: VIN→pin 1 (3.3 V), GND→pin 6, SDA→pin 3 (GPIO2), SCL→pin 5 (GPIO3); "
    "`i2cdetect -y {bus}` must list {addr:02x}; hardware.i2c_address must match; keep the "
    "sensor wires away from the relay and lock cables",
    "eio": f"{_BAUD} (the MLX90614 needs 10–100 kHz); check wiring and pull-ups",
    "bad_pec": "data corrupted on the wire: shorten the sensor cable (< 30 cm), check the "
    f"pull-ups (4.7 kΩ to 3.3 V), {_BAUD}; do not hide it with check_pec = false",
    "error_flag": "the sensor reports an internal error: power-cycle it (disconnect VIN for "
    "10 s); replace it if this persists",
    "word_ffff": _WORD,
    "word_0000": _WORD,
    "ambient_range": "move the sensor away from heat (Pi CPU, sunlight, relay coil) and let it "
    "settle 15 min; if the room is 0–50 °C and this persists, replace the sensor",
    "intermittent": "reseat the connectors, keep the I2C wires away from the relay, add 100 nF "
    "across the sensor's VIN/GND",
    "sensor_error": f"run `kiosk doctor` with kiosk.service stopped for a diagnosis; {_SENSOR}",
    "bus_error": _SENSOR,
    # configuration, clock, disk, database
    "config_file": "correct the named field(s), then `kiosk check-config FILE` "
    "(`kiosk init DIR` writes a commented example)",
    "pins": "give each device its own BCM pin in [hardware] (defaults: relay 17, green 22, "
    "red 27, buzzer 23, button 24); GPIO2/3 carry the thermometer",
    "bounds": "make each [temperature] minimum smaller than its maximum",
    "private_key": "create it with `kiosk keys generate` on the issuing machine, or leave "
    "bookings.private_key empty (a gate needs only the public key list)",
    "public_keys": "replace the public key list with the issuing office's current one",
    "clock": "connect the network and enable NTP: sudo timedatectl set-ntp true; watch "
    "`timedatectl timesync-status` (NTP= in /etc/systemd/timesyncd.conf for an office "
    "server; with chrony, set clock.sync_flag to a file it creates, now {flag}); until then "
    "an officer must confirm the date",
    "disk_missing": "create it: kiosk init {path}",
    "disk_full": "free space: sudo journalctl --vacuum-size=100M; remove old backups and "
    "tickets; or move the data folder to a larger card",
    "db_missing": "create it: kiosk db upgrade --config FILE (or kiosk init {folder})",
    "db_broken": "stop the kiosk (sudo systemctl stop kiosk), move {name} aside, restore the "
    "latest backup, or salvage: sqlite3 {name}.broken .recover | sqlite3 {name}; then "
    "kiosk db upgrade",
    "db_upgrade": "apply the migrations: kiosk db upgrade --config FILE",
    "db_unreachable": "check the network cable and that the database server runs; test with "
    "`kiosk db upgrade`; database_url in kiosk.toml names the server",
    "db_newer": "install the kiosk version that wrote this database",
    # camera, GPIO
    "camera_open": "check `v4l2-ctl --list-devices` or `ls /dev/video*`, the cable, and that "
    'the user is in the video group; set hardware.camera to the index, or "picamera" for a '
    "Pi camera",
    "camera_frames": "check the cable and that nothing else uses the camera (sudo systemctl "
    "stop kiosk); a Pi CSI camera gives no frames through OpenCV on Bookworm (libcamera): "
    'set hardware.camera = "picamera" (needs python3-picamera2), or use a USB webcam',
    "gpio": "stop kiosk.service if it runs (it holds the pins): sudo systemctl stop kiosk; "
    "install python3-lgpio (apt) and keep the venv's --system-site-packages; add the user "
    "to the gpio group; run from a writable folder (lgpio writes there), e.g. "
    "cd /var/lib/kiosk",
    "gpio_mock": "unset GPIOZERO_PIN_FACTORY (or set it to lgpio) and install python3-lgpio",
    "relay_idle": "check hardware.relay_active_high against the relay board (most are active-low)",
    "relay_pull": "fit a 10 kΩ resistor from the relay board's IN (GPIO{pin}) to {rail}, so the "
    "relay stays off while no program drives the pin (boot, crash, restart)",
    "relay_pull_wrong": "something pulls the relay input to its ON level: move the resistor on "
    "IN (GPIO{pin}) to {rail} (10 kΩ) and check hardware.relay_active_high against the board",
    "crashed": "report this with the output of `kiosk -v doctor`",
}


@dataclass(frozen=True)
class Check:
    """The outcome of one check; ``fix`` is a concrete next step when ``ok`` is False."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


def fail(name: str, detail: str, fix: str, /, **fill: Any) -> Check:
    return Check(name, False, detail, FIX[fix].format(**fill))
