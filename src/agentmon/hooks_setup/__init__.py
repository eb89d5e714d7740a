"""`agentmon hooks install|uninstall|status`: wire the hook handlers into each agent tool's
own settings file, and take them out again."""
