import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.webhook_signature import SignatureVerificationError, signature_header, verify_signature

SECRET = "whsec_test"


@given(st.binary(max_size=2000), st.integers(1_600_000_000, 2_100_000_000))
def test_a_signed_payload_verifies(payload: bytes, t: int) -> None:
    assert verify_signature(payload, signature_header(SECRET, payload, t), SECRET, now=t) == t


@given(st.binary(min_size=1, max_size=200), st.integers(0, 199))
def test_any_changed_byte_is_refused(payload: bytes, index: int) -> None:
    header = signature_header(SECRET, payload, 1_800_000_000)
    tampered = bytearray(payload)
    tampered[index % len(payload)] ^= 0x01
    with pytest.raises(SignatureVerificationError, match="does not match"):
        verify_signature(bytes(tampered), header, SECRET, now=1_800_000_000)


def test_wrong_secret_old_timestamps_and_garbage_are_refused() -> None:
    header = signature_header(SECRET, b"{}", 1_800_000_000)
    with pytest.raises(SignatureVerificationError, match="does not match"):
        verify_signature(b"{}", header, "whsec_other", now=1_800_000_000)
    with pytest.raises(SignatureVerificationError, match="300 seconds"):
        verify_signature(b"{}", header, SECRET, now=1_800_000_301)
    for bad in (None, "", "v1=abc", "t=123", "nonsense"):
        with pytest.raises(SignatureVerificationError):
            verify_signature(b"{}", bad, SECRET, now=1_800_000_000)


def test_rotation_accepts_any_matching_v1() -> None:
    good = signature_header(SECRET, b"{}", 1_800_000_000).split(",")[1]
    assert verify_signature(b"{}", f"t=1800000000,v1=deadbeef,{good}", SECRET, now=1_800_000_000)
