"""The ``/v1`` endpoints, one module per part of the domain; ``app.create_app`` includes them in order."""
