"""Response and error models: the OpenAPI document is the contract of what we answer."""
