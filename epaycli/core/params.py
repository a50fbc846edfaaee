"""Read what people paste — a URL, a query string, a form body, JSON, ``k=v`` lines — into
ordered parameters, and write parameters back out in each of those forms.

Values come out exactly as the sender meant them (form-decoded, never trimmed or re-formatted):
a signature is checked over them byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from .errors import InputError
from .php import http_build_query
from .words import Texts

Params = Mapping[str, str]

_URL_START = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REQUEST_LINE = re.compile(r"^(GET|POST|PUT|HEAD) (\S+)(?: HTTP/\d(?:\.\d)?)?$")
# A first line with three or more name=value pairs joined by '&': a query, not k=v lines.
_WRAPPED_QUERY = re.compile(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*){2,}&?")

_PASTE_HINT = (
    "paste a full URL, a query string (a=1&b=2), a form body, a JSON object or k=v lines"
)


def parse_pasted(text: str) -> dict[str, str]:
    """Parse any supported pasted form into ordered parameters."""
    return parse_pasted_as(text)[1]


def parse_pasted_as(text: str) -> tuple[str, dict[str, str]]:
    """Parse pasted text; also say which form it was read as: url, request, query, json,
    json_url (a JSON answer carrying a signed URL: the URL's parameters) or lines."""
    body = require_text(text, _what_text("input")).strip("\r\n\ufeff")
    probe = body.strip()
    if not probe:
        raise InputError("the input is empty", _PASTE_HINT, code="paste_empty_input", fields={})
    if probe.startswith(("{", "[")):
        document = parse_json(probe)
        inner = signed_url_inside(document)
        return ("json_url", parse_url(inner)) if inner else ("json", document)
    if _URL_START.match(probe):
        return "url", parse_url(probe)
    first_line = probe.partition("\n")[0].strip()
    request = _REQUEST_LINE.match(first_line)
    if request:
        return "request", parse_http_request(request.group(1), request.group(2), probe)
    if probe.startswith("/") or _is_url_without_scheme(probe):
        return "url", parse_url(probe)
    if "\n" in probe:
        if _WRAPPED_QUERY.fullmatch(first_line) or first_line.endswith("&"):
            raise InputError("the query string is broken over several lines",
                             "join it into one line", code="paste_query_broken", fields={})
        return "lines", parse_lines(body)
    return "query", parse_query(probe.removeprefix("?"))


def signed_url_inside(document: Mapping[str, str]) -> str | None:
    """The signed URL a JSON answer carries instead of being signed itself — what the admin
    page's 重新通知 (resend notify) answers: ``{"code":0,"url":"http://…?pid=…&sign=…"}``."""
    if "sign" in document:
        return None
    for value in document.values():
        if _URL_START.match(value) and "?" in value and "\n" not in value:
            query = url_parts(value).query
            if any(piece.partition("=")[0] == "sign" for piece in query.split("&")):
                return value
    return None


_ESCAPED_SEPARATOR = re.compile(r"&amp;(?=[^=&\s]+=)")
_BARE_AMPERSAND = re.compile(r"&(?!amp;)")


def unescape_separators(text: str) -> tuple[str, bool]:
    """A query copied from an HTML page or a log with ``&amp;`` between its pairs, read with
    ``&``; and whether that was done. Only when *every* separator is ``&amp;``: a mix is what a
    real gateway sends for a notify_url with its own query string, and the diagnoser names it."""
    line = text.strip()
    if "\n" in line or line.startswith(("{", "[")) or not _ESCAPED_SEPARATOR.search(line):
        return text, False
    if _BARE_AMPERSAND.search(line) or line.count("&amp;") != len(_ESCAPED_SEPARATOR.findall(line)):
        return text, False
    return _ESCAPED_SEPARATOR.sub("&", line), True


def _is_url_without_scheme(text: str) -> bool:
    """``shop.example.com/notify.php?pid=…`` or ``notify.php?pid=…``: a '?' before any '='.
    (One broken over lines is still a URL, so that ``parse_url`` says it is broken.)"""
    mark, equals = text.find("?"), text.find("=")
    return 0 < mark < equals and " " not in text[:mark]


def parse_url(url: str) -> dict[str, str]:
    """Parameters of a full URL or of a ``/path?query`` target; the fragment is ignored."""
    if any(ch in url for ch in "\r\n"):
        raise InputError("the URL is broken over several lines", "join it into one line",
                         code="paste_url_broken", fields={})
    query = url_parts(url).query
    if not query:
        raise InputError(
            "the URL has no query string", "paste the whole URL, including everything after '?'",
            code="paste_url_without_query", fields={})
    return parse_query(query)


def parse_http_request(method: str, target: str, request: str) -> dict[str, str]:
    """A raw HTTP request as copied from a log: query if it carries ``pid``, else the body.

    That is the rule Epay servers themselves use; they never merge the two.
    """
    query = url_parts(target).query
    _, _, body = request.replace("\r\n", "\n").partition("\n\n")
    from_query = parse_query(query) if query else {}
    if "pid" in from_query or not body.strip():
        if not from_query:
            raise InputError("the {method} request carries no parameters", _PASTE_HINT,
                             code="paste_request_without_params", fields={"method": method})
        return from_query
    return parse_pasted(body)


def url_parts(url: str) -> SplitResult:
    """``urlsplit``, with a malformed URL (``http://[::1``) as an InputError."""
    try:
        return urlsplit(url)
    except ValueError as error:
        raise InputError("the URL is malformed ({reason})", "paste it whole, as copied",
                         code="paste_url_malformed", fields={"reason": str(error)}) from None


def parse_query(query: str) -> dict[str, str]:
    """Decode a query string or form body the way PHP fills ``$_GET``/``$_POST``.

    ``+`` is a space, ``%XX`` a byte, the bytes must be UTF-8. A piece without ``=`` is a
    parameter with an empty value, as in PHP.
    """
    if "=" not in query:
        raise InputError("no name=value pairs found in the input", _PASTE_HINT,
                         code="paste_no_pairs", fields={})
    pairs = []
    for piece in query.split("&"):
        if not piece:
            continue
        raw_key, _, raw_value = piece.partition("=")
        key = _form_decode(raw_key)
        pairs.append((key, _form_decode(raw_value, key)))
    return _collect(pairs)


def parse_lines(text: str) -> dict[str, str]:
    """``k=v`` lines, values taken literally (no decoding), as a log line per field shows them."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return _collect(
        _literal_pair(line, number=number)
        for number, line in enumerate(lines, start=1)
        if line.strip()
    )


def parse_pairs(arguments: Iterable[str]) -> dict[str, str]:
    """``k=v`` command-line arguments, values literal."""
    return _collect(
        _literal_pair(argument) for argument in arguments
    )


def _literal_pair(text: str, *, number: int | None = None) -> tuple[str, str]:
    """Split at the first '=' (of line ``number``, or of an argument): the name is trimmed,
    the value kept exactly."""
    if "=" not in text and number is not None:
        raise InputError("line {number} is not name=value: {text}",
                         "write one name=value per line", code="paste_line_not_pair",
                         fields={"number": number, "text": _preview(text)})
    if "=" not in text:
        raise InputError("an argument is not name=value: {text}",
                         "write each parameter as name=value, e.g. money=1.00",
                         code="paste_argument_not_pair", fields={"text": _preview(text)})
    key, _, value = text.partition("=")
    return key.strip(), value


def parse_json(text: str) -> dict[str, str]:
    """A flat JSON object. Numbers keep their exact text (``1.00`` stays ``1.00``)."""
    import json
    try:
        document = json.loads(
            text,
            parse_float=str,
            parse_int=str,
            parse_constant=_reject_constant,
            object_pairs_hook=_json_pairs,
        )
    except RecursionError:
        raise InputError("the JSON is nested too deeply to read",
                         "callbacks are flat: paste the object that holds pid, sign, ...",
                         code="paste_json_too_deep", fields={}) from None
    except json.JSONDecodeError as error:
        raise InputError(
            "the JSON is not valid (line {line}, column {column}: {reason})",
            "check for a missing quote, comma or brace", code="paste_json_invalid",
            fields={"line": error.lineno, "column": error.colno, "reason": error.msg},
        ) from None
    if not isinstance(document, _JsonObject):
        raise InputError("the JSON is not an object", 'expected {{"pid": "1001", ...}}',
                         code="paste_json_not_object", fields={})
    return _collect(document.pairs)


class _JsonObject:
    """Keeps an object's pairs in order, with repeats, so duplicates can be reported."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = [(key, _json_scalar(key, value)) for key, value in pairs]


def _json_pairs(pairs: list[tuple[str, object]]) -> _JsonObject:
    return _JsonObject(pairs)


def _json_scalar(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if value is True:  # PHP casts true to "1" and false to "" when it builds a string
        return "1"
    if value is False:
        return ""
    raise InputError(
        "the JSON value of '{key}' is a nested object or list",
        "callbacks are flat: paste the object that holds pid, sign, ...",
        code="paste_json_nested", fields={"key": key},
    )


def _reject_constant(name: str) -> str:
    raise InputError("the JSON contains {name}", "use quoted strings for values",
                     code="paste_json_constant", fields={"name": name})


def _form_decode(text: str, value_of: str | None = None) -> str:
    """A name (or, with ``value_of``, that name's value) as PHP decodes it."""
    if "%" not in text and "+" not in text:
        return text  # nothing to decode (most of a notify): the text is already what PHP reads
    what = _what_text("name") if value_of is None else _what_text("value", name=value_of)
    try:
        raw = unquote_to_bytes(text.replace("+", " "))
    except UnicodeEncodeError:  # a lone surrogate: bytes a terminal passed in undecoded
        require_text(text, what)
        raise
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            "{what} is not UTF-8 (bytes {bytes})",
            "Epay sends UTF-8; the sender probably used GBK — make it send UTF-8",
            code="paste_not_utf8_bytes", fields={"what": what, "bytes": _hex_preview(raw)},
        ) from None


def _collect(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        # ASCII is always UTF-8: the error's wording is built only for the rest (the listener
        # reads a notify's dozen fields here, for every request)
        if not key.isascii():
            require_text(key, _what_text("name"))
        if not value.isascii():
            require_text(value, _what_text("value", name=key))
        if not key:
            raise InputError("a parameter has an empty name", "write each one as name=value",
                             code="paste_empty_name", fields={})
        if key in params:
            raise InputError(
                "parameter '{key}' appears more than once",
                "paste a single callback; a gateway sends each field once",
                code="paste_repeated_param", fields={"key": key},
            )
        params[key] = value
    return params


# What the errors above name (``params.<id>``).
WHAT_TEXTS = {
    "input": "the input",
    "name": "a parameter name",
    "value": "the value of '{name}'",
}


_what_text = Texts("params", WHAT_TEXTS)


def require_text(text: str, what: str) -> str:
    """Refuse strings that cannot be UTF-8 (lone surrogates from a JSON \\ud800 escape, or
    bytes a terminal passed in that were not UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("{what} is not valid UTF-8 text",
                         "type it again, or save the file as UTF-8", code="paste_not_utf8_text",
                         fields={"what": what}) from None
    return text


def _preview(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


def _hex_preview(raw: bytes, limit: int = 8) -> str:
    shown = "".join(f"%{byte:02X}" for byte in raw[:limit])
    return shown + ("…" if len(raw) > limit else "")


# ---- writing parameters out ----------------------------------------------------------------


def format_query(params: Params) -> str:
    """What a gateway sends and what ``parse_query`` reads back (PHP ``http_build_query``)."""
    return http_build_query(params)


def format_url(base: str, params: Params) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{format_query(params)}"


def format_lines(params: Params) -> str:
    """``k=v`` lines; only for values without line breaks (``parse_lines`` reads them back)."""
    return "".join(f"{k}={v}\n" for k, v in params.items())


def format_json(params: Params) -> str:
    import json

    return json.dumps(dict(params), ensure_ascii=False)


def merged_params(from_file: dict[str, str], from_args: dict[str, str]) -> dict[str, str]:
    """The parameters of ``--from`` and of the k=v arguments together; one given in both is
    refused (which of the two was meant cannot be guessed)."""
    repeated = sorted(set(from_file) & set(from_args))
    if repeated:
        raise InputError("{names} given both in --from and as an argument",
                         "give each parameter once", code="params_given_twice",
                         fields={"names": ", ".join(repeated)})
    return {**from_file, **from_args}
