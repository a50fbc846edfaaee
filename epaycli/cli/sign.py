"""``epay sign``: sign parameters exactly as an Epay gateway checks them."""

# No `from __future__ import annotations` here: typer reads the annotations of the command, and
# strings would each be compiled again at every start (~2 ms of `epay sign`).
from enum import Enum
from typing import Annotated

import typer

from ..core.canonical import blank_fields, order_notes
from ..core.errors import ConfigError, InputError
from ..core.lint import alipay_style_names, lacks_pid
from ..core.params import merged_params, parse_pairs, parse_pasted, unescape_separators
from ..core.patterns import lazy
from ..core.php import name_rewrite_notes
from ..core.request import SignedRequest, sign_request
from ..core.signing import SignType
from ..core.words import Joined, Texts
from ..env import Environment
from ..messages import Messages
from ..profiles.keys import signer_for, signer_notes
from ..profiles.resolve import Resolved, current, key_notes, request_defaults
from ..render import Output
from .options import JsonOption, KeyOption, NowOption, ProfileOption
from .runtime import runtime


class BlankValues(str, Enum):
    keep = "keep"
    drop = "drop"


def sign(
    ctx: typer.Context,
    pairs: Annotated[list[str] | None, typer.Argument(metavar="[K=V]...",
                                                      help="Parameters, e.g. money=1.00")] = None,
    from_: Annotated[str | None, typer.Option(
        "--from", metavar="FILE|-",
        help="Read parameters from a file, a pipe or stdin (-): URL, query, form body, JSON or "
             "k=v lines.",
    )] = None,
    key: KeyOption = None,
    private_key: Annotated[str | None, typer.Option(
        "--private-key", metavar="FILE", help="Merchant RSA private key (V2): a file or the key."
    )] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Show the signed string (key masked).")] = False,
    query: Annotated[bool, typer.Option("--query", help="Print the signed query string.")] = False,
    url: Annotated[str | None, typer.Option(
        "--url", metavar="BASE",
        help="Print the full submit URL on BASE: a site root gets the submit page; any other "
             "http(s) URL is used as given. --json includes it on the profile's gateway anyway.",
    )] = None,
    blanks: Annotated[BlankValues, typer.Option(
        "--blanks", help="Whitespace-only values: keep (older servers, official SDK) or drop "
                         "(newer servers). MD5 only; RSA always drops them.",
    )] = BlankValues.keep,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse what the gateway would refuse, change or not read (money, "
                         "Alipay-style names, no pid), not just warn.",
    )] = False,
    json_output: JsonOption = False,
    profile: ProfileOption = None,
    now: NowOption = None,
) -> None:
    """Sign parameters (MD5 with the merchant key, or RSA with --private-key).

    Prints the sign alone, so S=$(epay sign …) works; sign_type (and for RSA a timestamp) is
    added when missing. Example: epay sign pid=1001 type=alipay money=1.00 … --key KEY
    """
    run = runtime(ctx)
    read_notes: list[str] = []
    params = _collect(pairs or [], from_, run.env, read_notes)
    resolved = current(profile, {"key": key, "private_key": private_key}, run.env.environ)
    defaults = request_defaults(resolved, params)
    params = {**params, **defaults}
    money_problem = _money_problem(params)
    if money_problem and strict:
        raise InputError("{problem}", "write yuan with digits and at most 2 decimals, e.g. 9.90",
                         code="sign_strict_money", fields={"problem": money_problem})
    name_problems = _name_problems(params)
    if name_problems and strict:
        raise InputError("{problems}", "name them as Epay does (pid, money, name, type, "
                         "notify_url …), or sign without --strict", code="sign_strict_names",
                         fields={"problems": Joined("sign.separator", "; ", name_problems)})
    signer = signer_for(resolved, params)
    signed = sign_request(params, signer, blanks=blanks.value,
                          now=run.env.now() if now is None else now)
    notes = [*read_notes, *resolved.notes, *signer_notes(resolved, signer),
             *key_notes(resolved, uses_md5_key=signed.sign_type is SignType.MD5)]
    if defaults:
        notes.append(_text("added_from", origin=resolved.origins[next(iter(defaults))],
                           names=", ".join(defaults)))
    notes += [_text("warning", problem=problem)
              for problem in [*([money_problem] if money_problem else []), *name_problems]]
    blank = blank_fields(params)
    if blank and signed.sign_type is SignType.MD5:
        notes.append(_text("blanks", names=", ".join(blank), blanks=blanks.value))
    md5 = signed.sign_type is SignType.MD5
    notes += [*order_notes(params, blanks=blanks.value if md5 else "drop"),
              *name_rewrite_notes(params)]
    for note in notes:
        run.out.status(run.messages.say(note), "warn")
    _show(run.out, signed, explain=explain, query=query, url=url, json_output=json_output,
          gateway=_checked_gateway(resolved) if json_output and not url else "",
          say=run.messages)


