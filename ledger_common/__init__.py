"""Code shared by the gateway, worker, relay and CLI: settings, connections, errors."""
