"""Inbound connectors: email providers and helpdesk webhooks that turn messages into tickets."""
