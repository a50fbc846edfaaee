"""core/signing.py and core/canonical.py: which signature applies, what it covers, and that a
forged or malformed sign is never accepted. Each test states what a merchant relies on."""

from __future__ import annotations

import base64
import hashlib

import pytest
from conftest import load_vectors

from epaycli.core.canonical import (
    blank_fields,
    canonical_string,
    has_blank_values,
    join_fields,
    signed_fields,
)
from epaycli.core.errors import InputError, KeyFormatError
from epaycli.core.signing import (
    Keys,
    Md5Key,
    RsaKeys,
    SignType,
    UnknownSignType,
    constant_time_equal,
    load_private_key,
    load_public_key,
    looks_like_md5_key,
    md5_sign,
    md5_verify,
    pick_sign_type,
    rsa_sign,
    rsa_verify,
    rsa_verify_message,
    sign,
    signed_string,
    verify,
)

V2 = load_vectors("v2-rsa")
NOTIFY_V2 = V2["platform_signed"][0]
KEY = "89unJUB8HZ54Hj7x4nUj56HN4nUzUJ8i"
ORDER = {"pid": "1001", "type": "alipay", "out_trade_no": "A1", "name": "VIP", "money": "1.00"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def bare_base64(pem: str) -> str:
    """What an Epay panel shows: the PEM body without its BEGIN/END lines."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


@pytest.fixture(scope="module")
def platform():
    return (load_private_key(V2["platform_private_key_pem"]),
            load_public_key(V2["platform_public_key_pem"]))


@pytest.fixture(scope="module")
def merchant_public():
    return load_public_key(V2["merchant_public_key_pem"])


# ---- which signature applies ------------------------------------------------------------------


def test_sign_type_values_are_what_the_wire_carries():
    assert SignType.MD5 == "MD5" and SignType.RSA == "RSA"
    assert str(SignType.RSA) == "RSA"


@pytest.mark.parametrize("declared, expected", [("MD5", SignType.MD5), ("md5", SignType.MD5),
                                                ("RSA", SignType.RSA), ("rsa", SignType.RSA)])
def test_a_declared_sign_type_wins_over_the_shape_of_the_sign(declared, expected):
    other_shape = "A" * 344 if expected is SignType.MD5 else "a" * 32
    assert pick_sign_type({"sign_type": declared, "sign": other_shape}) is expected
    assert pick_sign_type({"sign_type": declared}, preferred=SignType.RSA
                          if expected is SignType.MD5 else SignType.MD5) is expected


def test_an_unknown_sign_type_is_refused_with_a_code_and_a_short_quote():
    with pytest.raises(UnknownSignType) as raised:
        pick_sign_type({"sign_type": "SHA1"})
    assert isinstance(raised.value, InputError) and raised.value.code == "unknown_sign_type"
    assert "'SHA1'" in raised.value.message
    with pytest.raises(UnknownSignType) as raised:
        pick_sign_type({"sign_type": "X" * 100})
    assert "X" * 24 + "…" in raised.value.message and "X" * 25 not in raised.value.message
    with pytest.raises(UnknownSignType) as raised:
        pick_sign_type({"sign_type": "Y" * 24})
    assert "'" + "Y" * 24 + "'" in raised.value.message


def test_without_sign_type_the_shape_of_the_sign_decides():
    assert pick_sign_type({"sign": "0123456789abcdefABCDEF0123456789"},
                          preferred=SignType.RSA) is SignType.MD5
    assert pick_sign_type({"sign": NOTIFY_V2["rsa_sign"]}) is SignType.RSA
    assert pick_sign_type({"sign": "A" * 40}) is SignType.RSA
    assert pick_sign_type({"sign": "Ab+/" * 10 + "=="}) is SignType.RSA


@pytest.mark.parametrize("sign", ["", "a" * 31, "a" * 33, "g" * 32, "A" * 39, "A" * 40 + "===",
                                  "A" * 40 + "!", " " + "a" * 32])
def test_a_sign_of_neither_shape_leaves_the_preferred_type(sign):
    params = {"sign": sign} if sign else {}
    assert pick_sign_type(params) is SignType.MD5
    assert pick_sign_type(params, preferred=SignType.RSA) is SignType.RSA


def test_an_empty_sign_type_counts_as_not_declared():
    assert pick_sign_type({"sign_type": "", "sign": "A" * 344}) is SignType.RSA


def test_keys_prefer_rsa_only_when_no_merchant_key_is_given(platform):
    _private, public = platform
    assert Keys(rsa=RsaKeys(public=public)).preferred is SignType.RSA
    assert Keys(md5=Md5Key(KEY), rsa=RsaKeys(public=public)).preferred is SignType.MD5
    assert Keys(md5=Md5Key(KEY)).preferred is SignType.MD5
    assert Keys().preferred is SignType.MD5


def test_keys_hand_out_the_key_each_direction_needs(platform):
    private, public = platform
    md5_key, pair = Md5Key(KEY), RsaKeys(private=private, public=public)
    keys = Keys(md5=md5_key, rsa=pair)
    assert keys.to_verify(SignType.MD5) is md5_key and keys.to_sign(SignType.MD5) is md5_key
    assert keys.to_verify(SignType.RSA) is pair and keys.to_sign(SignType.RSA) is pair


VERIFY_MD5 = "this is MD5-signed and no merchant key was given"
SIGN_MD5 = "signing MD5 needs the merchant key, and none was given"
VERIFY_RSA = "this is RSA-signed (V2) and no RSA public key was given"
SIGN_RSA = "sign_type is RSA but no RSA private key was given"


@pytest.mark.parametrize("keys, direction, sign_type, code, message", [
    (Keys(), "to_verify", SignType.MD5, "missing_md5_key", VERIFY_MD5),
    (Keys(), "to_sign", SignType.MD5, "missing_md5_key", SIGN_MD5),
    (Keys(md5=Md5Key(KEY)), "to_verify", SignType.RSA, "missing_public_key", VERIFY_RSA),
    (Keys(md5=Md5Key(KEY)), "to_sign", SignType.RSA, "missing_private_key", SIGN_RSA),
    (Keys(rsa=RsaKeys()), "to_verify", SignType.RSA, "missing_public_key", VERIFY_RSA),
    (Keys(rsa=RsaKeys()), "to_sign", SignType.RSA, "missing_private_key", SIGN_RSA),
])
def test_a_missing_key_is_a_key_error_with_its_code(keys, direction, sign_type, code, message):
    with pytest.raises(KeyFormatError) as raised:
        getattr(keys, direction)(sign_type)
    assert raised.value.code == code
    assert raised.value.message == message


def test_a_public_key_alone_cannot_sign_and_a_private_key_alone_cannot_verify(platform):
    private, public = platform
    with pytest.raises(KeyFormatError) as raised:
        Keys(rsa=RsaKeys(public=public)).to_sign(SignType.RSA)
    assert raised.value.code == "missing_private_key"
    with pytest.raises(KeyFormatError) as raised:
        Keys(rsa=RsaKeys(private=private)).to_verify(SignType.RSA)
    assert raised.value.code == "missing_public_key"
    with pytest.raises(KeyFormatError) as raised:
        sign(ORDER, RsaKeys(public=public))
    assert raised.value.code == "missing_private_key"
    assert raised.value.message == "signing RSA needs a private key, and none was given"
    with pytest.raises(KeyFormatError) as raised:
        verify({**ORDER, "sign": "x"}, RsaKeys(private=private))
    assert raised.value.code == "missing_public_key"
    assert raised.value.message == "checking an RSA sign needs a public key, and none was given"


def test_an_empty_merchant_key_is_refused_everywhere():
    with pytest.raises(KeyFormatError) as raised:
        Md5Key("")
    assert raised.value.code == "missing_md5_key"
    assert raised.value.message == "no merchant key was given"
    for call in (lambda: md5_sign(ORDER, ""), lambda: md5_verify({**ORDER, "sign": "0" * 32}, "")):
        with pytest.raises(KeyFormatError) as raised:
            call()
        assert raised.value.code == "missing_md5_key"
        assert raised.value.message == "no merchant key was given"


def test_a_merchant_key_never_shows_whole_in_its_repr():
    shown = repr(Md5Key(KEY))
    assert KEY not in shown and shown == "Md5Key(89un…UJ8i)"


# ---- MD5 ------------------------------------------------------------------------------------


def test_md5_sign_is_lowercase_md5_of_the_canonical_string_with_the_key_appended():
    expected = md5("money=1.00&name=VIP&out_trade_no=A1&pid=1001&type=alipay" + KEY)
    assert md5_sign(ORDER, KEY) == expected
    assert sign(ORDER, Md5Key(KEY)) == expected
    assert verify({**ORDER, "sign": expected}, Md5Key(KEY))


def test_md5_verify_refuses_a_wrong_sign_and_a_wrong_key():
    good = md5_sign(ORDER, KEY)
    assert not md5_verify({**ORDER, "sign": good.replace(good[0], "f" if good[0] != "f" else "e")}, KEY)
    assert not md5_verify({**ORDER, "sign": good}, "Z" * 32)
    assert not md5_verify({**ORDER, "sign": good.upper()}, KEY)  # the gateway compares exactly
    assert not md5_verify(ORDER, KEY)  # no sign at all


def test_md5_verify_checks_the_sign_it_is_given_over_the_one_in_the_params():
    good = md5_sign(ORDER, KEY)
    assert md5_verify({**ORDER, "sign": "0" * 32}, KEY, good)
    assert not md5_verify({**ORDER, "sign": good}, KEY, "0" * 32)
    assert verify({**ORDER, "sign": "0" * 32}, Md5Key(KEY), good)
    assert not verify({**ORDER, "sign": good}, Md5Key(KEY), "0" * 32)


def test_whitespace_only_values_verify_under_either_server_variant():
    params = {**ORDER, "param": "  "}
    kept, dropped = md5_sign(params, KEY, blanks="keep"), md5_sign(params, KEY, blanks="drop")
    assert kept != dropped
    assert sign(params, Md5Key(KEY), blanks="drop") == dropped
    assert sign(params, Md5Key(KEY)) == kept  # the official SDK keeps them by default
    assert md5_verify({**params, "sign": kept}, KEY)
    assert md5_verify({**params, "sign": dropped}, KEY)
    # The trimmed variant is only a variant: a sign over different fields stays wrong.
    assert not md5_verify({**params, "sign": md5_sign({**ORDER, "money": "2"}, KEY)}, KEY)


def test_without_blank_values_the_trimmed_variant_is_not_offered():
    # A sign over the fields minus 'name' must not pass just because 'name' could be "dropped".
    params = {**ORDER, "param": "x"}
    assert not md5_verify({**params, "sign": md5_sign(ORDER, KEY)}, KEY)


def test_the_key_shape_check_accepts_epay_keys_and_flags_copy_mistakes():
    assert looks_like_md5_key(KEY)
    assert looks_like_md5_key("0" * 32)
    for bad in ("", KEY[:-1], KEY + "x", KEY[:-1] + "-", " " + KEY[1:], KEY[:31] + "\n"):
        assert not looks_like_md5_key(bad), bad


def test_constant_time_equal_is_plain_equality_over_any_text():
    assert constant_time_equal("abc", "abc")
    assert not constant_time_equal("abc", "abd")
    assert not constant_time_equal("abc", "abcd")
    assert constant_time_equal("会员", "会员")
    assert not constant_time_equal("\ud800", "x")  # a lone surrogate does not crash it


# ---- the signed string ----------------------------------------------------------------------


def test_the_signed_string_is_sorted_by_byte_and_leaves_out_sign_sign_type_and_empties():
    params = {"b": "2", "a": "1", "B": "3", "sign": "s", "sign_type": "MD5", "e": "", "_": "u"}
    assert canonical_string(params) == "B=3&_=u&a=1&b=2"
    assert signed_fields(params) == [("B", "3"), ("_", "u"), ("a", "1"), ("b", "2")]
    assert signed_fields(params, blanks="drop") == signed_fields(params)
    assert signed_fields({"a": " ", "b": "1"}) == [("a", " "), ("b", "1")]  # keeps by default


def test_blank_values_are_kept_or_dropped_as_asked_and_zero_is_never_dropped():
    params = {"a": " \t", "b": "0", "c": "\x0b\0", "d": "\f", "e": ""}
    assert canonical_string(params) == "a= \t&b=0&c=\x0b\0&d=\f"
    assert canonical_string(params, blanks="drop") == "b=0&d=\f"  # PHP trim() keeps \f
    assert blank_fields(params) == ["a", "c"]
    assert has_blank_values(params) and not has_blank_values({"b": "0", "e": "", "d": "\f"})


def test_signed_fields_of_the_smallest_callbacks():
    assert signed_fields({}) == [] and canonical_string({}) == ""
    assert signed_fields({"a": "1"}) == [("a", "1")]
    assert signed_fields({"sign": "x"}) == []


def test_signed_fields_drop_only_what_php_trim_empties():
    params = {"a": "\f", "b": "\u3000", "c": " \t", "d": "1"}
    assert signed_fields(params, blanks="drop") == [("a", "\f"), ("b", "\u3000"), ("d", "1")]
    assert [name for name, _ in signed_fields(params)] == ["a", "b", "c", "d"]


def test_signed_fields_in_phps_order_keep_blank_values_when_asked():
    from epaycli.core.canonical import SortOrder

    params = {"10": "a", "9": " ", "x": "1"}
    for array in ("unsigned", "received", "signed"):
        order = SortOrder(array=array)
        assert signed_fields(params, order=order) == [("9", " "), ("10", "a"), ("x", "1")]
        assert signed_fields(params, blanks="drop", order=order) == [("10", "a"), ("x", "1")]


def test_values_are_joined_raw():
    assert join_fields([("url", "https://x/?a=1&b=2"), ("n", "会员 +")]) == \
        "url=https://x/?a=1&b=2&n=会员 +"
    assert join_fields([]) == ""


def test_the_signed_string_of_each_type(platform):
    params = {**ORDER, "param": " "}
    assert signed_string(params, SignType.RSA) == canonical_string(ORDER)
    assert signed_string(params, SignType.RSA, blanks="keep") == canonical_string(ORDER)
    assert signed_string(params, SignType.MD5) == canonical_string(params)
    assert signed_string(params, SignType.MD5, blanks="drop") == canonical_string(ORDER)


# ---- RSA ------------------------------------------------------------------------------------


def test_rsa_signs_verify_and_match_the_vector(platform):
    private, public = platform
    params = {**NOTIFY_V2["params"], "sign": NOTIFY_V2["rsa_sign"]}
    assert rsa_verify(params, public)
    assert verify(params, RsaKeys(public=public))
    made = sign(NOTIFY_V2["params"], RsaKeys(private=private))
    assert made == rsa_sign(NOTIFY_V2["params"], private) == NOTIFY_V2["rsa_sign"]


def test_rsa_leaves_whitespace_only_values_out(platform):
    private, public = platform
    params = {**NOTIFY_V2["params"], "param": "  "}
    made = rsa_sign(params, private)
    assert made == NOTIFY_V2["rsa_sign"]
    assert rsa_verify({**params, "sign": made}, public)


def test_rsa_verify_refuses_another_key_and_changed_data(platform, merchant_public):
    _, public = platform
    params = {**NOTIFY_V2["params"], "sign": NOTIFY_V2["rsa_sign"]}
    assert not rsa_verify(params, merchant_public)
    assert not rsa_verify({**params, "money": "100"}, public)


def test_rsa_verify_checks_the_sign_it_is_given_over_the_one_in_the_params(platform):
    _, public = platform
    good = NOTIFY_V2["rsa_sign"]
    params = NOTIFY_V2["params"]
    assert rsa_verify({**params, "sign": "AAAA"}, public, good)
    assert not rsa_verify({**params, "sign": good}, public, "AAAA")
    assert verify({**params, "sign": "AAAA"}, RsaKeys(public=public), good)


@pytest.mark.parametrize("forged", [
    "not base64 at all!",
    "====",
    "A",
    "",
    "AAAA",  # valid base64, far too short for a signature
])
def test_a_malformed_rsa_sign_is_simply_not_genuine(platform, forged):
    _, public = platform
    assert rsa_verify({**NOTIFY_V2["params"], "sign": forged}, public) is False
    assert rsa_verify_message(NOTIFY_V2["canonical"], forged, public) is False


def test_an_rsa_callback_without_a_sign_is_not_genuine(platform):
    _, public = platform
    assert rsa_verify(NOTIFY_V2["params"], public) is False
    assert verify(NOTIFY_V2["params"], RsaKeys(public=public)) is False


@pytest.mark.parametrize("noise", ["*", "!", "\n", " ", "-", "."])
def test_a_genuine_rsa_sign_with_foreign_characters_is_refused(platform, noise):
    """A lenient base64 decoder would drop the stray characters and accept the sign; the
    gateway's own check would not, and neither does epay: base64 is read strictly."""
    _, public = platform
    good = NOTIFY_V2["rsa_sign"]
    assert rsa_verify_message(NOTIFY_V2["canonical"], good, public)
    spoiled = good[:10] + noise + good[10:]
    assert rsa_verify_message(NOTIFY_V2["canonical"], spoiled, public) is False


# ---- loading RSA keys -------------------------------------------------------------------------


def test_a_platform_public_key_as_bare_base64_der_is_what_panels_show(platform):
    _, public = platform
    bare = bare_base64(V2["platform_public_key_pem"])
    loaded = load_public_key(bare)
    params = {**NOTIFY_V2["params"], "sign": NOTIFY_V2["rsa_sign"]}
    assert rsa_verify(params, loaded)
    assert loaded.public_numbers() == public.public_numbers()
    # Pasted with line breaks, surrounding spaces, a BOM, or as bytes: the same key.
    wrapped = "\n".join(bare[i:i + 64] for i in range(0, len(bare), 64))
    for variant in (f"  {wrapped}\n", "\ufeff" + bare, bare.encode("ascii"),
                    V2["platform_public_key_pem"].encode("ascii")):
        assert load_public_key(variant).public_numbers() == public.public_numbers()


def test_a_private_key_as_bare_base64_der_in_pkcs8_and_pkcs1(platform):
    from cryptography.hazmat.primitives import serialization

    private, _ = platform
    pkcs8 = load_private_key(bare_base64(V2["platform_private_key_pem"]))
    assert rsa_sign(ORDER, pkcs8) == rsa_sign(ORDER, private)
    pkcs1_pem = private.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()).decode()
    assert "BEGIN RSA PRIVATE KEY" in pkcs1_pem
    for material in (pkcs1_pem, bare_base64(pkcs1_pem), pkcs1_pem.encode()):
        assert rsa_sign(ORDER, load_private_key(material)) == rsa_sign(ORDER, private)


