"""Cluster tier: charts installed into a real Kubernetes API server with kwok nodes."""
