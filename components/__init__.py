"""Visual components: keyword-only functions, one visual per module, never loading models."""
