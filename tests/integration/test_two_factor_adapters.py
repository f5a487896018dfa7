"""The 2FA adapters: Fernet-sealed secrets (with key rotation), pyotp time steps, segno QR
codes, and the secrets key generated into the data dir when none is configured."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet

from infra.qr_images import SegnoQrImages
from infra.secret_box import FernetSecretBox
from infra.totp import PyotpCodes
from tests.support.http import app_settings

NOW = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)


def test_a_sealed_secret_opens_again_and_never_shows_in_clear() -> None:
    box = FernetSecretBox([Fernet.generate_key().decode()])
    secret = pyotp.random_base32()

    sealed, again = box.seal(secret), box.seal(secret)

    assert secret not in sealed and sealed != again  # a fresh IV each time
    assert box.open(sealed) == box.open(again) == secret


def test_keys_rotate_the_first_seals_and_every_one_opens() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_before = FernetSecretBox([old]).seal("before")

    rotated = FernetSecretBox([new, old])

    assert rotated.open(sealed_before) == "before"
    assert FernetSecretBox([new]).open(rotated.seal("after")) == "after"
    with pytest.raises(ValueError, match="no configured secrets_key"):
        FernetSecretBox([new]).open(sealed_before)
    with pytest.raises(ValueError, match="no configured secrets_key"):
        rotated.open(sealed_before[:-4] + "AAAA")  # altered


def test_a_key_that_is_not_a_fernet_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="secrets_key") as refused:
        FernetSecretBox(["change-me-to-a-fernet-key"])
    assert "change-me" not in str(refused.value)
    with pytest.raises(ValueError):
        FernetSecretBox([])


def test_the_matching_step_is_found_one_step_either_side() -> None:
    codes = PyotpCodes()
    secret = codes.new_secret()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)

    for offset in (-1, 0, 1):
        code = totp.at(NOW + timedelta(seconds=30 * offset))
        assert codes.matching_step(secret, code, NOW) == step + offset
    for offset in (-2, 2):
        code = totp.at(NOW + timedelta(seconds=30 * offset))
        if code not in {totp.at(NOW + timedelta(seconds=30 * k)) for k in (-1, 0, 1)}:
            assert codes.matching_step(secret, code, NOW) is None
    assert codes.matching_step(secret, "١٢٣٤٥٦", NOW) is None  # non-ASCII digits: no crash


def test_the_provisioning_uri_names_the_issuer_and_the_account() -> None:
    codes = PyotpCodes()
    secret = codes.new_secret()

    uri = codes.provisioning_uri(secret, "maker@example.com")

    parsed = pyotp.parse_uri(uri)
    assert uri.startswith("otpauth://totp/fabledger:maker%40example.com?")
    assert parsed.secret == secret and parsed.issuer == "fabledger"


def test_the_qr_code_is_a_png_data_uri() -> None:
    uri = SegnoQrImages().png_data_uri("otpauth://totp/fabledger:a?secret=ABC&issuer=fabledger")

    head, _, data = uri.partition(",")
    assert head == "data:image/png;base64"
    assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")


def test_an_unset_secrets_key_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    settings = app_settings(tmp_path)

    keys = settings.resolved_secrets_keys()

    assert (
        keys == settings.resolved_secrets_keys() == app_settings(tmp_path).resolved_secrets_keys()
    )
    assert stat.S_IMODE((tmp_path / "secrets_key").stat().st_mode) == 0o600
    FernetSecretBox(keys)  # a valid Fernet key
    configured = app_settings(
        tmp_path, secrets_key=f" {keys[0]} , {Fernet.generate_key().decode()}"
    )
    assert configured.resolved_secrets_keys()[0] == keys[0]
    assert len(configured.resolved_secrets_keys()) == 2
