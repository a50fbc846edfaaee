"""PHP's ksort order for numeric-looking names: the comparison, PHP's own sort algorithm, and
what signing and verifying do with it — checked against vectors PHP made (php-ksort.json from
the spec; php-ksort-extra.json from tests/vectors/make/php-ksort-extra.php), through the
library and through ``epay sign`` / ``epay verify``."""

from __future__ import annotations

import json
import random
import string

import pytest
from conftest import load_vectors
from hypothesis import given, settings
from hypothesis import strategies as st

from epaycli.core.callback import check_callback
from epaycli.core.canonical import (
    SIGNER_ORDER,
    SORT_ORDERS,
    SortOrder,
    canonical_string,
    order_notes,
    other_orders,
    php_sorted_names,
    signed_fields,
)
from epaycli.core.diagnose import diagnose_md5
from epaycli.core.ksort import (
    DEFAULT_VERSION,
    PhpVersion,
    array_key,
    compare_keys,
    ksort_names,
    leading_number,
    may_differ_from_byte_order,
    numeric_string,
    zend_sort,
)
from epaycli.core.params import format_query
from epaycli.core.signing import Keys, Md5Key, md5_hex, md5_match, md5_sign, md5_verify

SPEC = load_vectors("php-ksort")
EXTRA = load_vectors("php-ksort-extra")
KEY = SPEC["key"]
assert EXTRA["key"] == KEY


def _params(case) -> dict[str, str]:
    return dict(case["pairs"])


def _full_ksort(names, version=DEFAULT_VERSION):
    """PHP's algorithm without the fast path: what ksort_names must equal."""
    keyed = [(array_key(name), position, name) for position, name in enumerate(names)]

    def greater(a, b):
        result = compare_keys(a[0], b[0], version)
        if version is PhpVersion.PHP7:
            return result > 0
        return result > 0 if result else a[1] > b[1]

    zend_sort(keyed, greater)
    return [name for _, _, name in keyed]


# ---- the spec's vectors (PHP 8.2) -------------------------------------------------------------


@pytest.mark.parametrize("case", SPEC["cases"], ids=lambda c: c["canonical"][:40])
def test_spec_vectors_library(case):
    params = _params(case)
    assert canonical_string(params) == case["canonical"]
    assert md5_sign(params, KEY) == case["sign"]
    received = {**params, "sign": case["sign"], "sign_type": "MD5"}
    match = md5_match(received, KEY)
    assert match is not None
    assert md5_verify(received, KEY)


@pytest.mark.parametrize("case", SPEC["cases"], ids=lambda c: c["canonical"][:40])
def test_spec_vectors_cli(cli, case):
    signed = cli("sign", "--from", "-", "--key", KEY, "--json", stdin=json.dumps(_params(case)))
    assert signed.code == 0, signed.stderr
    document = json.loads(signed.stdout)
    assert (document["sign"], document["canonical"]) == (case["sign"], case["canonical"])
    query = format_query({**_params(case), "sign": case["sign"], "sign_type": "MD5"})
    verified = cli("verify", "--key", KEY, stdin=query)
    assert (verified.code, verified.stdout) == (0, "valid\n"), verified.stderr


def test_spec_vectors_differ_from_byte_order():
    """The vectors are worth having: plain byte order gets most of them wrong."""
    wrong = [c for c in SPEC["cases"]
             if "&".join(f"{k}={v}" for k, v in sorted(c["pairs"]) if v) != c["canonical"]]
    assert len(wrong) >= 5


# ---- vectors made here with PHP (see tests/vectors/make/php-ksort-extra.php) -----------------


def test_extra_vectors_are_php_8_2_on_64_bit():
    assert EXTRA["php"].startswith("8.2") and EXTRA["int_size"] == 8
    assert len(EXTRA["cases"]) > 300
    assert max(len(c["pairs"]) for c in EXTRA["cases"]) >= 1024  # median-of-5 quicksort path
    assert sum(c["order"] != c["order_with_sign"] for c in EXTRA["cases"]) >= 20
    assert sum(c["canonical"] != c["canonical_filtered"] for c in EXTRA["cases"]) >= 20


