"""The HTTP API, the command line and the service that runs the engine behind them."""
