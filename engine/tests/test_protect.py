import pytest

from engine.protect import ProtectError, Protector, generate_key


@pytest.fixture(params=["aes", "sm"])
def protector(request):
    return Protector.from_settings(request.param, generate_key(), generate_key())


def test_hashes_are_deterministic_and_keyed(protector):
    other = Protector.from_settings(protector.suite, generate_key(), generate_key())
    assert protector.hash("52263019900101123X") == protector.hash("52263019900101123X")
    assert protector.hash("52263019900101123X") != other.hash("52263019900101123X")
    assert len(protector.hash("x")) == 64


def test_encryption_round_trips_and_hides_equal_values(protector):
    a = protector.encrypt("52263019900101123X", context=b"m")
    b = protector.encrypt("52263019900101123X", context=b"m")
    assert a != b
    assert "52263019900101123X" not in a
    assert protector.decrypt(a, context=b"m") == "52263019900101123X"


def test_tampering_or_a_wrong_context_fails_authentication(protector):
    token = protector.encrypt("secret", context=b"m")
    with pytest.raises(ProtectError):
        protector.decrypt(token, context=b"other")
    suite, payload = token.split(":")
    flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
    with pytest.raises(ProtectError):
        protector.decrypt(f"{suite}:{flipped}", context=b"m")


def test_a_malformed_key_is_refused():
    with pytest.raises(ProtectError):
        Protector.from_settings("aes", "short", generate_key())
    with pytest.raises(ProtectError):
        Protector.from_settings("des", generate_key(), generate_key())
