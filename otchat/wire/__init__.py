"""The wire: building requests, sending them (httpx2), decoding replies into events."""