# Everything `epay sign` words itself (English source; `sign.<id>` in the catalogue).
MESSAGES = {
    "warning": "warning: {problem} (--strict refuses to sign it)",
    "foreign_alipay": "Alipay-style names, which an Epay gateway does not read: {names}",
    "foreign_wechat": "WeChat Pay-style names, which an Epay gateway does not read: {names}",
    "renamed": "{name} (Epay: {epay_name})",
    "no_field": "{name} (Epay has no such field)",
    "in_fen": "{name} is in fen (分) there; Epay's money is in yuan: 100 fen is money=1.00",
    "no_pid": "no pid: every Epay request carries your merchant id as pid",
    "list": ", ",
    "separator": "; ",
    "amp_from": "--from had '&amp;' between its pairs (HTML-escaped): read them with '&'",
    "added_from": "added from {origin}: {names}",
    "blanks": "{names}: whitespace only, signed as --blanks {blanks}; older servers keep such "
              "values, newer ones drop them",
    "how_md5": "the key appended directly (no '&key='), MD5, lowercase hex",
    "how_rsa": "SHA256withRSA (PKCS#1 v1.5), base64; no key appended",
    "nothing": "nothing",
    "label_canonical": "canonical",
    "label_signed": "signed",
    "label_how": "how",
    "label_added": "added",
    "label_sign": "sign",
}
_FOREIGN = {"Alipay": "foreign_alipay", "WeChat Pay": "foreign_wechat"}


_text = Texts("sign", MESSAGES)


def _name_problems(params: dict[str, str]) -> list[str]:
    """Another API's names instead of Epay's (tutorials quote Alipay's), and a missing pid."""
    problems: list[str] = []
    foreign = alipay_style_names(params)
    for origin in dict.fromkeys(f.origin for f in foreign):
        names = Joined("sign.list", MESSAGES["list"], [
            _text("renamed" if f.epay_name else "no_field", name=f.name, epay_name=f.epay_name)
            for f in foreign if f.origin == origin])
        problems.append(_text(_FOREIGN[origin], names=names))
    problems += [_text("in_fen", name=f.name) for f in foreign if f.in_fen]
    if lacks_pid(params):
        problems.append(_text("no_pid"))
    return problems


# An amount every gateway takes as it is (digits, at most 2 decimals, not zero) needs no
# closer look, and `epay sign` then never imports decimal (cold start).
_PLAIN_MONEY = lazy(r"[0-9]{1,12}(\.[0-9]{0,2})?")


def _money_problem(params: dict[str, str]) -> str | None:
    money = params.get("money")
    if money is None or (_PLAIN_MONEY.fullmatch(money) and money.strip("0.")):
        return None
    from ..core.money import gateway_money_problem

    return gateway_money_problem(money)


def _collect(pairs: list[str], from_: str | None, env: Environment,
             notes: list[str]) -> dict[str, str]:
    text, unescaped = unescape_separators(_read(from_, env)) if from_ else ("", False)
    if unescaped:
        notes.append(_text("amp_from"))
    params = merged_params(parse_pasted(text) if from_ else {}, parse_pairs(pairs))
    if not params:
        raise InputError("nothing to sign", "give parameters as k=v arguments or with --from FILE",
                         code="nothing_to_sign", fields={})
    return params


def _read(source: str, env: Environment) -> str:
    from .inputs import read_file  # only --from reads a file (start-up time: bench/coldstart.py)

    return read_file(source, env)


def _checked_gateway(resolved: Resolved) -> str:
    """The gateway the JSON url is built on; one that is not a URL says where it came from."""
    gateway = resolved.profile.gateway
    if gateway:
        from ..core.endpoints import normalize_base  # only a JSON url needs the endpoints

        try:
            normalize_base(gateway)
        except InputError as error:
            raise ConfigError("{problem} (from {origin})",
                              "set it to the site root, e.g. https://pay.example.com/",
                              code="sign_bad_gateway",
                              fields={"problem": error.said,
                                      "origin": resolved.origins.get("gateway")}) from None
    return gateway


def _show(out: Output, signed: SignedRequest, *, explain: bool, query: bool, url: str | None,
          json_output: bool, gateway: str, say: Messages) -> None:
    if json_output:
        out.json_object(signed.to_dict(url or gateway or None))
        return
    if explain:
        def word(message_id: str) -> str:
            return say.text(f"sign.{message_id}", MESSAGES[message_id])

        how = word("how_md5" if signed.sign_type is SignType.MD5 else "how_rsa")
        out.fields([
            (word("label_canonical"), signed.canonical),
            (word("label_signed"), signed.signed_string),
            (word("label_how"), how),
            (word("label_added"), ", ".join(signed.added) or word("nothing")),
            (word("label_sign"), signed.sign),
        ])
    if query:
        out.data(signed.query())
    if url:
        out.data(signed.url(url))
    if not (explain or query or url):
        out.data(signed.sign)
