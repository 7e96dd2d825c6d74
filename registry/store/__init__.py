"""Storage: engines, schema, migrations and the SQL the registry runs."""
