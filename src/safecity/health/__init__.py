"""safecity.health."""
