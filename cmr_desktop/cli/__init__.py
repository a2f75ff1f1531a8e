"""The ``cmr`` command (ARCHITECTURE 3.2): a thin shell over ``cmr_desktop.services``."""
