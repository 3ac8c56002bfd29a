"""The "1+7+N" service system: service providers, their services in seven categories, requests."""
