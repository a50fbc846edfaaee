"""Every text ``epay doctor`` shows, in one table: message id → (what was found, the fix).

Templates take named values only (``{field}``); a translation (the Simplified Chinese catalogue)
supplies the same ids with the same names. The fix of an ``ok`` finding is never shown."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # ---- the profile --------------------------------------------------------------------
    "profile_complete": ("profile {profile} ({dialect}) has what it needs: {fields}", ""),
    "profile_missing": (
        "profile {profile} ({dialect}) lacks {missing}",
        "add it: epay profile add {profile} … (or EPAY_{upper}, or --{option})"),
    "profile_dialect": (
        "dialect {dialect!r} is neither v1 nor v2",
        "set dialect to v1 (MD5 key) or v2 (RSA keys)"),
    "key_ok": ("the merchant key is 32 letters and digits ({masked})", ""),
    "key_sandbox": ("the key is the built-in sandbox merchant's: it works with 'epay mock' only",
                    "add your own merchant with 'epay profile add'"),
    "key_whitespace": (
        "the merchant key has whitespace in it ({where}): the gateway signs with the key as "
        "issued, so every sign will be wrong",
        "copy the key again from the merchant panel, without the spaces or line breaks"),
    "key_quotes": (
        "the merchant key has quote characters in it: they were pasted with it",
        "remove the quotes around the key (in TOML: key = \"KEY\", the quotes once)"),
    "key_fullwidth": (
        "the merchant key has full-width characters ({characters}): typed or pasted through a "
        "Chinese input method",
        "copy the key again from the merchant panel; keys are ASCII letters and digits"),
    "key_prefix": (
        "the merchant key starts with {prefix!r}: the label was pasted with it",
        "keep only the 32 characters after {prefix!r}"),
    "key_unusual": (
        "the merchant key is {length} characters ({masked}); Epay keys are 32 letters and digits",
        "check it was copied whole from the merchant panel"),
    "private_key_ok": ("the merchant private key is a {bits}-bit RSA key", ""),
    "private_key_bad": (
        "the merchant private key cannot be used: {reason}",
        "point private_key at the PKCS#8 (or PKCS#1) PEM file, or paste the bare base64 key"),
    "rsa_weak": (
        "the {what} is only {bits} bits: Epay uses 2048-bit keys and this one can be broken",
        "make a new 2048-bit pair and upload its public key in the merchant panel"),
    "key_pair_ok": ("the merchant private key matches the merchant public key given", ""),
    "key_pair_mismatch": (
        "the merchant private key does not match the merchant public key {source}: the gateway "
        "will refuse every RSA sign",
        "upload the public key made from this private key (openssl rsa -in KEY -pubout), or "
        "use the private key that belongs to the uploaded one"),
    "merchant_public_key_bad": (
        "the merchant public key given cannot be read: {reason}",
        "give the PEM file, or the bare base64 key, that was uploaded to the gateway"),
    "platform_key_ok": ("the platform public key is a {bits}-bit RSA key", ""),
    "platform_key_missing": (
        "no platform public key (平台公钥): V2 answers and notifies cannot be verified",
        "copy the platform public key from the merchant panel into public_key"),
    "platform_key_bad": (
        "the platform public key cannot be used: {reason}",
        "copy the platform public key (平台公钥) again from the merchant panel"),
    "platform_key_is_merchant": (
        "public_key is your own merchant public key, not the platform's: V2 notifies will "
        "never verify",
        "put the platform public key (平台公钥) from the merchant panel in public_key"),
    "platform_key_wrong": (
        "the gateway's signed answer does not verify with the platform public key",
        "copy the platform public key (平台公钥) again from the merchant panel"),
    # ---- the gateway URL ---------------------------------------------------------------
    "gateway_url_ok": ("gateway {gateway} is a site root", ""),
    "gateway_missing": ("no gateway URL is configured",
                        "set gateway in the profile (the site root, e.g. https://pay.example.com/)"),
    "gateway_scheme": (
        "gateway {gateway!r} is not an absolute http(s) URL",
        "give the site root with its scheme, e.g. https://pay.example.com/"),
    "gateway_php_page": (
        "gateway {gateway} names a page ({page}), not the site root: epay uses {root}, but an "
        "SDK or plugin given the same URL sends its requests to {page}/…",
        "save the site root in the profile: {root}"),
    "gateway_wrong_path": (
        "the Epay gateway answers at {root}, not at {gateway}",
        "use the site root: {root}"),
    "gateway_query": (
        "gateway {gateway} has a query or fragment",
        "use the site root only: {root}"),
    "gateway_plain_http": (
        "gateway {gateway} is plain http: api.php sends the merchant key in the clear",
        "use https:// if the gateway has it"),
    "dns_ok": ("{host} resolves to {addresses}", ""),
    "dns_literal": ("{host} is an IP address (no DNS needed)", ""),
    "dns_failed": ("{host} does not resolve from here ({reason})",
                   "check the gateway host name for typos, and this machine's DNS"),
    "tls_ok": ("TLS certificate of {host} is valid for {days} more days", ""),
    "tls_expiring": ("TLS certificate of {host} expires in {days} days",
                     "ask the gateway's operator to renew it before it does"),
    "tls_expired": ("TLS certificate of {host} expired {days} days ago ({date})",
                    "the gateway's certificate must be renewed; until then nothing can reach it "
                    "safely"),
    "tls_not_yet_valid": ("TLS certificate of {host} is not valid before {date}",
                          "check this machine's clock, or ask the operator"),
    "tls_wrong_host": ("TLS certificate is for {names}, not {host}",
                       "use the gateway's own host name in the URL (the one its certificate names)"),
    "tls_self_signed": ("TLS certificate of {host} is self-signed",
                        "a live gateway needs a certificate from a trusted CA (e.g. Let's Encrypt)"),
    "tls_untrusted": ("TLS certificate of {host} is not trusted: {reason}",
                      "the gateway must send its whole certificate chain from a trusted CA"),
    "tls_failed": ("TLS handshake with {host} failed: {reason}",
                   "check the port speaks https, or use http:// if the gateway has no TLS"),
    "reachable_ok": ("{gateway} answers (HTTP {status})", ""),
    "unreachable": ("{gateway} cannot be reached: {reason}",
                    "check the URL and that the gateway is up (for the sandbox: epay mock)"),
    "epay_ok": ("an Epay gateway answers: {dialects}", ""),
    "epay_rewrite_off": (
        "V2 answers only as api.php?s=… (no URL rewriting on this server)",
        "use --no-rewrite with order and merchant commands, or ask the operator to enable "
        "rewriting"),
    "epay_dialect_missing": (
        "the profile is {dialect}, but this gateway answers only {dialects}",
        "set the profile's dialect to one the gateway speaks"),
    "not_epay": (
        "{gateway} answers, but not as an Epay gateway ({seen})",
        "check the URL is the Epay site root (where submit.php and api.php are)"),
    # ---- credentials ---------------------------------------------------------------------
    "credentials_ok": ("the gateway accepts pid {pid} with the {signer} ({endpoint})", ""),
    "credentials_no_signer": ("credentials not checked: the V2 profile has no key to sign with",
                              "give the profile its merchant private_key"),
    "credentials_no_key": ("credentials not checked: the profile has no merchant key",
                           "give the profile its key (商户密钥)"),
    "credentials_error": ("credentials not checked: {reason}", "{fix}"),
    "cred_key_wrong": ("the gateway says the key is wrong for pid {pid} ({said})", "{fix}"),
    "cred_pid_unknown": ("the gateway has no merchant {pid} ({said})", "{fix}"),
    "cred_banned": ("merchant {pid} is banned or cannot take payments ({said})", "{fix}"),
    "cred_unapproved": ("merchant {pid} is not approved yet ({said})", "{fix}"),
    "cred_rsa_only": ("merchant {pid} accepts RSA signatures only ({said})", "{fix}"),
    "cred_timestamp": ("the gateway refused the request's timestamp ({said})", "{fix}"),
    "cred_sign_wrong": ("the gateway refused the sign ({said})", "{fix}"),
    "cred_refused": ("the gateway refused pid {pid}: {said}", "{fix}"),
    # ---- notify_url / return_url -----------------------------------------------------
    "url_ok": ("{field} {url} is an absolute URL a gateway can call", ""),
    "url_not_set": ("no {field} in the profile: each order must carry its own",
                    "set {field} in the profile, or check the one each order sends with "
                    "'epay doctor request'"),
    "url_scheme": ("{field} {url!r} is not an absolute http(s) URL",
                   "give the full URL with http:// or https:// and the host"),
    "url_local": (
        "{field} points at {host} ({kind}{resolved}): a gateway elsewhere cannot reach it",
        "use a public address, or a tunnel: epay listen --tunnel"),
    "url_local_ok": (
        "{field} points at {host} ({kind}{resolved}): fine with a gateway on this machine, "
        "never with a live one",
        "use a public address or a tunnel (epay listen --tunnel) before going live"),
    "url_unresolved": (
        "{field} host {host} does not resolve from here ({reason})",
        "make sure the gateway can resolve it (it resolves it, not this machine)"),
    "url_query": (
        "{field} has its own query string ({query}): gateways store it HTML-escaped and the "
        "notify then fails verification",
        "put that data in the path or in 'param', and give a URL without '?'"),
    "url_too_long": ("{field} is {length} characters; the gateway keeps only {limit}",
                     "use a shorter URL"),
    "url_fragment": ("{field} has a #fragment, which never reaches the server",
                     "remove the '#…' part"),
    # ---- the notify probe ----------------------------------------------------------------
    "probe_ok": ("{url} answered the signed test notify with success in {ms} ms and refused "
                 "the tampered one", ""),
    "probe_unreachable": ("the notify_url cannot be reached: {reason}",
                          "make sure the handler (or epay listen and its tunnel) is running and "
                          "public"),
    "probe_redirect": ("the notify_url answers a redirect (HTTP {status} to {location}): "
                       "gateways do not follow it",
                       "give the final URL (https, the trailing slash) as notify_url"),
    "probe_slow": ("the notify_url took {ms} ms; the gateway gives up after {limit} s",
                   "answer success first, and do the slow work after"),
    "probe_genuine_refused": (
        "the notify_url answered {answer!r} to a genuinely signed notify of an order it does "
        "not know",
        "right if it checks the order; run 'epay check notify URL --order N --amount X' with "
        "a real order to be sure"),
    "probe_genuine_skipped": (
        "no genuine V2 notify could be sent: that needs the platform private key",
        "run 'epay check notify URL --platform-key FILE' against 'epay mock' keys"),
    "probe_tampered_accepted": (
        "the notify_url answered success to a notify whose money was changed after signing",
        "verify the sign before crediting ('epay verify' shows how); never trust money unchecked"),
    # ---- clock and latency -----------------------------------------------------------
    "clock_ok": ("clock is {skew} s from the gateway's", ""),
    "clock_skew_small": ("clock is {skew} s {direction} the gateway's",
                         "synchronise this machine's clock (NTP)"),
    "clock_skew": ("clock is {skew} s {direction} the gateway's: V2 refuses requests more than "
                   "{limit} s off", "synchronise this machine's clock (NTP)"),
    "clock_unknown": ("the gateway sends no Date header: clock skew unknown",
                      "make sure this machine's clock is synchronised (NTP)"),
    "latency_ok": ("gateway answers in {median} ms (median of {samples}; max {max} ms)", ""),
    "latency_slow": ("gateway answers in {median} ms (median of {samples}; max {max} ms), above "
                     "{limit} ms", "expect slow payments; a gateway closer to your server helps"),
    # ---- doctor request ----------------------------------------------------------------
    "request_endpoint_asked": ("checked as a request to {endpoint} (--endpoint)", ""),
    "request_endpoint_v2": ("checked as a request to {endpoint}: it has V2's method or "
                            "timestamp", ""),
    "request_endpoint_clientip": ("checked as a request to {endpoint}: it has clientip", ""),
    "request_endpoint_default": ("checked as a request to {endpoint}, the page-redirect "
                                 "payment (--endpoint mapi|create for the others)", ""),
    "request_fields_ok": ("every field {endpoint} requires is there", ""),
    "request_field_missing": ("{endpoint} requires {fields}, missing or empty here",
                              "add {fields}"),
    "request_alipay_names": (
        "Alipay-style names: {names}",
        "Epay uses its own names: {renames}"),
    "money_ok": ("money {money} is yuan with at most 2 decimals", ""),
    "money_invalid": ("money {money!r} is not a plain amount: the gateway refuses it (金额不合法)",
                      "write yuan with digits and at most 2 decimals, e.g. 9.90"),
    "money_decimals": ("money {money} has more than 2 decimals: the gateway stores it as "
                       "{stored}, and the notify then carries that amount",
                       "round to 2 decimals (fen) before sending"),
    "money_zero": ("money {money} is zero: the gateway refuses it", "charge at least 0.01"),
    "money_negative": ("money {money} is negative", "charge a positive amount in yuan"),
    "money_fen": ("money {money} is the amount {hint} in fen (100 × --amount-hint)",
                  "Epay takes yuan: send {yuan}"),
    "money_maybe_fen": ("money {money} is a whole number of 100 or more: is it fen?",
                        "Epay takes yuan: if this is fen, send {yuan} (--amount-hint YUAN "
                        "tells doctor the amount you meant)"),
    "money_above_cap": ("money {money} is above {cap} yuan, a default install's maximum",
                        "check the gateway's cap (最大支付金额), or split the payment"),
    "out_trade_no_ok": ("out_trade_no {value} is {length} allowed characters", ""),
    "out_trade_no_chars": ("out_trade_no has characters the gateway refuses: {characters}",
                           "use only A-Z a-z 0-9 . _ - |"),
    "out_trade_no_long": ("out_trade_no is {length} characters; the gateway keeps only {limit}",
                          "use at most {limit} characters"),
    "name_ok": ("name is {length} characters", ""),
    "name_cut": ("name is {length} characters; newer gateways keep the first {limit}",
                 "shorten it to {limit} characters"),
    "name_four_byte": ("name has characters the gateway stores as '?' ({characters})",
                       "leave out emoji and other 4-byte characters"),
    "sign_ok": ("the sign matches ({sign_type}, {key})", ""),
    "sign_mismatch": ("the sign does not match: {title}", "{fix}"),
    "sign_wrong_key": ("the sign does not match, and no known mistake explains it",
                       "check the key (商户密钥) is the merchant's; sign again with 'epay sign'"),
    "sign_type_unknown": ("sign_type {sign_type!r} is neither MD5 nor RSA",
                          "use sign_type=MD5 (V1) or sign_type=RSA (V2)"),
    "sign_no_key": ("sign not checked: no merchant key",
                    "give the key with a profile, EPAY_KEY or --key"),
    "sign_no_rsa_key": ("sign not checked: no merchant RSA key",
                        "use a v2 profile (its private key) or give --merchant-public-key"),
    "sign_not_yet": ("no sign yet: checked before signing", ""),
    # ---- the report ----------------------------------------------------------------------
    # No plural to get wrong: "warned" reads right for 1 and for 2.
    "summary": ("{passed} passed, {warnings} warned, {failed} failed", ""),
    "fix_line": ("    fix: {fix}", ""),
    "checks_failed": ("{failed} of {total} checks failed: {names}",
                      "fix each as its line says, then run epay doctor again"),
}
