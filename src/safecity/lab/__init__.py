"""safecity.lab."""
