"""safecity.provision."""