@pytest.mark.parametrize("index", range(len(EXTRA["cases"])))
def test_extra_vectors_library(index):
    case = EXTRA["cases"][index]
    params = _params(case)
    names = [name for name, _ in case["pairs"]]
    assert ksort_names(names) == case["order"]
    assert php_sorted_names(params) == case["order"]
    assert canonical_string(params) == case["canonical"]
    assert md5_sign(params, KEY) == case["sign"]
    received = {**params, "sign": case["sign"], "sign_type": "MD5"}
    with_sign = SortOrder(array="received")
    assert [n for n in php_sorted_names(received, with_sign)
            if n not in ("sign", "sign_type")] == case["order_with_sign"]
    assert canonical_string(received, order=with_sign) == case["canonical_with_sign"]
    filtered = SortOrder(array="signed")
    assert php_sorted_names(received, filtered) == case["order_filtered"]
    assert canonical_string(received, order=filtered) == case["canonical_filtered"]
    assert md5_verify(received, KEY)
    for other in ("canonical_with_sign", "canonical_filtered"):
        assert md5_verify({**received, "sign": md5_hex(case[other] + KEY)}, KEY)


def _cli_cases():
    """Extra cases a CLI can carry: the ones whose order is not plain byte order."""
    cases = [c for c in EXTRA["cases"]
             if c["order"] != sorted(c["order"]) and len(c["pairs"]) < 100]
    return cases[:25]


@pytest.mark.parametrize("case", _cli_cases(), ids=lambda c: c["sign"][:8])
def test_extra_vectors_cli(cli, case):
    from epaycli.core.php import colliding_names

    params = _params(case)
    signed = cli("sign", "--from", "-", "--key", KEY, "--json", stdin=json.dumps(params))
    assert signed.code == 0, signed.stderr
    document = json.loads(signed.stdout)
    assert (document["sign"], document["canonical"]) == (case["sign"], case["canonical"])
    verified = cli("verify", "--key", KEY, "--json", stdin=document["query"])
    verdict = json.loads(verified.stdout)
    assert verdict["signature_valid"] is True, verified.stderr
    codes = [problem["code"] for problem in verdict["problems"]]
    # e.g. '5.' and '5 ' are both '5_' to PHP's parser
    assert ("php_names_collide" in codes) == bool(colliding_names(params))
    assert verified.code == (3 if codes else 0)
    assert verdict["valid"] is (not codes)


def test_verify_accepts_the_with_sign_order_and_says_so(cli):
    case = next(c for c in EXTRA["cases"]
                if c["canonical"] != c["canonical_with_sign"] and len(c["pairs"]) < 20)
    params = _params(case)
    sign = md5_hex(case["canonical_with_sign"] + KEY)
    received = {**params, "sign": sign, "sign_type": "MD5"}
    match = md5_match(received, KEY)
    assert match is not None and match.order.with_sign and not match.default_order
    report = check_callback(received, Keys(md5=Md5Key(KEY)))
    assert report.signature_valid
    assert any("with sign and sign_type in the array" in note for note in report.notes)
    result = cli("verify", "--key", KEY, stdin=format_query(received))
    assert "with sign and sign_type in the array" in result.stderr
    # Filtered before sorting (older SDKs): accepted and named too.
    case = next(c for c in EXTRA["cases"] if c["canonical_filtered"] not in
                (c["canonical"], c["canonical_with_sign"]) and len(c["pairs"]) < 20)
    params = _params(case)
    received = {**params, "sign": md5_hex(case["canonical_filtered"] + KEY), "sign_type": "MD5"}
    match = md5_match(received, KEY)
    assert match is not None and match.order.array == "signed" and match.name == "php8.2+filtered"
    report = check_callback(received, Keys(md5=Md5Key(KEY)))
    assert any("of the signed fields alone" in note for note in report.notes)
    # The SDK's own order is the default: no such note.
    plain = check_callback({**params, "sign": case["sign"], "sign_type": "MD5"},
                           Keys(md5=Md5Key(KEY)))
    assert plain.signature_valid and not any("ksort" in n for n in plain.notes)


# ---- the other PHP versions (from PHP's source; no such PHP here to measure) -----------------

