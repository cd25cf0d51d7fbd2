"""The Docker-free local stack: an embedded PostgreSQL and an HTTP server that turns requests into
API Gateway HTTP API events for the functions ``template.yaml`` maps them to."""
