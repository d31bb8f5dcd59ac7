"""The assistant inside other frameworks' code (llama-index), on top of `assistant.api`."""
