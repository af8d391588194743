"""The core's verbs: the only code that creates or changes the core's rows."""
