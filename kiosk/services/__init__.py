"""Services: wire devices, domain rules and storage together."""
