"""Operations: `GET /healthz` for load balancers, and the 503 answer when the database is down."""