def test_a_private_key_where_the_public_key_belongs_is_named():
    with pytest.raises(KeyFormatError) as raised:
        load_public_key(V2["platform_private_key_pem"], source="the platform key")
    assert "the platform key is a private key" in raised.value.message
    assert "平台公钥" in raised.value.hint


@pytest.mark.parametrize("material", ["", "  \n ", "\ufeff"])
def test_an_empty_key_is_refused(material):
    with pytest.raises(KeyFormatError) as raised:
        load_public_key(material, source="KEYFILE")
    assert raised.value.message == "KEYFILE is empty"
    assert raised.value.hint == "expected an RSA public key (SPKI, PEM or bare base64)"
    with pytest.raises(KeyFormatError) as raised:
        load_public_key(material)
    assert raised.value.message == "the public key is empty"
    with pytest.raises(KeyFormatError) as raised:
        load_private_key(material)
    assert raised.value.message == "the private key is empty"
    assert raised.value.hint == "expected an RSA private key (PKCS#8 or PKCS#1, PEM or bare base64)"


@pytest.mark.parametrize("material", [
    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    "not a key at all",
    "QUJD",  # valid base64 that is not DER
    "@@@@",
])
def test_unreadable_key_material_is_a_key_error_not_a_crash(material):
    with pytest.raises(KeyFormatError) as raised:
        load_public_key(material, source="KEYFILE")
    assert raised.value.message.startswith("KEYFILE ")
    assert "check you copied it whole" in raised.value.hint
    with pytest.raises(KeyFormatError):
        load_private_key(material.replace("PUBLIC", "PRIVATE"))