LEGACY = {"pid": "1001", "10": "a", "abc": "b", "money": "1.00"}


def test_php8_0_compares_an_int_key_with_a_word_as_with_zero():
    assert compare_keys(10, "abc", PhpVersion.PHP82) < 0  # "10" < "abc" as text
    assert compare_keys(10, "abc", PhpVersion.PHP80) > 0  # 10 > 0
    assert compare_keys(-1, "abc", PhpVersion.PHP80) < 0
    assert compare_keys(0, "abc", PhpVersion.PHP80) == 0
    assert compare_keys("abc", 10, PhpVersion.PHP80) < 0
    assert compare_keys(9, "1f", PhpVersion.PHP80) > 0  # against the leading number 1
    assert compare_keys(1, "1f", PhpVersion.PHP80) == 0
    assert compare_keys(1, "1.5x", PhpVersion.PHP80) < 0
    assert compare_keys(2, "1.5x", PhpVersion.PHP7) > 0
    assert ksort_names(list(LEGACY), PhpVersion.PHP82) == ["10", "abc", "money", "pid"]
    assert ksort_names(list(LEGACY), PhpVersion.PHP80) == ["abc", "money", "pid", "10"]


def test_verify_accepts_the_php8_0_order_and_says_so():
    legacy = SortOrder(PhpVersion.PHP80)
    sign = md5_hex(canonical_string(LEGACY, order=legacy) + KEY)
    assert canonical_string(LEGACY, order=legacy) == "abc=b&money=1.00&pid=1001&10=a"
    match = md5_match({**LEGACY, "sign": sign}, KEY)
    assert match is not None and match.order == legacy and match.name == "php8.0"
    report = check_callback({**LEGACY, "sign": sign, "sign_type": "MD5"}, Keys(md5=Md5Key(KEY)))
    assert report.genuine
    assert any("PHP 8.0/8.1 ksort order" in note for note in report.notes)
    # A sign over another string still fails, whatever the order.
    assert md5_match({**LEGACY, "sign": md5_hex("abc=b&pid=1001&10=a" + KEY)}, KEY) is None


def test_php7_numeric_strings_allow_no_trailing_whitespace():
    assert numeric_string("5 ") == (False, 5, 0)
    assert numeric_string("5 ", trailing_whitespace=False) is None
    assert compare_keys("5 ", "10", PhpVersion.PHP82) < 0
    assert compare_keys("5 ", "10", PhpVersion.PHP80) < 0
    assert compare_keys("5 ", "10", PhpVersion.PHP7) > 0  # bytes: '5' > '1'


def test_php7_ties_are_not_stable():
    """1 and '1.0' are equal to PHP; PHP 8 keeps arrival order, PHP 7's insertion sort puts
    the later one first when its scan ends at the first slot (measured on 8.2: 1.0,1,2…)."""
    names = ["1.0", "2", "3", "4", "5", "6", "1"]
    assert ksort_names(names, PhpVersion.PHP82) == ["1.0", "1", "2", "3", "4", "5", "6"]
    assert ksort_names(names, PhpVersion.PHP80) == ["1.0", "1", "2", "3", "4", "5", "6"]
    assert ksort_names(names, PhpVersion.PHP7) == ["1", "1.0", "2", "3", "4", "5", "6"]


def test_sort_order_names_and_descriptions():
    assert [o.name for o in SORT_ORDERS] == [
        "php8.2", "php8.2+sign", "php8.2+filtered", "php8.0", "php8.0+sign", "php8.0+filtered",
        "php7", "php7+sign", "php7+filtered"]
    assert SORT_ORDERS[0] == SIGNER_ORDER
    assert SIGNER_ORDER.description == "PHP 8.2+ ksort order"
    assert SortOrder(PhpVersion.PHP7, "received").description == \
        "PHP 7 ksort order with sign and sign_type in the array"
    assert SortOrder(array="received").with_sign and not SortOrder(array="signed").with_sign


