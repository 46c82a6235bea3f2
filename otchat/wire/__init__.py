"""The wire: building requests, sending them (httpx), decoding replies into events."""