def test_a_public_key_is_not_taken_for_a_private_key():
    with pytest.raises(KeyFormatError):
        load_private_key(V2["platform_public_key_pem"])
    with pytest.raises(KeyFormatError):
        load_private_key(bare_base64(V2["platform_public_key_pem"]))


def test_a_key_that_is_not_rsa_is_named():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyFormatError) as raised:
        load_private_key(private_pem, source="KEYFILE")
    assert raised.value.message == "KEYFILE is not an RSA key"
    assert raised.value.hint == "Epay V2 uses 2048-bit RSA keys"
    with pytest.raises(KeyFormatError) as raised:
        load_public_key(base64.b64encode(public_der).decode(), source="KEYFILE")
    assert raised.value.message == "KEYFILE is not an RSA key"
    assert raised.value.hint == "Epay V2 uses 2048-bit RSA keys"


def test_which_variant_a_genuine_sign_covers(platform):
    from epaycli.core.canonical import SIGNER_ORDER, SortOrder
    from epaycli.core.ksort import PhpVersion
    from epaycli.core.signing import SignMatch, md5_match, rsa_match, verify_match

    private, public = platform
    params = {**NOTIFY_V2["params"], "sign": NOTIFY_V2["rsa_sign"]}
    assert rsa_match(params, public) == SignMatch(SIGNER_ORDER, "drop")
    assert verify_match(params, RsaKeys(public=public)).default_order
    assert rsa_match({**params, "money": "2"}, public) is None
    assert md5_match({**ORDER, "sign": md5_sign(ORDER, KEY)}, KEY) == SignMatch()
    blank = {**ORDER, "param": " "}
    dropped = md5_match({**blank, "sign": md5_sign(blank, KEY, blanks="drop")}, KEY)
    assert dropped == SignMatch(SIGNER_ORDER, "drop") and dropped.name == "php8.2,blanks-dropped"
    numeric = {**ORDER, "10": "a"}
    older = canonical_string(numeric, order=SortOrder(version=PhpVersion.PHP80))
    match = md5_match({**numeric, "sign": md5(older + KEY)}, KEY)
    assert match.order.version is PhpVersion.PHP80 and not match.default_order
    rsa_older = rsa_match({**numeric, "sign": rsa_sign_over(private, older)}, public)
    assert rsa_older.order.version is PhpVersion.PHP80 and rsa_older.blanks == "drop"


def rsa_sign_over(private, string: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return base64.b64encode(private.sign(string.encode(), padding.PKCS1v15(),
                                         hashes.SHA256())).decode()
