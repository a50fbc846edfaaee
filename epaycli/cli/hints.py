"""What the CLI advises for each error code the library raises — the one table, read by the one
error boundary (``cli/main.py``). The library never names a flag; here the CLI does. An error
whose code is not here keeps the hint it carries (the library's own advice).

Keep the advice for one code true for every command that can raise it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import EpayError

if TYPE_CHECKING:
    from ..messages import Messages

HINTS = {
    "missing_md5_key": "pass --key, set EPAY_KEY, or add a profile with 'epay profile add'",
    "missing_private_key": "pass --private-key FILE (商户私钥), or add it to the profile",
    "missing_public_key": "pass --public-key FILE (平台公钥), or add it to the profile",
    "unknown_sign_type": "leave sign_type out (epay adds it) or write MD5 or RSA",
    "sign_type_conflict": "leave sign_type out and epay adds the one its key signs",
    # shared by epay mock and epay listen: name only the flag both have
    "port_in_use": "stop the other one, or pick another with --port N (0: any free one)",
    "bad_port": "give a port from 1 to 65535, or 0 for any free one",
    "bad_latency": "give --latency in milliseconds, from 0 to 60000",
    "bad_quirks": "use --quirks real or --quirks clean",
    "bad_clock_offset": "give --clock-offset in seconds (negative: behind), within 10 years",
    "bad_durability": "use --durability commit or --durability fsync",
    "bad_data_dir": "give --data a folder epay can write to, or use --in-memory",
    "unknown_fault": "faults are duplicate, delayed[=S], dropped, tampered-money, "
                     "bad-signature, post",
    "bad_gateway_url": "give the site root, e.g. https://pay.example.com/ (--gateway, "
                       "EPAY_GATEWAY or the profile's gateway)",
    "bad_request_url": "give the site root, e.g. --url https://pay.example.com/",
    "empty_setting": "give a value, or leave the flag/variable out (an unset shell variable?)",
    # epay listen
    "bad_host": "give --host an address of this machine, e.g. 127.0.0.1",
    "journal_unwritable": "choose a writable file with --journal FILE",
    "ngrok_missing": "install ngrok and set PYNGROK_NGROK_PATH (or --ngrok-path), or run another "
                     "tunnel and pass --public-url URL",
    "ngrok_no_authtoken": "set NGROK_AUTHTOKEN, the profile's ngrok_authtoken, or run 'ngrok "
                          "config add-authtoken TOKEN' (free at dashboard.ngrok.com); or use "
                          "--public-url URL",
    "ngrok_unreachable": "check the network, or run another tunnel and pass --public-url URL",
    "ngrok_timeout": "check the network, or run another tunnel and pass --public-url URL",
    "ngrok_failed": "run 'ngrok start --none --log stdout' by hand to see why, or run another "
                    "tunnel and pass --public-url URL",
    "tunnel_lost": "a supervisor can restart 'epay listen'; without --exit-on-tunnel-loss it "
                   "reopens the tunnel itself",
    # epay listen --inspect, epay events serve
    "inspector_port_in_use": "pick another with --inspect-port N ('epay listen') or --port N "
                             "('epay events serve'); 0: a free one",
    "inspector_bad_host": "give --inspect-host ('epay listen') or --host ('epay events serve') "
                          "an address of this machine, e.g. 127.0.0.1",
    # epay events
    "journal_missing": "start 'epay listen' first, or name the file with --journal FILE",
    "no_such_event": "see the ids with 'epay events list'",
}


def words_for(error: EpayError, messages: Messages) -> tuple[str, str | None]:
    """The error's message and advice in the run's language: a worded error (raised with
    ``fields``) by its wording, the CLI's advice by its code; plain words stay as they are."""
    message, hint = messages.say_error(error)
    if error.code in HINTS:
        hint = messages.text(f"hints.{error.code}", HINTS[error.code])
    return message, hint
