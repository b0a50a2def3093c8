"""The per-device GB/T 28181 SIP password: the pure function and the Ansible filter over it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from safecity.inventory.secrets import derive_device_sip_password

REPO = Path(__file__).resolve().parents[2]

# Computed independently with:
#   printf 34020000001320000001 | openssl dgst -sha256 -hmac k -binary | base64 | tr '+/' '-_' | cut -c1-20
KNOWN_VECTOR = ("k", "34020000001320000001", "rcMBiGA5FJFYdfvNugNE")


def test_matches_the_openssl_vector() -> None:
    key, device, expected = KNOWN_VECTOR
    assert derive_device_sip_password(key, device) == expected


def test_is_20_urlsafe_characters_and_differs_per_device() -> None:
    first = derive_device_sip_password("master", "34020000001320000001")
    second = derive_device_sip_password("master", "34020000001320000002")
    assert len(first) == 20
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert first != second
    assert derive_device_sip_password("other", "34020000001320000001") != first


@pytest.mark.parametrize(("key", "device", "message"), [("", "34020000001320000001", "master key is empty"),
                                                         ("master", "", "device id is empty")])
def test_refuses_empty_inputs(key: str, device: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        derive_device_sip_password(key, device)


def _run_filter(expression: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    ansible = Path(sys.executable).with_name("ansible")
    return subprocess.run(
        [str(ansible), "localhost", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
         "-m", "ansible.builtin.debug", "-a", f"msg={{{{ {expression} }}}}"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_ansible_filter_gives_the_same_password() -> None:
    key, device, expected = KNOWN_VECTOR
    result = _run_filter(f"'{key}' | safecity.devices.gb_device_password('{device}')")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_ansible_filter_error_names_the_device_not_the_key() -> None:
    result = _run_filter("'' | safecity.devices.gb_device_password('34020000001320000009')")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "device 34020000001320000009: master key is empty" in output
