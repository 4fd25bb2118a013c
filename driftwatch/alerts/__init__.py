"""Alerts: the state machine that turns results into notifications, and the ways out.

``message`` is what a notification says; ``channels/`` deliver it (Slack, email, webhook, log).
Nothing here computes statistics; the only way a notification leaves the process is the outbox.
"""
