"""The cart API's shared layer: settings, database access, sessions, models, errors, the resolver."""
