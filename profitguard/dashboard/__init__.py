"""`profitguard dashboard`: one bot's risk page, REST API and Prometheus metrics,
served by a process of its own (it works while the bot is down)."""
