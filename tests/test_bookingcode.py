"""Signed booking codes: the vectors of docs/booking-code.md, tampering, fuzzing, key files."""

from __future__ import annotations

import json
import re
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import keys
from kiosk.domain.bookingcode import (
    CONTEXT,
    MAX_TEXT_LENGTH,
    Accepted,
    BookingCode,
    KeyRing,
    PublicKeyEntry,
    Rejected,
    authenticate_code,
    decode_text,
    encode_text,
    key_id_for,
    short_code,
    sign_code,
    verify_code,
)
from kiosk.domain.reasons import Reason
from kiosk.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "booking-code.md"

# Seeds from RFC 8032 section 7.1 (TEST 1, 2, 3, 1024): public, for tests only.
SEEDS = {
    "A": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "B": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "C": "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "D": "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
}
PUBLIC = {
    "A": ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "21fe31df"),
    "B": ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "39f713d0"),
    "C": ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "dac073e0"),
    "D": ("278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", "91384c41"),
}
PRIVATE = {
    name: Ed25519PrivateKey.from_private_bytes(bytes.fromhex(s)) for name, s in SEEDS.items()
}
OFFICE = "3314-SRG"
TODAY = date(2025, 3, 12)


def _entry(name: str, created: date, revoked: date | None = None) -> PublicKeyEntry:
    return PublicKeyEntry.for_key(bytes.fromhex(PUBLIC[name][0]), created=created, revoked=revoked)


# A is the previous key (rotated out, still trusted), B the current one, C revoked; D unknown.
KEYRING = KeyRing(
    [
        _entry("A", date(2024, 7, 1)),
        _entry("B", date(2025, 1, 6)),
        _entry("C", date(2024, 1, 2), revoked=date(2024, 7, 1)),
    ]
)

VALID = (
    "KB:AE47OE6QJ27U5PYIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANBSAZFVIUBNIVGPN6HUKKFAWWY42CITEWT6JZABHSTOR"
    "3SA5USZ2XKKWSPJHDAO74MHHLNUC62NAQXLURIRAUAKUAPDUCGAPKQB6PUDOB554TJ4SDJYBI"
)

# name: (key, office, booking, service, from, until, QR text, reason at OFFICE on TODAY)
SIGNED_VECTORS = {
    "valid": ("B", OFFICE, "250312-0042", "KTP-EL", TODAY, TODAY, VALID, None),
    "rotated": (
        "A", OFFICE, "250312-0043", "KK", date(2025, 3, 10), date(2025, 3, 14),
        "KB:AEQ74MO7J26U5QIIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANBTAJFUX32TSSJF7D36WYLLTUNPKSCMIDAVS2SEV"
        "GVWYVRLB7LW7Y7VT5JE622VFX4N46FKLH44X2C4KXFFGVZ7SA3355Z3CPVQ6LEGTY6J2MDQ",
        None,
    ),
    "expired": (
        "B", OFFICE, "250305-0007", "AKTA-LHR", date(2025, 3, 5), date(2025, 3, 7),
        "KB:AE47OE6QJ24E5OQIGMZTCNBNKNJEOCZSGUYDGMBVFUYDAMBXBBAUWVCBFVGEQUX2U3SZGE35IIX4RUM6ZIM3U"
        "2FDDOOKRPF7FQEVFUM3U7UOSQSECFLZUVON5D46HI5U6Q2NWS2IJ6J53T3R46MCARLJCQC54URXDQEQE",
        Reason.BOOKING_WRONG_DATE,
    ),
    "future": (
        "B", OFFICE, "250320-0011", "KTP-EL", date(2025, 3, 20), date(2025, 3, 20),
        "KB:AE47OE6QJ3DU5RYIGMZTCNBNKNJEOCZSGUYDGMRQFUYDAMJRAZFVIUBNIVGBE5EAAYIXGJAY54CFF2FKHZJFN"
        "7DT27CMCTVYKFLJKLNWR25QI23TKTKJOAVUAS44JCKZPYDC2CUHKRM6OORCKEY4YL3SUATJVPB7AI",
        Reason.BOOKING_WRONG_DATE,
    ),
    "other_office": (
        "B", "3372-SKA", "250312-0101", "KTP-EL", TODAY, TODAY,
        "KB:AE47OE6QJ27U5PYIGMZTOMRNKNFUCCZSGUYDGMJSFUYDCMBRAZFVIUBNIVGITAXFWMVNYWGRNFBEMBKSCQ3RV"
        "E76DCPTOEJCQSMQ4NVWOZIJ5OBLCMRECTHKGHOZLLFQRJJ4SLIT4L5XMPPBE6NUCJVLXFDVR3P2AE",
        Reason.BOOKING_WRONG_OFFICE,
    ),
    "revoked_key": (
        "C", OFFICE, "250312-0050", "KTP-EL", TODAY, TODAY,
        "KB:AHNMA47AJ27U5PYIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANJQAZFVIUBNIVGPTMRLA6PJNI62WD2MKLRVVQ6C5"
        "MDW7BHMSULLQKJ3F37CZ3VCHCIGREDLXHJG6C3SOYIXGG6QMVELJA5BD4OZILAO6JOOYO7QOP3AB4",
        Reason.KEY_REVOKED,
    ),
    "unknown_key": (
        "D", OFFICE, "250312-0051", "KTP-EL", TODAY, TODAY,
        "KB:AGITQTCBJ27U5PYIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANJRAZFVIUBNIVGEJWARMKYU5WKKH3RDA7UY7R6JL"
        "IURQNXZELJGDHYFVJCBODTQMHEVTOYJFLGKJI6DWJH6FPKLGVXCPGQE4T33QPOFCIWRFLTIMKK3BU",
        Reason.KEY_UNKNOWN,
    ),
}  # fmt: skip

