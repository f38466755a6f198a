"""What the visitor is told, per reason code, in Bahasa Indonesia and English.

Wording is never a diagnosis: an elevated reading is "please see the
officer". Placeholders come from ``Decision.detail``.
"""

from __future__ import annotations

from collections.abc import Mapping

from kiosk.domain.reasons import Reason

LANGUAGES = ("id", "en")

MESSAGES: dict[Reason, dict[str, str]] = {
    Reason.ADMITTED: {"id": "Silakan masuk.", "en": "Please enter."},
    Reason.READMITTED: {"id": "Silakan masuk kembali.", "en": "Welcome back, please enter."},
    Reason.WALKIN: {"id": "Silakan masuk (pendaftaran langsung).", "en": "Please enter (walk-in)."},
    Reason.PRIORITY: {"id": "Silakan masuk (layanan prioritas).", "en": "Please enter (priority)."},
    Reason.STAFF: {"id": "Selamat datang.", "en": "Welcome."},
    Reason.CLOSED_HOURS: {
        "id": "Layanan sedang tutup. Silakan datang pada jam layanan.",
        "en": "The office is closed now. Please come during opening hours.",
    },
    Reason.QR_INVALID: {
        "id": "Kode QR tidak dikenali. Tunjukkan kode booking Anda.",
        "en": "This QR code is not a booking code. Please show your booking code.",
    },
    Reason.BOOKING_UNKNOWN: {
        "id": "Kode booking tidak ditemukan. Silakan hubungi petugas.",
        "en": "Booking not found. Please see the officer.",
    },
    Reason.BOOKING_CANCELLED: {
        "id": "Booking ini sudah dibatalkan.",
        "en": "This booking was cancelled.",
    },
    Reason.BOOKING_WRONG_OFFICE: {
        "id": "Booking ini untuk kantor lain ({office_id}).",
        "en": "This booking is for another office ({office_id}).",
    },
    Reason.BOOKING_WRONG_DATE: {
        "id": "Booking ini untuk tanggal {valid_from}, bukan hari ini.",
        "en": "This booking is for {valid_from}, not today.",
    },
    Reason.BOOKING_USED: {
        "id": "Booking ini sudah digunakan pukul {admitted_at} di gerbang {gate}.",
        "en": "This booking was already used at {admitted_at}, gate {gate}.",
    },
    Reason.BAD_SIGNATURE: {
        "id": "Kode booking tidak sah. Silakan hubungi petugas.",
        "en": "This booking code is not genuine. Please see the officer.",
    },
    Reason.KEY_UNKNOWN: {
        "id": "Kode booking tidak dapat diperiksa. Silakan hubungi petugas.",
        "en": "This booking code cannot be checked here. Please see the officer.",
    },
    Reason.KEY_REVOKED: {
        "id": "Kode booking sudah tidak berlaku. Silakan hubungi petugas.",
        "en": "This booking code is no longer valid. Please see the officer.",
    },
    Reason.UNSUPPORTED_VERSION: {
        "id": "Versi kode booking tidak didukung. Silakan hubungi petugas.",
        "en": "This booking code version is not supported. Please see the officer.",
    },
    Reason.SENSOR_FAULT: {
        "id": "Alat ukur suhu bermasalah. Silakan hubungi petugas.",
        "en": "The thermometer has a fault. Please see the officer.",
    },
    Reason.NO_READING: {
        "id": "Suhu belum terbaca. Silakan mendekat ke alat ukur.",
        "en": "No reading yet. Please step closer to the thermometer.",
    },
    Reason.AMBIENT_OUT_OF_RANGE: {
        "id": "Suhu ruangan di luar batas alat ukur. Silakan hubungi petugas.",
        "en": "The room is too hot or cold to measure. Please see the officer.",
    },
    Reason.TEMPERATURE_RECHECK: {
        "id": "Mohon tunggu sebentar, suhu akan diukur ulang.",
        "en": "Please wait a moment, we will measure again.",
    },
    Reason.FEVER: {
        "id": "Suhu tinggi — silakan temui petugas.",
        "en": "Elevated temperature — please see the officer.",
    },
    Reason.CAP_REACHED: {
        "id": "Kuota hari ini ({cap} orang) sudah penuh. Silakan booking online.",
        "en": "Today's limit ({cap} people) is reached. Please book online.",
    },
    Reason.CANNOT_RECORD: {
        "id": "Sistem tidak dapat mencatat. Silakan hubungi petugas.",
        "en": "The system cannot record. Please see the officer.",
    },
    Reason.LIVENESS_FAILED: {
        "id": "Wajah tidak dapat diverifikasi. Silakan hubungi petugas.",
        "en": "Face could not be verified. Please see the officer.",
    },
    Reason.OFFICER_DENIED: {
        "id": "Ditolak oleh petugas.",
        "en": "Denied by the officer.",
    },
}


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def message(reason: Reason, detail: Mapping[str, str] | None = None, lang: str = "id") -> str:
    texts = MESSAGES[reason]
    template = texts.get(lang) or texts["id"]
    return template.format_map(_Defaults(detail or {}))
