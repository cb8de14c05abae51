"""RabbitMQ plumbing: topology, confirmed publishing, consuming with retries and parking, outbox relay."""