# Crafted texts (not producible by sign_code): name -> (QR text, reason).
CRAFTED_VECTORS = {
    "unsupported_version": (
        "KB:AI47OE6QJ27U5PYIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANBSAZFVIUBNIVGPO5BGB2T5L6WH2ODCF3WXYRATV"
        "E5JEOABTIWJNJCFURAPSK7JRWLORJ3ZFHEJXEBDQ6QMM7TUGBQPPRM7Q6ZMXEXNIYAIMFA3AWLGBQ",
        Reason.UNSUPPORTED_VERSION,
    ),
    "bad_signature": (VALID[:-1] + "M", Reason.BAD_SIGNATURE),
    "tampered_booking_id": (  # booking id 250312-0042 edited to 250312-0044
        "KB:AE47OE6QJ27U5PYIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANBUAZFVIUBNIVGPN6HUKKFAWWY42CITEWT6JZAB"
        "HSTOR3SA5USZ2XKKWSPJHDAO74MHHLNUC62NAQXLURIRAUAKUAPDUCGAPKQB6PUDOB554TJ4SDJYBI",
        Reason.BAD_SIGNATURE,
    ),
    "oversized": ("KB:" + "A" * (MAX_TEXT_LENGTH - 2), Reason.QR_INVALID),
    "oversized_valid_prefix": (VALID + " " * (MAX_TEXT_LENGTH - len(VALID) + 1), Reason.QR_INVALID),
    "binary_junk": ("\x00\xff\x89PNG\r\n\x1a\n\x00\x00KB:", Reason.QR_INVALID),
    "empty": ("", Reason.QR_INVALID),
    "prefix_only": ("KB:", Reason.QR_INVALID),
    "lower_case": ("KB:" + VALID[3:].lower(), Reason.QR_INVALID),
    "padded": (VALID + "======", Reason.QR_INVALID),
    "non_canonical_last_char": (VALID[:-1] + "J", Reason.QR_INVALID),
    "truncated": (VALID[:-8], Reason.QR_INVALID),
    "url": ("https://example.org/booking/250312-0042", Reason.QR_INVALID),
}


def _check(text: str) -> Accepted | Rejected:
    return verify_code(text, keyring=KEYRING, office_id=OFFICE, today=TODAY)


def test_key_ids_are_the_first_four_bytes_of_sha256_of_the_public_key() -> None:
    for name, (public_hex, key_id) in PUBLIC.items():
        assert PRIVATE[name].public_key().public_bytes_raw().hex() == public_hex
        assert key_id_for(bytes.fromhex(public_hex)) == key_id


@pytest.mark.parametrize("name", SIGNED_VECTORS)
def test_sign_code_reproduces_the_documented_vector(name: str) -> None:
    key, office, booking, service, start, end, text, _ = SIGNED_VECTORS[name]
    issued = sign_code(
        office_id=office,
        booking_id=booking,
        service=service,
        valid_from=start,
        valid_until=end,
        private_key=PRIVATE[key],
    )
    assert issued == text


@pytest.mark.parametrize("name", SIGNED_VECTORS)
def test_signed_vector_verdict(name: str) -> None:
    key, office, booking, service, start, end, text, reason = SIGNED_VECTORS[name]
    result = _check(text)
    if reason is None:
        assert isinstance(result, Accepted)
        assert result.booking == BookingCode(PUBLIC[key][1], office, booking, service, start, end)
    else:
        assert isinstance(result, Rejected)
        assert result.reason is reason


