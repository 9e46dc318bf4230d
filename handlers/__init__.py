"""Slack listeners: parse the payload, acknowledge fast, hand the work to :mod:`bot`."""
