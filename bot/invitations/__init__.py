"""Invitations of unit heads: one-time codes per unit and their links."""
