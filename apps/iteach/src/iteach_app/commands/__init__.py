"""One module per `iteach-app` command; cli.py assembles them."""
