"""The embedded dev stack: Tansu broker, Postgres, and a supervisor for the workers."""
