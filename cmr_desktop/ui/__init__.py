"""The desktop app (Qt). The only package that imports Qt; it calls services, never SQL or HTTP."""
