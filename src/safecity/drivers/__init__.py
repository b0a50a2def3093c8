"""safecity.drivers."""
