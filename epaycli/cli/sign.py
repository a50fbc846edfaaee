"""``epay sign``: sign parameters exactly as an Epay gateway checks them."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from ..core.canonical import blank_fields, order_notes
from ..core.errors import InputError
from ..core.params import parse_pairs, parse_pasted
from ..core.php import name_rewrite_notes
from ..core.request import SignedRequest, sign_request
from ..core.signing import SignType
from ..env import Environment
from ..profiles.keys import signer_for
from ..profiles.resolve import current, key_notes
from ..render import Output
from .inputs import read_file
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
        help="Read parameters from a file or stdin: URL, query, form body, JSON or k=v lines.",
    )] = None,
    key: KeyOption = None,
    private_key: Annotated[str | None, typer.Option(
        "--private-key", metavar="FILE", help="Merchant RSA private key (V2): a file or the key."
    )] = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Show the signed string (key masked).")] = False,
    query: Annotated[bool, typer.Option("--query", help="Print the signed query string.")] = False,
    url: Annotated[str | None, typer.Option(
        "--url", metavar="BASE", help="Print the full submit URL on BASE (a site root or endpoint)."
    )] = None,
    blanks: Annotated[BlankValues, typer.Option(
        "--blanks", help="Whitespace-only values: keep (older servers, official SDK) or drop "
                         "(newer servers). MD5 only; RSA always drops them.",
    )] = BlankValues.keep,
    json_output: JsonOption = False,
    profile: ProfileOption = None,
    now: NowOption = None,
) -> None:
    """Sign parameters (MD5 with the merchant key, or RSA with --private-key).

    Prints the sign alone, so S=$(epay sign …) works; sign_type (and for RSA a timestamp) is
    added when missing. Example: epay sign pid=1001 type=alipay money=1.00 … --key KEY
    """
    run = runtime(ctx)
    params = _collect(pairs or [], from_, run.env)
    resolved = current(profile, {"key": key, "private_key": private_key}, run.env.environ)
    signer = signer_for(resolved, params)
    signed = sign_request(params, signer, blanks=blanks.value,
                          now=run.env.now() if now is None else now)
    notes = key_notes(resolved, uses_md5_key=signed.sign_type is SignType.MD5)
    blank = blank_fields(params)
    if blank and signed.sign_type is SignType.MD5:
        notes.append(f"{', '.join(blank)}: whitespace only, signed as --blanks {blanks.value}; "
                     "older servers keep such values, newer ones drop them")
    md5 = signed.sign_type is SignType.MD5
    notes += [*order_notes(params, blanks=blanks.value if md5 else "drop"),
              *name_rewrite_notes(params)]
    for note in notes:
        run.out.status(note, "warn")
    _show(run.out, signed, explain=explain, query=query, url=url, json_output=json_output)


def _collect(pairs: list[str], from_: str | None, env: Environment) -> dict[str, str]:
    from_file = parse_pasted(read_file(from_, env)) if from_ else {}
    from_args = parse_pairs(pairs)
    repeated = sorted(set(from_file) & set(from_args))
    if repeated:
        raise InputError(f"{', '.join(repeated)} given both in --from and as an argument",
                         "give each parameter once")
    params = {**from_file, **from_args}
    if not params:
        raise InputError("nothing to sign", "give parameters as k=v arguments or with --from FILE")
    return params


def _show(out: Output, signed: SignedRequest, *, explain, query, url, json_output) -> None:
    if json_output:
        out.json_object(signed.to_dict(url))
        return
    if explain:
        how = ("the key appended directly (no '&key='), MD5, lowercase hex"
               if signed.sign_type is SignType.MD5
               else "SHA256withRSA (PKCS#1 v1.5), base64; no key appended")
        out.fields([
            ("canonical", signed.canonical),
            ("signed", signed.signed_string),
            ("how", how),
            ("added", ", ".join(signed.added) or "nothing"),
            ("sign", signed.sign),
        ])
    if query:
        out.data(signed.query())
    if url:
        out.data(signed.url(url))
    if not (explain or query or url):
        out.data(signed.sign)
