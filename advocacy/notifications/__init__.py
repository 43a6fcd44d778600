"""Notifications without inbox overload: recorded once, delivered in a daily or weekly digest, plus Slack."""