def test_filtered_arrangement_leaves_out_empty_and_blank_values_before_sorting():
    params = {"9": "a", "10": "", "1f": " ", "sign": "x", "pid": "1"}
    signed = SortOrder(array="signed")
    assert php_sorted_names(params, signed) == ["1f", "9", "pid"]
    assert php_sorted_names(params, signed, blanks="drop") == ["9", "pid"]
    assert php_sorted_names(params, SortOrder(array="received")) == ["9", "10", "1f", "pid",
                                                                      "sign"]


# ---- the pieces: array keys, numeric strings, the comparison ----------------------------------


@pytest.mark.parametrize("name, key", [
    ("10", 10), ("-1", -1), ("0", 0), ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -(2**63)), ("9223372036854775808", "9223372036854775808"),
    ("-9223372036854775809", "-9223372036854775809"), ("01", "01"), ("-0", "-0"),
    ("+5", "+5"), (" 5", " 5"), ("5 ", "5 "), ("1.0", "1.0"), ("1e1", "1e1"), ("", ""),
    ("-", "-"), ("١", "١"),  # a non-ASCII digit is no digit to PHP
])
def test_array_key(name, key):
    assert array_key(name) == key
    assert type(array_key(name)) is type(key)


@pytest.mark.parametrize("text, number", [
    ("5", (False, 5, 0)), (" 5", (False, 5, 0)), ("5\t\n\x0b\x0c\r ", (False, 5, 0)),
    ("+5", (False, 5, 0)), ("-0", (False, 0, 0)), ("007", (False, 7, 0)),
    ("5.", (True, 5.0, 0)), (".5", (True, 0.5, 0)), ("-.5", (True, -0.5, 0)),
    ("1e1", (True, 10.0, 0)), ("1E+2", (True, 100.0, 0)), ("1.e1", (True, 10.0, 0)),
    ("1e999", (True, float("inf"), 0)),
    ("9223372036854775807", (False, 2**63 - 1, 0)),
    ("9223372036854775808", (True, 9.223372036854776e18, 1)),
    ("-9223372036854775808", (False, -(2**63), 0)),
    ("-9223372036854775809", (True, -9.223372036854776e18, -1)),
    ("99999999999999999999", (True, 1e20, 1)),
    ("000000000000000000000001", (False, 1, 0)),  # leading zeros do not count
])
def test_numeric_string(text, number):
    assert numeric_string(text) == number


@pytest.mark.parametrize("text", ["", " ", "0x1A", "inf", "NAN", "1e", "1e+", "1_0", "1f",
                                  ".", "-", "+", "1.5.3", "5 x", "1 0", "١", "5\0"])
def test_not_numeric(text):
    assert numeric_string(text) is None


def test_leading_number():
    assert leading_number("1f") == (False, 1, 0)
    assert leading_number(" 12abc") == (False, 12, 0)
    assert leading_number("1e5x") == (True, 100000.0, 0)
    assert leading_number("1e") == (False, 1, 0)
    assert leading_number("abc") is None
    assert leading_number("9223372036854775808x") == (True, 9.223372036854776e18, 1)


def test_compare_keys_php_8_2():
    assert compare_keys(9, 10) < 0 and compare_keys(10, 9) > 0
    assert compare_keys(10, "1f") < 0  # "10" < "1f" as text
    assert compare_keys(9, "1f") > 0
    assert compare_keys("1f", 9) < 0
    assert compare_keys(10, "1e1") == 0  # 10 == 10.0
    assert compare_keys(9, "1e1") < 0
    assert compare_keys(10, " 10") == 0
    assert compare_keys("9.0", "10") < 0  # both numeric strings: as numbers
    assert compare_keys("9.0", "1x") > 0  # one is not: as bytes
    assert compare_keys("abc", "abd") < 0
    assert compare_keys("1e999", "2e999") < 0  # both infinite: the text decides
    assert compare_keys("1e999", "-1e999") > 0
    # Integers overflowing the same way compare as text; one overflowing beats any long.
    assert compare_keys("99999999999999999999", "99999999999999999998") > 0
    assert compare_keys("1", "99999999999999999999") < 0
    assert compare_keys("99999999999999999999", "1.5") > 0
    assert compare_keys("-99999999999999999999", "1") < 0


