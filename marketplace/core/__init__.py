"""Shared by every domain: taxonomy, validators, money, time, errors, audit, policy, pagination."""