@pytest.mark.parametrize("name", CRAFTED_VECTORS)
def test_crafted_vector_verdict(name: str) -> None:
    text, reason = CRAFTED_VECTORS[name]
    result = _check(text)
    assert isinstance(result, Rejected)
    assert (result.reason, result.booking) == (reason, None)


def test_documented_vectors_match_the_tests() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for seed in SEEDS.values():
        assert seed in doc
    for public_hex, key_id in PUBLIC.values():
        assert public_hex in doc and key_id in doc
    texts = [v[6] for v in SIGNED_VECTORS.values()]
    texts += [CRAFTED_VECTORS[n][0] for n in ("unsupported_version", "bad_signature")]
    texts.append(CRAFTED_VECTORS["tampered_booking_id"][0])
    assert set(re.findall(r"^KB:[A-Z2-7]+$", doc, re.MULTILINE)) == set(texts)
    assert short_code(OFFICE, "250312-0042") in doc


def test_expired_and_future_codes_say_which_dates_they_are_for() -> None:
    expired = _check(SIGNED_VECTORS["expired"][6])
    future = _check(SIGNED_VECTORS["future"][6])
    assert isinstance(expired, Rejected) and expired.booking is not None
    assert (expired.booking.valid_from, expired.booking.valid_until) == (
        date(2025, 3, 5),
        date(2025, 3, 7),
    )
    assert isinstance(future, Rejected) and future.booking is not None
    assert future.booking.valid_from == future.booking.valid_until == date(2025, 3, 20)


def test_date_window_is_inclusive_on_both_ends() -> None:
    text = SIGNED_VECTORS["rotated"][6]
    for day, ok in [(9, False), (10, True), (14, True), (15, False)]:
        result = verify_code(text, keyring=KEYRING, office_id=OFFICE, today=date(2025, 3, day))
        assert result.ok is ok


def test_wrong_office_says_which_office() -> None:
    result = _check(SIGNED_VECTORS["other_office"][6])
    assert isinstance(result, Rejected) and result.booking is not None
    assert result.booking.office_id == "3372-SKA"


def test_authenticate_ignores_office_and_date() -> None:
    for name in ("expired", "future", "other_office"):
        assert isinstance(authenticate_code(SIGNED_VECTORS[name][6], keyring=KEYRING), Accepted)


def test_revoked_key_rejects_codes_whatever_their_date() -> None:
    code = sign_code(
        office_id=OFFICE,
        booking_id="240101-0001",
        service="KK",
        valid_from=date(2024, 1, 3),
        private_key=PRIVATE["C"],
    )  # valid before C was revoked; still refused
    result = verify_code(code, keyring=KEYRING, office_id=OFFICE, today=date(2024, 1, 3))
    assert isinstance(result, Rejected) and result.reason is Reason.KEY_REVOKED


def test_surrounding_whitespace_from_a_keyboard_scanner_is_ignored() -> None:
    assert _check(f"  {VALID}\r\n").ok


