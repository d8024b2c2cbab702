"""The model keeps learning: people's labels, retraining, a registry of versions, promotion and rollback."""
