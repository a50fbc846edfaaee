"""epay: sign, verify and debug 易支付 (Epay) payment callbacks."""

__version__ = "0.1.0"
