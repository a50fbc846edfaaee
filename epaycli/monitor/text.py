"""Every sentence the monitor and reconcile show, by id: English templates with named
parameters, so that another language can be added by id (never built from fragments)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..messages import Messages

MESSAGES = {
    # durations, time zones, thresholds
    "duration_invalid": "{what} {value!r} is not a duration",
    "duration_hint": "write 30s, 15m, 1h or 2d (a plain number is seconds)",
    "duration_range": "{what} {value!r} is outside {low}…{high}",
    "tz_invalid": "gateway time zone {value!r} is not an offset from UTC",
    "tz_hint": "write UTC+8 (the default, Beijing), UTC, UTC-5 or +05:30",
    # figures and breaches
    "figure_success_rate": "success rate",
    "figure_avg_response_ms": "average response",
    "figure_p95_response_ms": "p95 response",
    "figure_abnormal_rate": "abnormal orders",
    "figure_gateway": "gateway",
    "breach_success_rate": "success rate {value} is below {threshold}",
    "breach_avg_response_ms": "average response {value} ms is above {threshold} ms",
    "breach_abnormal_rate": "abnormal orders {value} reach {threshold}",
    "breach_gateway": "the gateway did not answer ({value})",
    # abnormal kinds: the detail of each
    "abnormal_notify_missing": "paid at {paid} ({gateway_tz}) and no verified notify after {grace}",
    "abnormal_bad_signature": "a notify with a bad signature ({reason})",
    "abnormal_amount_mismatch": "the notify says money={notified}, the order is {ordered}",
    "abnormal_pid_mismatch": "the notify is for pid {notified}, this merchant is {pid}",
    "abnormal_duplicate_changed": "a repeated notify said something else ({count} copies)",
    # alerts
    "alert_firing": "[epay] ALERT pid {pid} at {host}: {breaches} (window {window}). "
                    "Look closer: epay monitor --once; epay reconcile --local",
    "alert_recovered": "[epay] RECOVERED pid {pid} at {host}: every threshold is met again "
                       "(window {window}; the incident began {since}).",
    "alert_subject_firing": "[epay] alert: {breaches}",
    "alert_subject_recovered": "[epay] recovered: pid {pid} at {host}",
    "alert_sent": "alert ({state}) sent via {channel}",
    "alert_failed": "alert via {channel} failed (attempt {attempt} of {attempts}): {reason}",
    "alert_given_up": "alert via {channel} not delivered after {attempts} attempts; "
                      "the monitor goes on",
    "webhook_status": "HTTP {status}",
    "webhook_errcode": "the robot answered errcode {code}: {message}",
    "webhook_unreachable": "cannot reach {url}: {reason}",
    "command_failed": "the command exited with {code}: {stderr}",
    "command_timeout": "the command did not finish in {seconds} s",
    "command_missing": "the command cannot be run: {reason}",
    "smtp_url_invalid": "the SMTP server {url!r} is not an smtp://, smtps:// or smtp+plain:// URL",
    "smtp_url_hint": "e.g. smtp://user:password@smtp.example.com:587 (--smtp in the profile, or "
                     "EPAY_SMTP)",
    "smtp_failed": "the SMTP server {host}:{port} refused: {reason}",
    "alert_secret_needs_signing": "--alert-secret signs DingTalk and Feishu webhooks only",
    "alert_secret_hint": "drop --alert-secret, or use --alert-format dingtalk|feishu",
    "alert_format_needs_webhook": "--alert-format {format} was given without --alert-webhook",
    "alert_format_hint": "add --alert-webhook URL",
    "alert_webhook_invalid": "--alert-webhook {url} is not an http(s) URL",
    "alert_webhook_hint": "paste the robot's whole webhook URL",
    "alert_email_invalid": "--alert-email {address!r} is not an e-mail address",
    "alert_email_hint": "e.g. --alert-email ops@example.com",
    "state_unwritable": "cannot keep the open incident in {path} ({reason})",
    "state_hint": "check the folder's permissions, or set XDG_STATE_HOME",
    # the dashboard
    "board_title": "epay monitor · pid {pid} at {host} · window {span}",
    "board_span": "{window}, every {interval}",
    "board_updated": "updated {time} UTC · {orders} orders, {paid} paid · "
                     "notify latency {latency}",
    "board_success": "success rate   {value:>9}   (≥ {threshold})",
    "board_response": "response avg   {value:>9}   (≤ {threshold}; p95 {p95})",
    "board_abnormal": "abnormal       {value:>9}   (< {threshold})",
    "board_history": "history  {chart}",
    "board_abnormal_title": "latest abnormal orders:",
    "board_abnormal_row": "  {out_trade_no} {trade_no} {kind}: {detail}",
    "board_none": "no abnormal orders in the window",
    "board_breach": "BREACH: {breaches}",
    "board_error": "the last interval failed: {reason}",
    "not_known": "n/a",
    "interval_failed": "interval failed: {reason} (the monitor goes on)",
    # reconcile
    "shop_unreadable": "{source} is neither a CSV with a header nor JSON",
    "shop_unreadable_hint": "export out_trade_no, money and status as CSV or a JSON list",
    "shop_missing_column": "{source} has no {column} column",
    "shop_missing_column_hint": "the export needs out_trade_no, money and status columns",
    "shop_bad_row": "{where} of {source}: {problem}",
    "shop_item": "item {index}",
    "shop_line": "line {index}",
    "shop_more_than": "more than {limit}",
    "shop_bad_money": "money {value!r} is not an amount",
    "shop_bad_status": "status {value!r} is not one epay knows",
    "shop_bad_status_hint": "credited: {credited}; not credited: {open}",
    "shop_bad_number": "out_trade_no {value!r} is not an order number",
    "shop_empty": "{source} lists no orders",
    "shop_empty_hint": "export at least one order (out_trade_no, money, status)",
    "shop_too_many": "{source} lists {count} orders",
    "shop_too_many_hint": "split it: at most {limit} at a time",
    "local_empty": "epay remembers no orders for pid {pid} at {gateway}",
    "local_empty_hint": "epay order create remembers each order it creates; or use --from FILE",
    "reconcile_source": "give --from FILE or --local (one of them)",
    "reconcile_source_hint": "--from shop.csv compares your shop's export; --local epay's memory",
    "since_invalid": "--since {value!r} is neither a duration nor a date",
    "since_hint": "e.g. --since 24h or --since 2026-12-01",
    "mismatch_paid_not_credited": "paid at the gateway, not credited by the shop",
    "mismatch_credited_not_paid": "credited by the shop, not paid at the gateway",
    "mismatch_amount_differs": "the amounts differ",
    "mismatch_unknown_to_gateway": "the gateway does not know this order",
    "reconcile_summary": "checked {checked} orders: {count} mismatches",
    "reconcile_clean": "checked {checked} orders: the shop and the gateway agree",
    "export_stdin_closed": "standard input is closed",
    "export_stdin_hint": "give --from FILE",
    "export_too_large": "{source} is larger than 64 MiB",
    "export_too_large_hint": "split the export",
    "export_not_utf8": "{source} is not UTF-8 text (byte 0x{byte:02x} at offset {offset})",
    "export_not_utf8_hint": "export it as UTF-8",
    "milliseconds": "{value:g} ms",
    "csv_unwritable": "cannot write {path} ({reason})",
    "csv_hint": "check the folder exists and is writable",
}


# The language of this run, chosen by the CLI (``speaking``); None: English. One run speaks
# one language, and the alert threads read it too, so a module value rather than a context
# variable (which a new thread would not inherit).
_speaking: Messages | None = None


@contextmanager
def speaking(messages: Messages) -> Iterator[None]:
    """Word every ``say`` inside the block in ``messages``' language (``monitor.<id>``)."""
    global _speaking
    before, _speaking = _speaking, messages
    try:
        yield
    finally:
        _speaking = before


def say(message_id: str, **params: object) -> str:
    """The sentence ``message_id`` with its parameters filled in, in the run's language."""
    english = MESSAGES[message_id]
    if _speaking is None or _speaking.language == "en":
        return english.format(**params)
    return _speaking.text(f"monitor.{message_id}", english, **params)