def test_non_transitive_names_need_phps_algorithm():
    """9 < 10 < '1f' < '9': the arrival order decides what PHP's sort compares (these three
    results were measured on PHP 8.2)."""
    assert compare_keys(9, 10) < 0 and compare_keys(10, "1f") < 0 and compare_keys("1f", 9) < 0
    assert ksort_names(["9", "10", "1f"]) == ["9", "10", "1f"]
    assert ksort_names(["1f", "10", "9"]) == ["9", "10", "1f"]
    assert ksort_names(["10", "1f", "9"]) == ["10", "1f", "9"]


def test_may_differ_from_byte_order():
    assert not may_differ_from_byte_order(["pid", "money", "type"])
    assert not may_differ_from_byte_order(["10", "pid"])  # one number alone sorts as text
    assert may_differ_from_byte_order(["10", "9", "pid"])
    assert may_differ_from_byte_order(["10", "pid"], PhpVersion.PHP80)  # int key vs word: 0
    assert not may_differ_from_byte_order(["1.5", "pid"], PhpVersion.PHP80)
    assert not may_differ_from_byte_order(["1a", "1b", "-x"])


# ---- zend_sort itself --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=2100))
def test_zend_sort_sorts_a_total_order(items):
    """With a consistent comparison every path (insertion, 3- and 5-median quicksort) sorts."""
    copy = list(items)
    zend_sort(copy, lambda a, b: a > b)
    assert copy == sorted(items)


def test_zend_sort_sorts_big_lists():
    rng = random.Random(5)
    for size in (17, 100, 1023, 1024, 1025, 3000):
        items = [rng.randrange(10**6) for _ in range(size)]
        copy = list(items)
        zend_sort(copy, lambda a, b: a > b)
        assert copy == sorted(items), size


def test_zend_sort_makes_phps_comparisons():
    """The exact comparison sequence PHP 8.2 made for this uksort (logged with a PHP probe)."""
    names = ["9", "10", "1f", "1e1", "b", "a", "3", "02", "x", "1.0", "-1", "5.", "7"]
    logged = []
    items = [(array_key(n), i, n) for i, n in enumerate(names)]

    def greater(a, b):
        logged.append(f"{a[2]}|{b[2]}")
        return compare_keys(a[0], b[0]) > 0 if compare_keys(a[0], b[0]) else a[1] > b[1]

    zend_sort(items, greater)
    assert " ".join(logged) == (
        "9|10 10|1f 1f|1e1 10|1e1 1f|b b|a 1f|a b|3 1f|3 a|3 b|02 3|02 1e1|02 9|02 b|x x|1.0 "
        "a|1.0 1f|1.0 10|1.0 02|1.0 x|-1 a|-1 1f|-1 10|-1 02|-1 -1|1.0 x|5. a|5. 1f|5. 3|5. "
        "x|7 a|7 3|7 5.|7")
    assert [n for _, _, n in items] == ["-1", "1.0", "02", "9", "10", "1e1", "1f", "3", "5.",
                                        "7", "a", "b", "x"]


# ---- properties -----------------------------------------------------------------------------

ordinary = st.text(alphabet=string.ascii_letters + "_中" + string.digits, min_size=1,
                   max_size=8).filter(lambda n: n[0] not in string.digits)
tricky = st.sampled_from(["0", "1", "9", "10", "-1", "01", "-0", "1a", "1f", "1e1", "5.",
                          ".5", "9.0", " 5", "5 ", "+5", "1e999", "99999999999999999999",
                          "pid", "money", "a", "b1", "_", "中"])


@settings(max_examples=200, deadline=None)
@given(st.lists(ordinary, unique=True, max_size=40))
def test_fast_path_equals_the_full_algorithm_for_ordinary_names(names):
    for version in PhpVersion:
        assert _full_ksort(names, version) == sorted(names)
        assert ksort_names(names, version) == sorted(names)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(tricky, ordinary), unique=True, max_size=40),
       st.sampled_from(list(PhpVersion)))
def test_ksort_is_a_permutation_and_the_fast_path_is_exact(names, version):
    ordered = ksort_names(names, version)
    assert sorted(ordered) == sorted(names)
    assert ordered == _full_ksort(names, version)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.one_of(tricky, ordinary), st.text(max_size=5), min_size=1,
                       max_size=12), st.sampled_from(SORT_ORDERS))