def test_every_single_bit_flip_is_rejected() -> None:
    payload = decode_text(VALID)
    assert payload is not None
    reasons = set()
    for bit in range(len(payload) * 8):
        flipped = bytearray(payload)
        flipped[bit // 8] ^= 1 << (bit % 8)
        result = _check(encode_text(bytes(flipped)))
        assert isinstance(result, Rejected), f"bit {bit} flipped was accepted"
        reasons.add(result.reason)
    assert Reason.BAD_SIGNATURE in reasons and Reason.UNSUPPORTED_VERSION in reasons


@settings(max_examples=300)
@given(st.text(max_size=600))
def test_fuzz_any_text_is_rejected_without_raising(text: str) -> None:
    assert isinstance(_check(text), Rejected)


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_fuzz_raw_bytes_are_rejected_without_raising(data: bytes) -> None:
    assert isinstance(_check(data.decode("latin-1")), Rejected)
    assert isinstance(_check(data.decode("utf-8", "surrogateescape")), Rejected)


@settings(max_examples=300)
@given(st.binary(max_size=320))
def test_fuzz_encoded_bytes_are_rejected_without_raising(data: bytes) -> None:
    assert isinstance(_check(encode_text(data)), Rejected)


@settings(max_examples=300)
@given(st.binary(min_size=0, max_size=200), st.sampled_from(["A", "B", "C", "D"]))
def test_fuzz_plausible_payloads_are_rejected(rest: bytes, key: str) -> None:
    """Version 1 and a real key id, so the parser goes past the header."""
    payload = b"\x01" + bytes.fromhex(PUBLIC[key][1]) + rest
    assert isinstance(_check(encode_text(payload)), Rejected)


@given(st.binary(max_size=200), st.sampled_from(["A", "B"]))
def test_fuzz_a_signature_over_a_malformed_body_is_still_rejected(body: bytes, key: str) -> None:
    """A genuine key signing garbage does not make the garbage a code."""
    payload = b"\x01" + bytes.fromhex(PUBLIC[key][1]) + body
    signed = payload + PRIVATE[key].sign(CONTEXT + payload)
    result = authenticate_code(encode_text(signed), keyring=KEYRING)
    if isinstance(result, Accepted):  # only a well-formed body can pass
        assert encode_text(signed) == sign_code(
            office_id=result.booking.office_id,
            booking_id=result.booking.booking_id,
            service=result.booking.service,
            valid_from=result.booking.valid_from,
            valid_until=result.booking.valid_until,
            private_key=PRIVATE[key],
        )


def test_non_str_input_is_rejected() -> None:
    assert isinstance(_check(b"KB:AAAA"), Rejected)  # type: ignore[arg-type]
    assert isinstance(_check(None), Rejected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("office_id", ""),
        ("office_id", "A" * 17),
        ("office_id", "SRG KOTA"),
        ("booking_id", "B" * 37),
        ("booking_id", "NIK:3314012345678901/Budi"),
        ("service", "ktp"),
        ("service", "KTP-ELEKTRONIK"),
        ("valid_from", date(1969, 12, 31)),
        ("valid_until", date(2025, 3, 11)),
        ("valid_until", date(2150, 1, 1)),
    ],
)
def test_sign_code_refuses_fields_outside_the_format(field: str, value: object) -> None:
    fields: dict[str, object] = {
        "office_id": OFFICE,
        "booking_id": "250312-0042",
        "service": "KTP-EL",
        "valid_from": TODAY,
        "valid_until": TODAY,
    }
    fields[field] = value
    with pytest.raises(InputError, match=field):
        sign_code(**fields, private_key=PRIVATE["B"])  # type: ignore[arg-type]


def test_largest_code_fits_the_documented_budget() -> None:
    text = sign_code(
        office_id="O" * 16,
        booking_id="b" * 36,
        service="S" * 8,
        valid_from=TODAY,
        private_key=PRIVATE["B"],
    )
    assert len(decode_text(text) or b"") == 136
    assert len(text) == 221 <= MAX_TEXT_LENGTH
    assert _check(text).ok is False  # other office, but a well-formed code
    assert authenticate_code(text, keyring=KEYRING).ok


def test_typical_code_is_a_version_7_alphanumeric_qr() -> None:
    segno = pytest.importorskip("segno")
    qr = segno.make(VALID, error="m")
    assert (qr.version, qr.mode, qr.error) == (7, "alphanumeric", "M")
    assert segno.make("KB:" + "A" * 509, error="m").version == 14


def test_typical_code_survives_a_real_qr_decoder() -> None:
    segno = pytest.importorskip("segno")
    np = pytest.importorskip("numpy")
    zxingcpp = pytest.importorskip("zxingcpp")
    matrix = np.array(segno.make(VALID, error="m").matrix, dtype=np.uint8)
    image = np.pad((1 - matrix) * 255, 4, constant_values=255).astype(np.uint8)
    image = np.kron(image, np.ones((4, 4), dtype=np.uint8))
    found = zxingcpp.read_barcodes(image)
    assert [r.text for r in found] == [VALID]


def test_short_code_is_readable_and_stable() -> None:
    assert short_code(OFFICE, "250312-0042") == "SRG-KXB8-0W"
    assert BookingCode("39f713d0", OFFICE, "250312-0042", "KK", TODAY, TODAY).short_code == (
        "SRG-KXB8-0W"
    )
    assert re.fullmatch(r"SRG-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}", short_code(OFFICE, "x"))
    assert short_code(OFFICE, "250312-0043") != short_code(OFFICE, "250312-0042")


def test_keyring_refuses_duplicates_and_mismatched_ids() -> None:
    with pytest.raises(ValueError, match="twice"):
        KeyRing([_entry("A", TODAY), _entry("A", TODAY)])
    with pytest.raises(ValueError, match="does not match"):
        PublicKeyEntry(PUBLIC["B"][1], bytes.fromhex(PUBLIC["A"][0]), TODAY)


