"""Development and measurement tools: the embedded broker, worker processes, demo, chaos test and benchmarks.

Nothing in the production packages imports these; ``finsent worker`` uses the embedded broker
only when ``FINSENT_KAFKA_BOOTSTRAP`` is unset.
"""