def test_any_php_order_verifies_and_a_wrong_sign_does_not(params, order):
    params = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    string_ = canonical_string(params, order=order)
    received = {**params, "sign": md5_hex(string_ + KEY), "sign_type": "MD5"}
    match = md5_match(received, KEY)
    assert match is not None
    assert canonical_string(received, order=match.order) == string_
    assert md5_match({**received, "sign": md5_hex(string_ + "x" + KEY)}, KEY) is None


def test_signed_fields_fast_path_keeps_byte_order():
    params = {"pid": "1", "type": "alipay", "money": "1.00", "sign": "x", "sign_type": "MD5",
              "empty": "", "Zeta": "z"}
    assert [n for n, _ in signed_fields(params)] == ["Zeta", "money", "pid", "type"]
    assert other_orders(params) == []
    assert order_notes(params) == []


def test_order_notes_name_the_numeric_names():
    params = {"pid": "1", "10": "a", "abc": "b"}
    notes = order_notes(params)
    assert len(notes) == 1 and "'10'" in notes[0] and "PHP 8.0/8.1" in notes[0]


# ---- the diagnoser ------------------------------------------------------------------------------


def test_diagnoser_names_byte_order_for_numeric_names():
    params = {"pid": "1001", "9": "a", "10": "b", "money": "1.00"}
    byte_order = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    assert byte_order != canonical_string(params)
    received = {**params, "sign": md5_hex(byte_order + KEY), "sign_type": "MD5"}
    assert not md5_verify(received, KEY)
    diagnosis = diagnose_md5(received, KEY)
    assert diagnosis.mistakes == ("byte_order_numeric",)
    assert "PHP sorts names that look like numbers as numbers" in diagnosis.title
    report = check_callback(received, Keys(md5=Md5Key(KEY)))
    assert not report.signature_valid
    assert "plain byte order" in report.problems[0].message


def test_diagnoser_still_says_unsorted_when_arrival_order_was_signed():
    params = {"pid": "1001", "9": "a", "10": "b", "money": "1.00"}
    arrival = "&".join(f"{k}={v}" for k, v in params.items())
    diagnosis = diagnose_md5({**params, "sign": md5_hex(arrival + KEY)}, KEY)
    assert diagnosis.mistakes == ("unsorted",)


def test_rsa_verify_accepts_another_php_order_and_says_which():
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from epaycli.core.signing import load_private_key, load_public_key, rsa_match, rsa_verify

    v2 = load_vectors("v2-rsa")
    private = load_private_key(v2["merchant_private_key_pem"])
    public = load_public_key(v2["merchant_public_key_pem"])
    legacy = SortOrder(PhpVersion.PHP80, "received")
    params = {**LEGACY, "timestamp": "1700000000", "sign_type": "RSA"}
    message = canonical_string(params, blanks="drop", order=legacy)
    assert message != canonical_string(params, blanks="drop")
    sign = base64.b64encode(private.sign(message.encode(), padding.PKCS1v15(),
                                         hashes.SHA256())).decode()
    match = rsa_match({**params, "sign": sign}, public)
    assert match is not None and match.order.version is PhpVersion.PHP80
    assert rsa_verify({**params, "sign": sign}, public)
    assert not rsa_verify({**params, "money": "2.00", "sign": sign}, public)


def test_a_blank_value_filtered_first_changes_the_order():
    """10, 1f, 9 sorts as 10,1f,9 (measured on PHP 8.2) but 10, 9 as 9,10: whether the blank
    '1f' is in the array while sorting decides where 9 goes."""
    params = {"10": "a", "1f": " ", "9": "b"}
    signed = SortOrder(array="signed")
    assert signed_fields(params, blanks="drop", order=signed) == [("9", "b"), ("10", "a")]
    assert canonical_string(params, blanks="drop", order=signed) == "9=b&10=a"
    assert signed_fields(params, blanks="drop") == [("10", "a"), ("9", "b")]
    assert canonical_string(params, blanks="keep", order=signed) == "10=a&1f= &9=b"