# --- key files --------------------------------------------------------------------------


def test_key_files_round_trip(tmp_path: Path) -> None:
    key_list = tmp_path / "gate" / "booking-keys.json"
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    old = keys.generate_key(secrets / "old.pem", key_list, today=date(2024, 7, 1))
    new = keys.generate_key(secrets / "new.pem", key_list, today=TODAY)
    for name in ("old.pem", "new.pem"):
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600

    listed = keys.read_key_list(key_list)
    assert [(e.key_id, e.created, e.revoked) for e in listed] == [
        (old.key_id, date(2024, 7, 1), None),
        (new.key_id, TODAY, None),
    ]
    old_code = sign_code(
        office_id=OFFICE,
        booking_id="1",
        service="KK",
        valid_from=TODAY,
        private_key=keys.load_private_key(secrets / "old.pem"),
    )
    ring = keys.load_keyring(key_list)
    assert verify_code(old_code, keyring=ring, office_id=OFFICE, today=TODAY).ok

    revoked = keys.revoke_key(key_list, old.key_id, today=TODAY)
    assert revoked.revoked == TODAY
    assert keys.revoke_key(key_list, old.key_id, today=date(2025, 4, 1)).revoked == TODAY
    ring = keys.load_keyring(key_list)
    result = verify_code(old_code, keyring=ring, office_id=OFFICE, today=TODAY)
    assert isinstance(result, Rejected) and result.reason is Reason.KEY_REVOKED
    document = json.loads(key_list.read_text(encoding="utf-8"))
    assert document["keys"][old.key_id]["revoked"] == TODAY.isoformat()
    assert document["keys"][new.key_id]["public_key"] == new.public_key_b64


def test_generate_refuses_to_overwrite_or_write_into_the_data_folder(tmp_path: Path) -> None:
    key_list = tmp_path / "keys.json"
    keys.generate_key(tmp_path / "signing.pem", key_list, today=TODAY)
    with pytest.raises(ConfigError, match="already exists"):
        keys.generate_key(tmp_path / "signing.pem", key_list, today=TODAY)
    data = tmp_path / "var"
    data.mkdir()
    with pytest.raises(ConfigError, match="inside the data folder"):
        keys.generate_key(data / "signing.pem", key_list, today=TODAY, data_dir=data)
    with pytest.raises(ConfigError, match="does not exist"):
        keys.generate_key(tmp_path / "missing" / "k.pem", key_list, today=TODAY)
    assert len(keys.read_key_list(key_list)) == 1


def test_missing_or_loose_private_key_has_an_actionable_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found — run `kiosk keys generate`"):
        keys.load_private_key(tmp_path / "nope.pem")
    pem = tmp_path / "k.pem"
    keys.generate_key(pem, tmp_path / "keys.json", today=TODAY)
    pem.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        keys.load_private_key(pem)
    pem.chmod(0o600)
    pem.write_bytes(b"not a key")
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        keys.load_private_key(pem)


def test_bad_key_lists_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    with pytest.raises(ConfigError, match="not found"):
        keys.load_keyring(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be read"):
        keys.load_keyring(path)
    entry = {"public_key": _entry("B", TODAY).public_key_b64, "created": "2025-01-06"}
    for bad_keys, message in [
        ({"39f713d0": {**entry, "revoked": None, "extra": 1}}, "exactly the fields"),
        ({"21fe31df": {**entry, "revoked": None}}, "does not match"),
        ({"39f713d0": {**entry, "revoked": "yesterday"}}, "key 39f713d0"),
        ({"39f713d0": {**entry, "revoked": "2025-02-01"}}, "no key that is not revoked"),
        ({}, "no key that is not revoked"),
    ]:
        document = {"format": keys.FORMAT, "version": 1, "keys": bad_keys}
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            keys.load_keyring(path, allow_test_keys=True)
    with pytest.raises(ConfigError, match="unknown-id"):
        keys.revoke_key(path, "unknown-id", today=TODAY)


def test_published_test_keys_are_refused_by_default(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    entry = {"public_key": _entry("B", TODAY).public_key_b64, "created": "2025-01-06"}
    document = {
        "format": keys.FORMAT,
        "version": 1,
        "keys": {"39f713d0": {**entry, "revoked": None}},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ConfigError, match="published test key"):
        keys.load_keyring(path)
    assert len(keys.load_keyring(path, allow_test_keys=True)) == 1
    assert {v[1] for v in PUBLIC.values()} == keys.PUBLISHED_TEST_KEY_IDS
