"""The Rhythmic Foley engine: a local gRPC service that hosts the model on one device."""
