"""mcuforge: TinyNAS + TinyEngine for microcontrollers (an MCUNet implementation)."""

__version__ = "0.1.0"
