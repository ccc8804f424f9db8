"""One extension per feature; each adds its slash commands to the configured guild (`bot.app.EXTENSIONS`)."""
