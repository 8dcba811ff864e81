"""The ``idp`` command for operators, one module per command group."""
