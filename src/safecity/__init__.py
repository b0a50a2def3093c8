"""safecity: infrastructure-as-code for city alarm-and-surveillance networks."""

__version__ = "0.1.0"
